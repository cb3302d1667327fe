"""One-line summaries of a report: the table cells and the flat CSV row.

Shared by the terminal table, ``provenance scan``'s CSV and HTML outputs, so the same report
reads the same everywhere.
"""

from __future__ import annotations

from provenance.report import (
    CredentialsState,
    Report,
    StatusKind,
    TrustSource,
    WatermarkEvidence,
    WatermarkState,
)

__all__ = [
    "CSV_FIELDS",
    "credentials_cell",
    "csv_row",
    "detail_lines",
    "signer_cell",
    "watermark_cell",
    "watermark_name",
]

_TRUST_LABELS = {
    TrustSource.OFFICIAL: "official C2PA list",
    TrustSource.INTERIM: "legacy interim list",
    TrustSource.USER: "user anchors",
    TrustSource.NONE: "",
}

_SHORT_STATES = {
    WatermarkState.NOT_DETECTED: "none",
    WatermarkState.INCONCLUSIVE: "can't tell",
    WatermarkState.NOT_CHECKED: "not checked",
}


def credentials_cell(report: Report) -> str:
    """Content Credentials in a few words: state, or integrity and trust with its source."""
    c = report.credentials
    if c.state is not CredentialsState.PRESENT:
        return c.state.value.replace("_", " ")
    trust = c.trust.value.replace("_", " ")
    source = _TRUST_LABELS[c.trust_source]
    return f"{c.integrity.value}, {trust}" + (f" ({source})" if source else "")


def signer_cell(report: Report) -> str:
    """The signer's issuer (or common name), or an empty string."""
    signer = report.credentials.signer
    if signer is None:
        return ""
    return signer.issuer or signer.common_name or ""


def watermark_cell(report: Report) -> str:
    """Watermarks in a few words: the marks detected, or each detector's state."""
    if not report.watermarks:
        return "not checked"
    detected = [w for w in report.watermarks if w.state is WatermarkState.DETECTED]
    if detected:
        return ", ".join(f"{w.mark or w.detector} (z {w.statistic:.0f})" for w in detected)
    states = {w.state for w in report.watermarks}
    if states == {WatermarkState.NOT_DETECTED}:
        return "none found"
    return ", ".join(f"{w.detector}: {_SHORT_STATES[w.state]}" for w in report.watermarks)


#: Columns of :func:`csv_row`, in order.
CSV_FIELDS = (
    "path",
    "verdict",
    "labels",
    "summary",
    "credentials",
    "credentials_state",
    "integrity",
    "trust",
    "trust_source",
    "ai_declaration",
    "signer",
    "claim_generator",
    "watermark",
    "watermarks_detected",
    "errors",
    "sha256",
    "size_bytes",
    "media_kind",
    "container",
    "video_codec",
    "width",
    "height",
    "duration_seconds",
    "checked_at",
    "elapsed_seconds",
)


def csv_row(report: Report) -> dict[str, str]:
    """One flat row per report (every value a string; empty when unknown)."""
    c = report.credentials
    media = report.media

    def text(value: object) -> str:
        return "" if value is None else str(value)

    return {
        "path": report.path,
        "verdict": report.verdict.code.value,
        "labels": " ".join(label.value for label in report.verdict.labels),
        "summary": report.verdict.summary,
        "credentials": credentials_cell(report),
        "credentials_state": c.state.value,
        "integrity": c.integrity.value,
        "trust": c.trust.value,
        "trust_source": c.trust_source.value,
        "ai_declaration": c.ai_declaration.value,
        "signer": signer_cell(report),
        "claim_generator": text(c.claim_generator),
        "watermark": watermark_cell(report),
        "watermarks_detected": " ".join(
            w.mark or w.detector for w in report.watermarks if w.state is WatermarkState.DETECTED
        ),
        "errors": " | ".join(f"{e.stage}/{e.code}: {e.message}" for e in report.errors),
        "sha256": text(report.sha256),
        "size_bytes": text(report.size_bytes),
        "media_kind": text(media.kind.value if media else None),
        "container": text(media.container if media else None),
        "video_codec": text(media.video_codec if media else None),
        "width": text(media.width if media else None),
        "height": text(media.height if media else None),
        "duration_seconds": text(media.duration_seconds if media else None),
        "checked_at": report.checked_at,
        "elapsed_seconds": text(report.elapsed_seconds),
    }


def watermark_name(mark: WatermarkEvidence) -> str:
    """What a watermark evidence is called: ``keyed:<fingerprint>`` for a key, else the detector."""
    return mark.mark if mark.detector == "keyed" and mark.mark else mark.detector


def _watermark_line(mark: WatermarkEvidence) -> str:
    name = watermark_name(mark)
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
    line = f"watermark {name}: {state}{found}{figures}"
    if mark.hypothesis:
        line += f" [{mark.hypothesis}]"
    return line


def detail_lines(report: Report) -> list[tuple[str, str]]:
    """The evidence line by line, as (kind, text); kinds: ``also``, ``conflict``, ``evidence``,
    ``detail`` (indented under the line before), ``error``, ``note``."""
    verdict = report.verdict
    credentials = report.credentials
    lines: list[tuple[str, str]] = [("also", f"also: {reason}") for reason in verdict.reasons[1:]]
    lines += [("conflict", f"conflict: {conflict}") for conflict in verdict.conflicts]
    if credentials.message:
        lines.append(("evidence", f"credentials: {credentials.message}"))
    for code in credentials.validation_codes:
        if code.kind is StatusKind.FAILURE:
            lines.append(("evidence", f"[{code.scope}] {code.code}: {code.explanation}"))
    for signal in credentials.ai_signals[:5]:
        lines.append(
            (
                "evidence",
                f"AI signal: {signal.signal} ({signal.field} '{signal.value}', "
                f"{signal.location.value})",
            )
        )
    for mark in report.watermarks:
        lines.append(("evidence", _watermark_line(mark)))
        if mark.message:
            lines.append(("detail", mark.message))
        marked = [s for s in mark.segments if s.detected]
        if marked and len(marked) < len(mark.segments):
            spans = ", ".join(f"{s.start_seconds:g}-{s.end_seconds:g} s" for s in marked)
            lines.append(("detail", f"marked segments: {spans}"))
    for binding in credentials.soft_bindings:
        lines.append(
            (
                "evidence",
                "soft binding (a watermark the credentials reference; not decoded here): "
                f"{binding.algorithm}",
            )
        )
    lines += [("error", f"error [{e.stage}/{e.code}]: {e.message}") for e in report.errors]
    lines += [("note", f"note: {caveat}") for caveat in verdict.caveats]
    return lines
