"""Renderers: reports to terminal tables, JSON, JSON Lines, CSV and HTML, and the files.

The only place where wording for people, colours and layout live (:mod:`.look` defines how a
verdict looks; :mod:`.rows` the words of each cell and line). Nothing here checks anything.
"""

from provenance.render.machine import to_json, to_jsonl
from provenance.render.text import render_details, render_table

__all__ = ["render_details", "render_table", "to_json", "to_jsonl"]
