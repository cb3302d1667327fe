"""Terminal output with rich: a summary table and, for single files, the evidence in detail.

Every text that comes from a file (names, manifest strings, messages) is printed as rich
``Text``, never parsed as markup, so ``[brackets]`` in a name print as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from provenance.render.look import terminal_style
from provenance.render.rows import (
    ai_declaration_cell,
    credentials_cell,
    detail_lines,
    signer_cell,
    watermark_cell,
)
from provenance.report import Report

__all__ = ["render_details", "render_table"]


def render_table(reports: Sequence[Report], console: Console) -> None:
    """Print one row per report."""
    table = Table(show_lines=False, header_style="bold")
    table.add_column("File", overflow="fold")
    widest = max((len(r.verdict.code.value) for r in reports), default=7)
    table.add_column("Verdict", no_wrap=True, min_width=widest)
    table.add_column("Credentials", overflow="fold")
    table.add_column("AI declared", overflow="fold")
    table.add_column("Signer", overflow="fold")
    table.add_column("Watermark", overflow="fold")
    for report in reports:
        code = report.verdict.code
        table.add_row(
            Text(report.path),
            Text(code.value, style=terminal_style(code)),
            Text(credentials_cell(report)),
            Text(ai_declaration_cell(report)),
            Text(signer_cell(report)),
            Text(watermark_cell(report)),
        )
    console.print(table)


_LINE_STYLES = {"conflict": "bold yellow", "error": "yellow", "note": "dim", "detail": "dim"}


def render_details(report: Report, console: Console) -> None:
    """Print the verdict's reasons, conflicts and caveats, and the failure codes explained."""
    console.print(Text(report.verdict.summary, style=terminal_style(report.verdict.code)))
    for kind, line in detail_lines(report):
        indent = "    " if kind == "detail" else "  "
        console.print(Text(indent + line, style=_LINE_STYLES.get(kind, "")))
