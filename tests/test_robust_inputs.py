"""No input makes a check raise or a scan stop (issue 15, point 6): file names that are not
UTF-8, named pipes, folders that cannot be read, internal failures; each with real files and
real processes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from provenance.testing.synth import write_image

#: A file name that is not UTF-8 (``\xff`` never occurs in UTF-8) and how every output shows it.
RAW_NAME = b"clip\xff.jpg"
SHOWN_NAME = "clip\\xff.jpg"


def _provenance(
    *args: str | bytes, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run the command line in a real process (bytes arguments are passed as they are)."""
    return subprocess.run(
        [sys.executable, "-m", "provenance", *args],
        capture_output=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        timeout=timeout,
        check=False,
    )


def _folder_with_a_raw_name(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "ok.jpg")
    shutil.copyfile(folder / "ok.jpg", os.path.join(os.fsencode(folder), RAW_NAME))
    return folder


# --------------------------------------------------------------------------- names


def test_a_file_name_that_is_not_utf8_is_scanned_and_every_output_writes(tmp_path: Path) -> None:
    _folder_with_a_raw_name(tmp_path)
    outputs = ("--jsonl", "out.jsonl", "--csv", "out.csv", "--html", "out.html")
    run = _provenance("scan", "in", *outputs, "--store", "s.db", cwd=tmp_path)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    assert "2 files: 2 checked" in run.stdout.decode("utf-8")  # valid UTF-8, no traceback
    assert run.stderr.decode("utf-8") == ""
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    assert sorted(line["path"] for line in lines) == [f"in/{SHOWN_NAME}", "in/ok.jpg"]
    assert all(line["verdict"]["code"] == "no_signal" for line in lines)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8"))))
    assert sorted(row["path"] for row in rows) == [f"in/{SHOWN_NAME}", "in/ok.jpg"]
    assert SHOWN_NAME in (tmp_path / "out.html").read_text("utf-8")
    with sqlite3.connect(tmp_path / "s.db") as db:
        stored = {row[0] for row in db.execute("SELECT path FROM files")}
        assert os.path.join(str(tmp_path / "in"), SHOWN_NAME) in stored
        assert db.execute("SELECT COUNT(*) FROM scans WHERE finished_at IS NULL").fetchone()[0] == 0
    # a second scan finds the file unchanged in the store, under the same shown name
    again = _provenance("scan", "in", "--jsonl", "again.jsonl", "--store", "s.db", cwd=tmp_path)
    assert again.returncode == 0, again.stderr.decode("utf-8", "replace")
    assert "2 files: 0 checked, 2 unchanged" in again.stdout.decode("utf-8")
    paths = [
        json.loads(line)["path"] for line in (tmp_path / "again.jsonl").read_text().splitlines()
    ]
    assert sorted(paths) == [f"in/{SHOWN_NAME}", "in/ok.jpg"]


def test_check_names_a_file_that_is_not_utf8_escaped_in_every_format(tmp_path: Path) -> None:
    _folder_with_a_raw_name(tmp_path)
    raw = b"in/" + RAW_NAME
    table = _provenance("check", raw, "--html", "one.html", cwd=tmp_path)
    assert table.returncode == 0, table.stderr.decode("utf-8", "replace")
    assert f"in/{SHOWN_NAME}" in table.stdout.decode("utf-8")
    assert SHOWN_NAME in (tmp_path / "one.html").read_text("utf-8")
    as_json = _provenance("check", raw, "-f", "json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr.decode("utf-8", "replace")
    assert json.loads(as_json.stdout.decode("utf-8"))[0]["path"] == f"in/{SHOWN_NAME}"
    missing = _provenance("check", b"in/gone\xfe.jpg", "-f", "jsonl", cwd=tmp_path)
    assert missing.returncode == 3
    (report,) = [json.loads(line) for line in missing.stdout.decode("utf-8").splitlines()]
    assert report["path"] == "in/gone\\xfe.jpg"
    assert report["errors"][0]["code"] == "not_found"
    assert "in/gone\\xfe.jpg: no such file" in report["errors"][0]["message"]


def test_a_folder_named_in_bytes_that_are_not_utf8_is_scanned_with_its_reports(
    tmp_path: Path,
) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"dir\xfe")
    os.mkdir(folder)
    made = write_image(tmp_path / "ok.jpg")  # (OpenCV's imwrite crashes on such a path)
    shutil.copyfile(made, os.path.join(folder, b"ok.jpg"))
    run = _provenance("scan", b"dir\xfe", "--html", "h.html", "--csv", "c.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    page = (tmp_path / "h.html").read_text("utf-8")
    assert "dir\\xfe" in page
    assert "dir\\xfe/ok.jpg" in (tmp_path / "c.csv").read_text("utf-8")
