"""The scan's HTML report as a document: every label of a file, counts per label, paths
relative to the scanned folder with the whole path on hover, error reasons in the row, and
hostile names and messages escaped (the browser's view is tests/test_html_browser.py)."""

from __future__ import annotations

import dataclasses
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from provenance import check
from provenance.render.scan_html import (
    REASON_CHARACTERS,
    relative_path,
    render_html,
    scanned_folders,
)
from provenance.report import CheckError, Report, VerdictCode
from provenance.testing.pki import generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import write_clip, write_image

HOSTILE = "<img src=x onerror=alert(1)>.mp4"
HOSTILE_MESSAGE = '<script>alert("boom")</script> & "quoted" reason'


class _Page(HTMLParser):
    """Tags with their attributes, and the text of each row's cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.rows: list[dict[str, str]] = []
        self.chips: list[dict[str, str]] = []
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "tr" and attributes.get("class") == "file":
            self.rows.append(attributes)
        if tag == "button" and attributes.get("class") == "count":
            self.chips.append(attributes)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Report]]:
    """A scanned folder: an unsigned clip, an AI-declared image (its second label
    credentials_untrusted), a capture image from an unknown signer, a broken file with a
    hostile name."""
    folder = tmp_path_factory.mktemp("scan") / "scanned"
    (folder / "sub").mkdir(parents=True)
    base = folder.parent
    pki = generate_pki(base / "pki")
    picture = write_image(base / "picture.png", seed=1)
    files = [
        write_clip(folder / "alpha.mp4", seconds=0.5, seed=2),
        sign_file(picture, folder / "sub" / "ai.png", pki=pki),
        sign_file(picture, folder / "cam.png", pki=pki, digital_source_type=None),
        folder / HOSTILE,
    ]
    (folder / HOSTILE).write_bytes(b"not a clip at all")
    return folder, sorted((check(path) for path in files), key=lambda report: report.path)


def _by_name(reports: list[Report], name: str) -> Report:
    return next(report for report in reports if Path(report.path).name == name)


def test_rows_carry_every_label_and_counts_are_per_label(
    reports: tuple[Path, list[Report]],
) -> None:
    folder, found = reports
    assert _by_name(found, "ai.png").verdict.labels == (
        VerdictCode.AI_DECLARED,
        VerdictCode.CREDENTIALS_UNTRUSTED,
    )
    page = render_html(found, roots=[str(folder)])
    parsed = _parse(page)
    labels = {Path(row["data-path"]).name: row["data-labels"] for row in parsed.rows}
    assert labels == {
        "ai.png": "ai_declared credentials_untrusted",
        "alpha.mp4": "no_signal",
        "cam.png": "credentials_untrusted",
        HOSTILE: "error",
    }
    verdicts = {Path(row["data-path"]).name: row["data-verdict"] for row in parsed.rows}
    assert verdicts["ai.png"] == "ai_declared"  # the primary verdict stays the row's verdict
    chips = {chip["data-label"]: chip["title"] for chip in parsed.chips}
    assert list(chips) == ["ai_declared", "credentials_untrusted", "no_signal", "error"]
    assert chips["credentials_untrusted"] == "2 files carry this label; 1 as verdict"
    assert chips["ai_declared"] == "1 file carries this label; 1 as verdict"
    assert "<b>2</b>credentials_untrusted<small>1 as verdict</small>" in page
    # the family's look: icon and colour from look.py, the family's name for screen readers
    assert 'style="color:#0e7490"' in page  # unverified claim
    assert 'role="img" aria-label="AI evidence" title="AI evidence">▲</span>' in page
    assert 'aria-label="could not check" title="could not check">⊘</span>' in page
    # the counter before any filter
    assert '<span id="shown" aria-live="polite">4 of 4 files</span>' in page
    assert '<span id="shown" aria-live="polite">1 of 1 file</span>' in render_html(found[:1])


def test_paths_are_relative_to_the_scanned_folder_with_the_whole_path_in_the_title(
    reports: tuple[Path, list[Report]],
) -> None:
    folder, found = reports
    for roots in ([str(folder)], None, [str(folder) + os.sep]):
        page = render_html(found, roots=roots)
        names = [
            attributes for tag, attributes in _parse(page).tags if attributes.get("class") == "name"
        ]
        titles = sorted(name["title"] for name in names)
        assert titles == sorted(report.path for report in found)
        assert f'title="{folder / "sub" / "ai.png"}">sub/ai.png</span>' in page
        assert f"Scanned folder: <code>{folder}</code>" in page
    # a file given by name shows its name; a path under no root is shown whole
    cam = str(folder / "cam.png")
    assert scanned_folders([cam], [cam]) == [str(folder)]
    assert relative_path(cam, set(scanned_folders([cam], [cam]))) == "cam.png"
    assert relative_path("/elsewhere/x.mp4", {str(folder)}) == "/elsewhere/x.mp4"
    # the deepest root wins; a relative root matches relative paths
    assert relative_path("/a/b/c/d.mp4", {"/a", "/a/b"}) == "c/d.mp4"
    assert relative_path(
        "clips/x/y.mp4", set(scanned_folders(["clips/x/y.mp4"], ["./clips/"]))
    ) == ("x/y.mp4")
    assert relative_path("/d.mp4", {"/"}) == "d.mp4"
    # without roots: the folder holding them all; none when absolute and relative paths mix
    assert scanned_folders(["/a/b/x.mp4", "/a/c/y.mp4"], None) == ["/a"]
    assert scanned_folders(["/a/x.mp4", "b/y.mp4"], None) == []
    assert scanned_folders([], None) == []


def test_error_reasons_are_in_the_row(reports: tuple[Path, list[Report]]) -> None:
    folder, found = reports
    broken = _by_name(found, HOSTILE)
    message = broken.errors[0].message
    assert message.startswith(HOSTILE + ": ")
    page = render_html(found, roots=[str(folder)])
    # the row names the file already: the reason goes on after the name, whole in its title
    shown = message[len(HOSTILE) + 2 :]
    shown = shown[:1].upper() + shown[1:]
    escaped_title = (
        f"{broken.errors[0].stage}/{broken.errors[0].code}: {message}".replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )
    assert f'<span class="reason" title="{escaped_title}">{shown}</span>' in page
    assert page.count('class="reason"') == 1  # the files checked in full show no reason
    # a long reason is cut in the row, whole in the title; more errors are counted
    long = "x" * (REASON_CHARACTERS * 2)
    several = dataclasses.replace(
        broken, errors=(CheckError("media", "a", long), CheckError("watermark", "b", "second"))
    )
    page = render_html([several])
    assert f">{'x' * (REASON_CHARACTERS - 1)}…</span>" in page
    assert f'title="media/a: {long}\nwatermark/b: second"' in page
    # an unsupported verdict without errors shows the verdict's reason
    unsupported = dataclasses.replace(
        _by_name(found, "alpha.mp4"),
        errors=(),
        verdict=dataclasses.replace(
            broken.verdict,
            code=VerdictCode.UNSUPPORTED,
            labels=(VerdictCode.UNSUPPORTED,),
            reasons=("This container cannot carry credentials.",),
        ),
    )
    assert ">This container cannot carry credentials.</span>" in render_html([unsupported])


def test_hostile_names_and_messages_stay_text(reports: tuple[Path, list[Report]]) -> None:
    folder, found = reports
    broken = _by_name(found, HOSTILE)
    hostile = dataclasses.replace(
        broken, errors=(CheckError("media", "not_media", HOSTILE_MESSAGE),)
    )
    reports_in = [*found, hostile]
    page = render_html(reports_in, roots=[str(folder)], facts={"<b>k</b>": "<i>v</i>"})
    assert "<img" not in page
    assert "<script>alert" not in page
    assert page.count("<script>") == 1  # the report's own
    assert "<b>k</b>" not in page
    assert "<i>v</i>" not in page
    parsed = _parse(page)
    assert {tag for tag, _ in parsed.tags} <= {
        "html", "head", "meta", "title", "style", "body", "h1", "div", "code", "p", "button",
        "span", "b", "small", "input", "table", "thead", "tr", "th", "tbody", "td", "wbr", "ul",
        "li", "script",
    }  # fmt: skip
    # attributes decode to the names and messages themselves
    paths = [row["data-path"] for row in parsed.rows]
    assert paths.count(str(folder / HOSTILE)) == 2
    titles = {attributes.get("title") for _, attributes in parsed.tags}
    assert str(folder / HOSTILE) in titles
    assert f"media/not_media: {HOSTILE_MESSAGE}" in titles
    assert not any(name.startswith("on") for _, attributes in parsed.tags for name in attributes)
