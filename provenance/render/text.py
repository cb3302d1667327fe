"""Terminal output with rich: a summary table and, for single files, the evidence in detail."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from provenance.report import (
    CredentialsState,
    Report,
    StatusKind,
    TrustSource,
    VerdictCode,
    WatermarkEvidence,
    WatermarkState,
)

__all__ = ["render_details", "render_table", "verdict_style"]

_STYLES = {
    VerdictCode.AI_DECLARED: "bold red",
    VerdictCode.AI_EDITED: "red",
    VerdictCode.AI_WATERMARK: "bold red",
    VerdictCode.AI_POSSIBLE: "yellow",
    VerdictCode.CREDENTIALS_TAMPERED: "bold magenta",
    VerdictCode.CREDENTIALS_INVALID: "magenta",
    VerdictCode.CREDENTIALS_REMOTE: "yellow",
    VerdictCode.CREDENTIALS_UNTRUSTED: "cyan",
    VerdictCode.CREDENTIALS_VALID_NO_AI: "green",
    VerdictCode.NO_SIGNAL: "dim",
    VerdictCode.UNSUPPORTED: "yellow",
    VerdictCode.ERROR: "bold yellow",
}

_TRUST_LABELS = {
    TrustSource.OFFICIAL: "official C2PA list",
    TrustSource.INTERIM: "legacy interim list",
    TrustSource.USER: "user anchors",
    TrustSource.NONE: "",
}


def verdict_style(code: VerdictCode) -> str:
    """The rich style used for a verdict code."""
    return _STYLES[code]


def _credentials_cell(report: Report) -> str:
    c = report.credentials
    if c.state is not CredentialsState.PRESENT:
        return c.state.value.replace("_", " ")
    trust = c.trust.value.replace("_", " ")
    source = _TRUST_LABELS[c.trust_source]
    return f"{c.integrity.value}, {trust}" + (f" ({source})" if source else "")


def _signer_cell(report: Report) -> str:
    signer = report.credentials.signer
    if signer is None:
        return ""
    return signer.issuer or signer.common_name or ""


_SHORT_STATES = {
    WatermarkState.NOT_DETECTED: "none",
    WatermarkState.INCONCLUSIVE: "can't tell",
    WatermarkState.NOT_CHECKED: "not checked",
}


def _watermark_cell(report: Report) -> str:
    if not report.watermarks:
        return "not checked"
    detected = [w for w in report.watermarks if w.state is WatermarkState.DETECTED]
    if detected:
        return ", ".join(f"{w.mark or w.detector} (z {w.statistic:.0f})" for w in detected)
    states = {w.state for w in report.watermarks}
    if states == {WatermarkState.NOT_DETECTED}:
        return "none found"
    return ", ".join(f"{w.detector}: {_SHORT_STATES[w.state]}" for w in report.watermarks)


def _watermark_line(mark: WatermarkEvidence) -> str:
    name = mark.mark if mark.detector == "keyed" and mark.mark else mark.detector
    state = mark.state.value.replace("_", " ")
    figures = ""
    if mark.statistic is not None and mark.threshold is not None:
        figures = (
            f" (z {mark.statistic:.1f}, threshold {mark.threshold:.1f} for a false-positive "
            f"rate of {mark.false_positive_rate:g} per file; {mark.frames_used} frames)"
        )
    found = (
        f": {mark.mark}"
        if mark.state is WatermarkState.DETECTED and mark.detector != "keyed"
        else ""
    )
    line = f"  watermark {name}: {state}{found}{figures}"
    if mark.hypothesis:
        line += f" [{mark.hypothesis}]"
    return line


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
            report.path,
            Text(code.value, style=verdict_style(code)),
            _credentials_cell(report),
            report.credentials.ai_declaration.value.replace("_", " "),
            _signer_cell(report),
            _watermark_cell(report),
        )
    console.print(table)


def render_details(report: Report, console: Console) -> None:
    """Print the verdict's reasons, conflicts and caveats, and the failure codes explained."""
    verdict = report.verdict
    console.print(Text(verdict.summary, style=verdict_style(verdict.code)))
    for reason in verdict.reasons[1:]:
        console.print(f"  also: {reason}")
    for conflict in verdict.conflicts:
        console.print(Text(f"  conflict: {conflict}", style="bold yellow"))
    credentials = report.credentials
    if credentials.message:
        console.print(f"  credentials: {credentials.message}")
    for code in credentials.validation_codes:
        if code.kind is StatusKind.FAILURE:
            console.print(f"  [{code.scope}] {code.code}: {code.explanation}")
    for signal in credentials.ai_signals[:5]:
        console.print(
            f"  AI signal: {signal.signal} ({signal.field} '{signal.value}', {signal.location.value})"
        )
    for mark in report.watermarks:
        console.print(_watermark_line(mark))
        if mark.message:
            console.print(Text(f"    {mark.message}", style="dim"))
        marked = [s for s in mark.segments if s.detected]
        if marked and len(marked) < len(mark.segments):
            spans = ", ".join(f"{s.start_seconds:g}-{s.end_seconds:g} s" for s in marked)
            console.print(f"    marked segments: {spans}")
    for binding in credentials.soft_bindings:
        console.print(
            f"  soft binding (a watermark the credentials reference; not decoded here): "
            f"{binding.algorithm}"
        )
    for error in report.errors:
        console.print(
            Text(f"  error [{error.stage}/{error.code}]: {error.message}", style="yellow")
        )
    for caveat in verdict.caveats:
        console.print(Text(f"  note: {caveat}", style="dim"))
