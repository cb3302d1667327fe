"""How a verdict looks, defined once for the terminal, both HTML documents and the web page.

The wording comes from :mod:`provenance.verdict` (:data:`~provenance.verdict.HEADLINES`, the
summary) and the kind of finding from :data:`~provenance.verdict.FAMILIES`; this module only
adds the colours and how loud each family is.
"""

from __future__ import annotations

from typing import Literal

from provenance.report import VerdictCode
from provenance.verdict import FAMILIES, VerdictFamily

__all__ = ["Banner", "banner", "colour", "terminal_style"]

#: One colour per verdict code, as CSS hex (the terminal gets the same colour).
_COLOURS = {
    VerdictCode.AI_DECLARED: "#b00020",
    VerdictCode.AI_EDITED: "#c2410c",
    VerdictCode.AI_WATERMARK: "#b00020",
    VerdictCode.AI_POSSIBLE: "#a16207",
    VerdictCode.CREDENTIALS_TAMPERED: "#86198f",
    VerdictCode.CREDENTIALS_INVALID: "#a21caf",
    VerdictCode.CREDENTIALS_REMOTE: "#a16207",
    VerdictCode.CREDENTIALS_UNTRUSTED: "#0e7490",
    VerdictCode.CREDENTIALS_VALID_NO_AI: "#15803d",
    VerdictCode.NO_SIGNAL: "#6b7280",
    VerdictCode.UNSUPPORTED: "#a16207",
    VerdictCode.ERROR: "#92400e",
}

#: The families shown in bold: findings that need attention.
_LOUD = frozenset({VerdictFamily.AI, VerdictFamily.INTEGRITY, VerdictFamily.NOT_CHECKED})

Banner = Literal["error", "warning", "info", "success"]

#: The kind of banner (alert box) each family gets on the web page.
_BANNERS: dict[VerdictFamily, Banner] = {
    VerdictFamily.AI: "error",
    VerdictFamily.INTEGRITY: "error",
    VerdictFamily.UNVERIFIED: "info",
    VerdictFamily.VERIFIED: "success",
    VerdictFamily.NOTHING_FOUND: "info",
    VerdictFamily.NOT_CHECKED: "warning",
}


def colour(code: VerdictCode) -> str:
    """The verdict's colour as CSS hex (``#rrggbb``)."""
    return _COLOURS[code]


def terminal_style(code: VerdictCode) -> str:
    """The verdict's rich style: its colour, bold for the families that need attention."""
    return ("bold " if FAMILIES[code] in _LOUD else "") + _COLOURS[code]


def banner(code: VerdictCode) -> Banner:
    """The kind of alert box the verdict gets on the web page."""
    return _BANNERS[FAMILIES[code]]
