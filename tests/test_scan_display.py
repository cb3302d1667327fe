"""The live progress of ``provenance scan``: bar, count and ETA stay on one line, whatever the
width and however many verdict kinds turn up; every count stays visible."""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from provenance.cli.scan_display import ScanProgress
from provenance.render.look import icon
from provenance.report import VerdictCode


def _render(display: ScanProgress, width: int) -> list[str]:
    """The display as a terminal of ``width`` columns shows it, line by line."""
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    console.print(display.renderable())
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in text  # no colour, no cursor moves: what is seen is what is read
    return text.splitlines()


def _every_verdict(width: int) -> tuple[ScanProgress, dict[VerdictCode, int]]:
    console = Console(file=io.StringIO(), width=width, force_terminal=True)
    display = ScanProgress(console, show=True)
    display.planned(123_456)
    # counts of 1 to 5 digits, so the widest entries (credentials_valid_no_ai 10000) occur
    counts = {code: 10 ** (number % 5) for number, code in enumerate(VerdictCode)}
    for code, count in counts.items():
        display.counts[code] = count
    display._bar.update(display._task, completed=sum(counts.values()))
    return display, counts


@pytest.mark.parametrize("width", [80, 60])
def test_bar_count_and_eta_share_one_line_with_all_thirteen_verdicts(width: int) -> None:
    display, counts = _every_verdict(width)
    assert len(counts) == 13
    lines = _render(display, width)
    first = lines[0]
    assert first.startswith("scan ━"), lines  # the bar, drawn
    assert f" {sum(counts.values())}/123456 " in first
    assert re.search(r" \d+:\d\d:\d\d ETA (-:--:--|\d+:\d\d:\d\d)$", first), first
    assert all(cell_len(line) <= width for line in lines), lines
    # every count whole on one line (icon, code, number), in the verdicts' order
    below = lines[1:]
    for code, count in counts.items():
        entry = f"{icon(code)} {code.value} {count}"
        assert sum(entry in line for line in below) == 1, (entry, below)
    found = [code for line in below for code in VerdictCode if f" {code.value} " in line]
    assert found == list(VerdictCode)
    assert len(below) <= 7  # wrapped, not one per line


@pytest.mark.parametrize(
    ("width", "shortened"),
    [(30, "✔ cred_valid_no_ai 10000"), (20, "✔ cred_valid_… 10000")],
)
def test_counts_shorten_a_code_too_wide_for_the_line_never_its_count(
    width: int, shortened: str
) -> None:
    display, counts = _every_verdict(width)
    lines = _render(display, width)[1:]
    assert all(cell_len(line) <= width for line in lines), lines
    assert shortened in lines
    for code, count in counts.items():
        start = code.value.replace("credentials_", "cred_")[:4]
        whole = re.compile(rf"(^|  ){re.escape(icon(code))} {start}\S* {count}(  |$)")
        assert any(whole.search(line) for line in lines), (code, lines)


def test_before_the_walk_ends_it_says_so_and_then_only_counts() -> None:
    display = ScanProgress(Console(file=io.StringIO(), force_terminal=True), show=True)
    walking = _render(display, 80)
    assert walking[0].startswith("scan ")
    assert walking[1:] == ["walking..."]
    display.planned(3)
    assert " 0/3 " in _render(display, 80)[0]
    assert "walking" not in "\n".join(_render(display, 80))
