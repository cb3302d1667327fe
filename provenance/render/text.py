"""Terminal output with rich: a summary table and, for single files, the evidence in detail.

Every text that comes from a file (names, manifest strings, messages) is printed as rich
``Text``, never parsed as markup, so ``[brackets]`` in a name print as they are, and with its
control and format characters shown as escapes (:func:`terminal_text`), so a file name cannot
recolour the terminal, move the cursor or reverse the text around it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from provenance.render.look import headline, icon, summary_rest, terminal_style
from provenance.render.rows import (
    ai_declaration_cell,
    credentials_cell,
    detail_lines,
    signer_cell,
    watermark_cell,
)
from provenance.report import Report, printable

__all__ = ["render_details", "render_table", "terminal_text"]


def _visible(character: str) -> str:
    if unicodedata.category(character) in ("Cc", "Cf"):
        code = ord(character)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return character


def terminal_text(value: str, style: str = "") -> Text:
    """``value`` as rich Text, never markup, control and format characters (escape sequences,
    bidirectional overrides) written out as ``\\x1b`` / ``\\u202e``, and the bytes of a name
    that is not UTF-8 as ``\\xff`` (:func:`~provenance.report.printable`)."""
    return Text("".join(_visible(c) for c in printable(value)), style=style)


#: Below this many columns a terminal gets one short block per file instead of the table,
#: whose six columns would break every word.
NARROW = 110


def render_table(reports: Sequence[Report], console: Console) -> None:
    """Print one row per report; on a narrow terminal, one short block per report."""
    if console.is_terminal and console.width < NARROW:
        _render_blocks(reports, console)
        return
    table = Table(show_lines=False, header_style="bold")
    table.add_column("File", overflow="fold")
    widest = max((len(r.verdict.code.value) + 2 for r in reports), default=7)
    table.add_column("Verdict", no_wrap=True, min_width=widest)
    table.add_column("Credentials", overflow="fold")
    table.add_column("AI declared", overflow="fold")
    table.add_column("Signer", overflow="fold")
    table.add_column("Watermark", overflow="fold")
    for report in reports:
        code = report.verdict.code
        table.add_row(
            terminal_text(report.path),
            Text(f"{icon(code)} {code.value}", style=terminal_style(code)),
            terminal_text(credentials_cell(report)),
            terminal_text(ai_declaration_cell(report)),
            terminal_text(signer_cell(report)),
            terminal_text(watermark_cell(report)),
        )
    console.print(table)


def _render_blocks(reports: Sequence[Report], console: Console) -> None:
    """Each file as its verdict and name on one line, the evidence on an indented second."""
    for report in reports:
        code = report.verdict.code
        line = Text(f"{icon(code)} {code.value}", style=terminal_style(code))
        line.append("  ")
        line.append_text(terminal_text(report.path, "bold"))
        console.print(line)
        signer = signer_cell(report)
        parts = [
            f"credentials {credentials_cell(report)}",
            f"AI declared: {ai_declaration_cell(report)}",
            *([f"signer {signer}"] if signer else []),
            f"watermark {watermark_cell(report)}",
        ]
        evidence = terminal_text(" · ".join(parts), "dim")
        console.print(Padding(evidence, (0, 0, 0, 4)))  # wrapped lines keep the indent


_LINE_STYLES = {"conflict": "bold yellow", "error": "yellow", "note": "dim", "detail": "dim"}


def render_details(report: Report, console: Console) -> None:
    """Print the verdict's reasons, conflicts and caveats, and the failure codes explained."""
    code = report.verdict.code
    console.print(terminal_text(f"{icon(code)} {headline(report)}", terminal_style(code)))
    rest = summary_rest(report)
    if rest:
        console.print(terminal_text("  " + rest))
    for kind, line in detail_lines(report):
        indent = "    " if kind == "detail" else "  "
        console.print(terminal_text(indent + line, _LINE_STYLES.get(kind, "")))
