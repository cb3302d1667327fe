"""What both HTML documents share: escaping, the document head and the evidence lines.

Every value from a report goes through :func:`escape`; nothing here references anything
outside the document.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from provenance.render.rows import detail_lines, non_empty_columns
from provenance.report import Report

__all__ = ["ITEM_STYLE", "detail_items", "document_head", "escape", "table_html"]

# evidence line kinds (see rows.detail_lines), in both documents
ITEM_STYLE = (
    "li.conflict{color:#92400e;font-weight:600}li.error{color:#92400e}"
    "li.note,li.detail{color:#666}\n"
)


def escape(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def document_head(title: str, style: str) -> list[str]:
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{style}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]


def detail_items(report: Report) -> str:
    """The report's evidence lines as ``<li>`` items classed by kind."""
    return "".join(
        f'<li class="{escape(kind)}">{escape(text)}</li>' for kind, text in detail_lines(report)
    )


#: Inline styles for a table shown outside our documents (the web page), where no style
#: sheet of ours applies: cells wrap, so the table fits its column.
_INLINE = {
    "table": "border-collapse:collapse;width:100%;font-size:0.9em;table-layout:auto",
    "th": "text-align:left;padding:4px 8px;border-bottom:1px solid #ccc;background:#f6f6f6",
    "td": "text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid #eee;"
    "overflow-wrap:break-word",
}


def table_html(
    rows: Sequence[Mapping[str, str]], *, row_class: str | None = None, inline: bool = False
) -> str:
    """Rows as an HTML table, the columns that hold something only; ``row_class`` names the
    column whose value classes each row, ``inline`` styles it without a style sheet."""
    if not rows:
        return "<p>None.</p>"

    def tag(name: str) -> str:
        return f'<{name} style="{_INLINE[name]}">' if inline else f"<{name}>"

    columns = non_empty_columns(rows)
    head = "".join(f"{tag('th')}{escape(name)}</th>" for name in columns)
    body = "".join(
        f'<tr class="{escape(row.get(row_class, "")) if row_class else ""}">'
        + "".join(f"{tag('td')}{escape(row.get(name))}</td>" for name in columns)
        + "</tr>"
        for row in rows
    )
    table = f"{tag('table')}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    # words too long for any column (a hash, a hostile name) scroll inside, never the page
    return f'<div style="overflow-x:auto">{table}</div>' if inline else table
