"""What both HTML documents share: escaping, the document head and the evidence lines.

Every value from a report goes through :func:`escape`; nothing here references anything
outside the document.
"""

from __future__ import annotations

import html

from provenance.render.rows import detail_lines
from provenance.report import Report

__all__ = ["ITEM_STYLE", "detail_items", "document_head", "escape"]

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
