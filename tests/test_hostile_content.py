"""Hostile strings in a real signed file (signer name, title, software agent, claim generator,
file name) are data in every output: the terminal (no escape sequence or rich markup obeyed),
both HTML documents (escaped, no element made of them), the CSV (no formula) and the page (no
Markdown picture, link or HTML made of them, so nothing is fetched)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from provenance.testing.pki import generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import write_clip

HOSTILE = (
    "![x](http://127.0.0.1:9/p.png) \x1b]0;pwned\x07\x1b[2J [/bold][link=http://127.0.0.1:9]"
    "click[/link] <img src=x onerror=alert(1)>"
)
SIGNER = "=cmd ![s](http://127.0.0.1:9/s.png)"  # a certificate name holds 64 characters


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    pki = generate_pki(folder / "pki", name=SIGNER)
    clip = write_clip(folder / "c.mp4", seconds=0.5)
    signed = folder / "files" / "=1+2 [bold red]x.mp4"
    signed.parent.mkdir()
    sign_file(clip, signed, pki=pki, software_agent=HOSTILE, title=HOSTILE,
              claim_generator=HOSTILE)  # fmt: skip
    return signed


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provenance", *args, "--detector", "none"],
        capture_output=True, text=True, timeout=300, cwd=cwd,
    )  # fmt: skip


def test_the_terminal_shows_hostile_strings_as_text(hostile: Path) -> None:
    done = _run("check", hostile.name, cwd=hostile.parent)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout  # no escape sequence reaches the terminal raw
    assert "\x07" not in done.stdout
    assert f"Signed by '{SIGNER}'" in done.stdout  # Markdown as text
    assert "=1+2 [bold red]x.mp4" in done.stdout  # rich markup as text


def test_reports_escape_hostile_strings(hostile: Path, tmp_path: Path) -> None:
    done = _run("scan", "--no-store", "--no-progress", str(hostile.parent), "--html",
                str(tmp_path / "scan.html"), "--csv", str(tmp_path / "scan.csv"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    evidence = _run("check", str(hostile), "--html", str(tmp_path / "evidence.html"), cwd=tmp_path)
    assert evidence.returncode == 0, evidence.stderr
    for name in ("scan.html", "evidence.html"):
        page = (tmp_path / name).read_text("utf-8")
        assert "<img src=x" not in page, name
        assert "=1+2 [bold red]x.mp4" in page, name
    evidence_page = (tmp_path / "evidence.html").read_text("utf-8")
    assert "&lt;img src=x onerror=alert(1)&gt;" in evidence_page  # the title, escaped
    assert "<script" not in evidence_page  # no script in the evidence report
    rows = list(csv.DictReader((tmp_path / "scan.csv").open(encoding="utf-8")))
    assert len(rows) == 1
    for column, value in rows[0].items():
        assert not value.startswith(("=", "+", "@")), (column, value)
    assert rows[0]["path"].startswith("'=") or rows[0]["path"].startswith("/")


def test_the_page_makes_nothing_of_hostile_strings(hostile: Path) -> None:
    testing = pytest.importorskip("streamlit.testing.v1")
    at = testing.AppTest.from_file(
        str(Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"), default_timeout=120
    )
    at.run()
    at.file_uploader[0].upload(hostile.name, hostile.read_bytes()).run()
    assert not at.exception
    markdown = [str(e.value) for e in at.markdown] + [str(e.value) for e in at.caption]
    markdown += [str(e.value) for e in at.warning] + [str(e.value) for e in at.error]
    html = [str(e.proto.body) for e in at.get("html")]
    assert any("127.0.0.1:9" in text for text in markdown + html)  # the strings are shown
    unescaped = re.compile(r"(?<!\\)\]\(http")
    raw_html = re.compile(r"(?<!\\)<img")
    for text in markdown:  # Markdown: never a picture, a link or HTML
        assert not unescaped.search(text), text
        assert not raw_html.search(text), text
    for text in html:  # HTML: escaped
        assert "<img src=x" not in text, text
