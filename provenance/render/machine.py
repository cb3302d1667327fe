"""Machine-readable output: a JSON array of reports, or JSON Lines (one report per line)."""

from __future__ import annotations

import json
from collections.abc import Iterable

from provenance.report import Report

__all__ = ["to_json", "to_jsonl"]


def to_json(reports: Iterable[Report], *, indent: int | None = 2) -> str:
    """One JSON document: an array with one object per report."""
    return json.dumps([r.to_dict() for r in reports], indent=indent, ensure_ascii=False)


def to_jsonl(reports: Iterable[Report]) -> str:
    """JSON Lines: one compact report object per line."""
    return "".join(r.to_json() + "\n" for r in reports)
