"""Renderers: reports to terminal tables, JSON, JSON Lines, CSV and HTML, and the files.

The only place where wording for people, colours and layout live (:mod:`.look` defines how a
verdict looks; :mod:`.rows` the words of each cell and line). Nothing here checks anything.
Names load on first use: JSON output never loads rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._lazy import lazy_dir, lazy_getattr

if TYPE_CHECKING:
    from provenance.render.machine import to_json, to_jsonl
    from provenance.render.text import render_details, render_table

__all__ = ["render_details", "render_table", "to_json", "to_jsonl"]

__getattr__ = lazy_getattr(
    __name__,
    {
        "render_details": "provenance.render.text",
        "render_table": "provenance.render.text",
        "to_json": "provenance.render.machine",
        "to_jsonl": "provenance.render.machine",
    },
)
__dir__ = lazy_dir(__all__)
