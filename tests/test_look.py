"""One look per verdict family: the same colour and icon in the terminal, the scan report, the
evidence report and the web page's banner (which is the evidence report's)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from rich.console import Console

from provenance import CheckOptions, check
from provenance.render.html import render_evidence_html
from provenance.render.look import banner_html, family_look
from provenance.render.scan_html import render_html
from provenance.render.text import render_details, render_table
from provenance.report import Report, Verdict, VerdictCode
from provenance.testing.synth import write_clip
from provenance.verdict import FAMILIES, VerdictFamily


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    clip = tmp_path_factory.mktemp("look") / "clip.mp4"
    write_clip(clip, seconds=0.25)
    return dataclasses.replace(check(clip, CheckOptions(credentials_only=True)), path="clip.mp4")


def _as(report: Report, code: VerdictCode) -> Report:
    verdict = Verdict(code=code, summary=f"{code.value} summary.", labels=(code,))
    return dataclasses.replace(report, verdict=verdict)


def test_each_family_has_its_own_colour_and_icon() -> None:
    looks = {family: family_look(next(c for c in FAMILIES if FAMILIES[c] is family))
             for family in VerdictFamily}  # fmt: skip
    assert len({look.colour for look in looks.values()}) == len(VerdictFamily)
    assert len({look.icon for look in looks.values()}) == len(VerdictFamily)
    assert len({look.name for look in looks.values()}) == len(VerdictFamily)
    for code, family in FAMILIES.items():
        assert family_look(code) == looks[family], code


@pytest.mark.parametrize("code", list(VerdictCode))
def test_every_renderer_shows_the_same_look(report: Report, code: VerdictCode) -> None:
    look = family_look(code)
    shown = _as(report, code)
    red, green, blue = (int(look.colour[i : i + 2], 16) for i in (1, 3, 5))
    terminal = io.StringIO()
    console = Console(file=terminal, width=200, force_terminal=True, color_system="truecolor")
    render_table([shown], console)
    render_details(shown, console)
    text = terminal.getvalue()
    assert f"{look.icon} {code.value}" in text
    assert f"38;2;{red};{green};{blue}" in text  # the family's colour
    for page in (render_html([shown]), render_evidence_html([shown]), banner_html(shown)):
        assert look.colour in page
        assert look.icon in page
        assert look.name in page


def test_the_summary_after_the_headline_keeps_a_file_name_as_it_is(report: Report) -> None:
    from provenance.render.look import summary_rest

    error = Verdict(
        code=VerdictCode.ERROR,
        summary="Could not be checked. clip.mp4: the picture declares 9 x 9 pixels.",
        labels=(VerdictCode.ERROR,),
    )
    assert summary_rest(dataclasses.replace(report, verdict=error)).startswith("clip.mp4: ")
    unsigned = _as(report, VerdictCode.NO_SIGNAL)
    unsigned = dataclasses.replace(
        unsigned,
        verdict=dataclasses.replace(unsigned.verdict, summary="No provenance signal found: this "
                                    "proves nothing. no credentials."),
    )  # fmt: skip
    assert summary_rest(unsigned) == "No credentials."
