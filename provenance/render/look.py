"""How a verdict looks, defined once for the terminal, both HTML documents and the web page.

The wording comes from :mod:`provenance.verdict` (:data:`~provenance.verdict.HEADLINES`, the
summary) and the kind of finding from :data:`~provenance.verdict.FAMILIES`. Here each family
gets one colour, one icon and one name, so a reader learns six looks, not thirteen codes.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass

from provenance.report import Report, VerdictCode
from provenance.verdict import FAMILIES, HEADLINES, NO_SIGNAL_CAVEAT, VerdictFamily

__all__ = [
    "FamilyLook",
    "absence_caveat",
    "banner_html",
    "colour",
    "family_look",
    "headline",
    "icon",
    "summary_rest",
    "terminal_style",
]


@dataclass(frozen=True)
class FamilyLook:
    """The look of one verdict family."""

    colour: str
    """CSS hex, also the terminal colour."""
    icon: str
    """One character, one terminal cell wide (no emoji)."""
    name: str
    """The family in a few words, for legends and screen readers."""
    background: str
    """A pale tint of the colour, for banner backgrounds."""
    loud: bool
    """Bold in the terminal: the finding needs attention."""


_LOOKS = {
    VerdictFamily.AI: FamilyLook("#b00020", "▲", "AI evidence", "#fdecee", True),
    VerdictFamily.INTEGRITY: FamilyLook("#86198f", "✖", "integrity problem", "#f8ecf9", True),
    VerdictFamily.UNVERIFIED: FamilyLook("#0e7490", "?", "unverified claim", "#e8f5f8", False),
    VerdictFamily.VERIFIED: FamilyLook(
        "#15803d", "✔", "verified, no AI declared", "#eaf6ee", False
    ),
    VerdictFamily.NOTHING_FOUND: FamilyLook("#4b5563", "○", "nothing found", "#f1f2f4", False),
    VerdictFamily.NOT_CHECKED: FamilyLook("#a16207", "⊘", "could not check", "#fbf3e4", True),
}


def family_look(code: VerdictCode) -> FamilyLook:
    """The look of the verdict's family."""
    return _LOOKS[FAMILIES[code]]


def colour(code: VerdictCode) -> str:
    """The verdict family's colour as CSS hex (``#rrggbb``)."""
    return family_look(code).colour


def icon(code: VerdictCode) -> str:
    """The verdict family's icon, one character."""
    return family_look(code).icon


def terminal_style(code: VerdictCode) -> str:
    """The verdict's rich style: its family's colour, bold where it needs attention."""
    look = family_look(code)
    return ("bold " if look.loud else "") + look.colour


def headline(report: Report) -> str:
    """The verdict in a few plain words ("Carries an AI-generator watermark")."""
    summary = report.verdict.summary
    words = HEADLINES[report.verdict.code]
    if summary.startswith(words):
        return words
    # a recovered-credentials summary rewords the headline: keep its first clause
    return summary.split(";", 1)[0].split(". ", 1)[0].rstrip(".")


def summary_rest(report: Report) -> str:
    """The summary after its headline: the signer or the reason."""
    summary = report.verdict.summary
    words = headline(report)
    rest = summary[len(words) :] if summary.startswith(words) else summary
    rest = rest.lstrip(";.: ").strip()
    if rest.startswith(os.path.basename(report.path) or "\0"):
        return rest  # a file name keeps its case
    return rest[:1].upper() + rest[1:]


#: The families where absence is (part of) the finding, so "no signal proves nothing" belongs.
_ABSENCE_FAMILIES = frozenset(
    {VerdictFamily.NOTHING_FOUND, VerdictFamily.VERIFIED, VerdictFamily.UNVERIFIED}
)


def absence_caveat(report: Report) -> str | None:
    """The "absence proves nothing" caveat where absence is the finding (no signal, or
    credentials that declare no AI); None under AI evidence, a tampered file or an error."""
    if FAMILIES[report.verdict.code] not in _ABSENCE_FAMILIES:
        return None
    return NO_SIGNAL_CAVEAT if NO_SIGNAL_CAVEAT in report.verdict.caveats else None


def banner_html(report: Report) -> str:
    """The verdict banner as HTML, the same in the evidence report and on the web page:
    icon and headline in the family's colour, the rest of the summary, the code in small
    print. Every value is escaped."""
    look = family_look(report.verdict.code)
    rest = summary_rest(report)
    caveat = absence_caveat(report)
    e = html.escape
    return (
        f'<div class="verdict-banner" role="status" style="border-left:6px solid {look.colour};'
        f'background:{look.background};padding:12px 16px;border-radius:4px;margin:8px 0">'
        f'<div style="font-size:1.35em;font-weight:700;color:{look.colour}">'
        f'<span aria-label="{e(look.name)}" title="{e(look.name)}">{e(look.icon)}</span> '
        f"{e(headline(report))}</div>"
        + (f'<div style="margin-top:4px;color:#111">{e(rest)}</div>' if rest else "")
        + (
            f'<div style="margin-top:4px;color:#444;font-style:italic">{e(caveat)}</div>'
            if caveat
            else ""
        )
        + f'<div style="margin-top:6px;font-size:0.8em;color:#555">{e(look.name)} &middot; '
        f"verdict code <code>{e(report.verdict.code.value)}</code></div></div>"
    )
