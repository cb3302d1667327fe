"""Renderers: reports to JSON, JSON Lines and terminal tables."""

from provenance.render.machine import to_json, to_jsonl
from provenance.render.text import render_details, render_table, verdict_style

__all__ = ["render_details", "render_table", "to_json", "to_jsonl", "verdict_style"]
