"""One-line summaries of a report: the table cells and the flat CSV row.

Shared by the terminal table, ``provenance scan``'s CSV and HTML outputs, so the same report
reads the same everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from provenance.credentials.ai import SOURCE_TYPE_MEANINGS
from provenance.report import (
    CredentialsEvidence,
    CredentialsState,
    Detector,
    ManifestSummary,
    RecoveredCredentials,
    RecoveryState,
    Report,
    SignalLocation,
    StatusKind,
    TrustSource,
    VerdictCode,
    WatermarkEvidence,
    WatermarkState,
)
from provenance.verdict import TRUST_SOURCE_NAMES

__all__ = [
    "CSV_FIELDS",
    "action_rows",
    "ai_declaration_cell",
    "credentials_cell",
    "credentials_rows",
    "csv_row",
    "detail_lines",
    "ingredient_tree",
    "manifest_name",
    "media_rows",
    "non_empty_columns",
    "recovered_line",
    "recovered_rows",
    "signer_cell",
    "speaking_credentials",
    "strongest_frame_caption",
    "trust_lines",
    "validation_rows",
    "version_rows",
    "watermark_cell",
    "watermark_name",
    "without_file_name",
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


def speaking_credentials(report: Report) -> tuple[CredentialsEvidence, bool]:
    """(the credentials the verdict speaks for, whether they were recovered): the recovered
    ones when the verdict used them (the file's own were stripped), else the file's own."""
    if VerdictCode.CREDENTIALS_RECOVERED in report.verdict.labels:
        for entry in report.recovered:
            if entry.state is RecoveryState.RECOVERED and entry.credentials is not None:
                return entry.credentials, True
    return report.credentials, False


def credentials_cell(report: Report, *, embedded: bool = False) -> str:
    """Content Credentials in a few words: state, or integrity and trust with its source
    (prefixed ``recovered:`` when they came from a repository through the watermark; with
    ``embedded``, the file's own whatever was recovered)."""
    c, recovered = (report.credentials, False) if embedded else speaking_credentials(report)
    if c.state is not CredentialsState.PRESENT:
        return c.state.value.replace("_", " ")
    trust = c.trust.value.replace("_", " ")
    source = _TRUST_LABELS[c.trust_source]
    text = f"{c.integrity.value}, {trust}" + (f" ({source})" if source else "")
    return f"recovered: {text}" if recovered else text


def ai_declaration_cell(report: Report) -> str:
    """What the credentials declare about AI, in words (``generative ai``, ``none``, ...)."""
    return speaking_credentials(report)[0].ai_declaration.value.replace("_", " ")


def signer_cell(report: Report) -> str:
    """The signer's issuer (or common name), or an empty string."""
    signer = speaking_credentials(report)[0].signer
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
    "identifiers",
    "recovered",
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
        "identifiers": " ".join(
            f"{i.algorithm}:{i.value}" for w in report.watermarks for i in w.identifiers
        ),
        "recovered": " ".join(
            f"{entry.state.value}:{entry.manifest_id or entry.value}" for entry in report.recovered
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
    return mark.mark if mark.detector is Detector.KEYED and mark.mark else mark.detector.value


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
        if mark.state is WatermarkState.DETECTED and mark.detector is not Detector.KEYED
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
    for entry in report.recovered:
        lines.append(("evidence", recovered_line(entry)))
        if entry.state is RecoveryState.RECOVERED and entry.message:
            lines.append(("detail", entry.message))
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


_LOCATIONS = {
    SignalLocation.ACTIVE: "this file",
    SignalLocation.PARENT: "parent",
    SignalLocation.INGREDIENT: "component",
    SignalLocation.UNLINKED: "unlinked",
}


def manifest_name(manifest: ManifestSummary) -> str:
    """A manifest in a few words: where it sits, its title and the tool that made it."""
    where = _LOCATIONS[manifest.location]
    title = manifest.title or manifest.label.rsplit(":", 1)[-1][:8]
    tool = f" by {manifest.claim_generator}" if manifest.claim_generator else ""
    return f"{where}: {title}{tool}"


def action_rows(report: Report) -> list[dict[str, str]]:
    """Every action of every manifest, active first, with its digitalSourceType explained."""
    rows = []
    for manifest in report.credentials.history:
        for action in manifest.actions:
            source = action.digital_source_type or ""
            rows.append(
                {
                    "manifest": manifest_name(manifest),
                    "action": action.action,
                    "digitalSourceType": source,
                    "meaning": SOURCE_TYPE_MEANINGS.get(source, "not a known IPTC term")
                    if source
                    else "",
                    "software agent": action.software_agent or "",
                    "when": action.when or "",
                    "description": action.description or "",
                }
            )
    return rows


def ingredient_tree(report: Report) -> list[tuple[int, str]]:
    """The manifest history as an indented tree, (depth, text), from the active manifest down
    through its ingredients; manifests no ingredient links to are listed last as unlinked."""
    credentials = report.credentials
    by_label = {m.label: m for m in credentials.history}
    lines: list[tuple[int, str]] = []
    seen: set[str] = set()

    def walk(manifest: ManifestSummary, depth: int) -> None:
        seen.add(manifest.label)
        signer = manifest.signer
        signed = f"; signed by {signer.issuer or signer.common_name}" if signer else ""
        actions = ", ".join(
            a.action + (f" ({a.digital_source_type})" if a.digital_source_type else "")
            for a in manifest.actions
        )
        lines.append(
            (depth, manifest_name(manifest) + signed + (f"; actions: {actions}" if actions else ""))
        )
        for ingredient in manifest.ingredients:
            kind = f" [{ingredient.format}]" if ingredient.format else ""
            own = by_label.get(ingredient.manifest_label or "")
            label = f"{ingredient.relationship or 'ingredient'}: {ingredient.title or '(untitled)'}"
            if own is None:
                lines.append((depth + 1, f"{label}{kind}, without Content Credentials"))
            elif own.label in seen:
                lines.append((depth + 1, f"{label}{kind}, manifest shown above"))
            else:
                lines.append((depth + 1, f"{label}{kind}, with its own manifest:"))
                walk(own, depth + 2)

    active = by_label.get(credentials.active_manifest or "")
    if active is not None:
        walk(active, 0)
    for manifest in credentials.history:
        if manifest.label not in seen:
            walk(manifest, 0)
    return lines


_KIND_ORDER = {StatusKind.FAILURE: 0, StatusKind.INFORMATIONAL: 1, StatusKind.SUCCESS: 2}


def validation_rows(report: Report) -> list[dict[str, str]]:
    """Every validation code, failures first, with our explanation and the library's message."""
    codes = sorted(report.credentials.validation_codes, key=lambda c: _KIND_ORDER[c.kind])
    return [
        {
            "result": code.kind.value,
            "code": code.code,
            "meaning": code.explanation,
            "where": code.scope.replace("_", " "),
            "library message": code.detail or "",
        }
        for code in codes
    ]


def credentials_rows(report: Report) -> list[tuple[str, str]]:
    """The file's own Content Credentials in brief (recovered ones: :func:`recovered_rows`), as (name, value) pairs: state, trust source, AI
    declaration with its strongest signal, signer, signing time, claim generator."""
    c = report.credentials
    rows = [("State", credentials_cell(report, embedded=True))]
    if c.state is CredentialsState.PRESENT:
        rows.append(("Trust source", TRUST_SOURCE_NAMES[c.trust_source]))
    declared = c.ai_declaration.value.replace("_", " ")
    if c.ai_signals:  # the strongest signal: what was declared, and where
        signal = c.ai_signals[0]
        declared += f" ({signal.field} {signal.value}, {signal.location.value.replace('_', ' ')})"
    rows.append(("AI declaration", declared))
    if c.signer is not None:
        issuer = c.signer.issuer or c.signer.common_name or ""
        rows += [
            ("Signer", f"{issuer} ({c.signer.common_name or 'no name'})"),
            ("Signed", c.signer.signing_time or "no trusted time stamp"),
        ]
        if c.signer.algorithm:
            rows.append(("Algorithm", c.signer.algorithm))
    if c.certificate_expired_at:
        rows.append(
            ("Certificate", f"expired {c.certificate_expired_at}; valid through its timestamp")
        )
    if c.claim_generator:
        rows.append(("Claim generator", c.claim_generator))
    if c.title:
        rows.append(("Title", c.title))
    if c.remote_manifest_url:
        rows.append(("Remote manifest", c.remote_manifest_url))
    return rows


def recovered_rows(entry: RecoveredCredentials) -> list[tuple[str, str]]:
    """Credentials recovered through a watermark identifier, as (name, value) pairs."""
    rows = [
        ("Identifier", f"{entry.value} ({entry.algorithm})"),
        ("Looked up in", entry.source),
        ("Result", entry.state.value.replace("_", " ")),
    ]
    found = entry.credentials
    if entry.state is RecoveryState.RECOVERED and found is not None:
        trust = found.trust.value.replace("_", " ")
        source = _TRUST_LABELS[found.trust_source]
        rows += [
            ("Manifest", entry.manifest_id or ""),
            ("Claim signature", found.integrity.value),
            ("Trust", trust + (f" ({source})" if source else "")),
            ("AI declaration", found.ai_declaration.value.replace("_", " ")),
        ]
        if found.signer is not None:
            name = found.signer.issuer or found.signer.common_name or "no name"
            rows.append(("Signer", f"{name} ({found.signer.common_name or 'no name'})"))
        if found.claim_generator:
            rows.append(("Claim generator", found.claim_generator))
        if found.title:
            rows.append(("Title", found.title))
        changed = {
            True: "yes: the content hash no longer matches (re-encoded since signing)",
            False: "no: the content hash matches this file",
            None: "not checked (this format cannot be hashed by C2PA)",
        }
        rows.append(("Content changed since signing", changed[entry.content_changed]))
    elif entry.message:
        rows.append(("Why", entry.message))
    return rows


def recovered_line(entry: RecoveredCredentials) -> str:
    """One evidence line for recovered credentials."""
    found = entry.credentials
    if entry.state is RecoveryState.RECOVERED and found is not None:
        signer = found.signer.issuer or found.signer.common_name if found.signer else None
        return (
            f"recovered credentials ({entry.source}): manifest {entry.manifest_id}, signed by "
            f"{signer or 'an unnamed signer'}, {found.trust.value.replace('_', ' ')}, AI "
            f"declaration {found.ai_declaration.value.replace('_', ' ')}"
        )
    return (
        f"recovered credentials ({entry.source}) for identifier {entry.value}: "
        f"{entry.state.value.replace('_', ' ')}" + (f": {entry.message}" if entry.message else "")
    )


def non_empty_columns(rows: Sequence[Mapping[str, str]]) -> list[str]:
    """The columns of ``rows`` (the first row's keys, in order) with a value in some row."""
    return [name for name in rows[0] if any(row.get(name) for row in rows)] if rows else []


def strongest_frame_caption(mark: WatermarkEvidence) -> str:
    """``Strongest frame: frame N (type) at T s, z Z``; empty without a strongest frame."""
    frame = mark.strongest_frame
    if frame is None:
        return ""
    kind = f" ({frame.picture_type})" if frame.picture_type else ""
    when = f" at {frame.time_seconds:.2f} s" if frame.time_seconds is not None else ""
    return f"Strongest frame: frame {frame.index}{kind}{when}, z {frame.statistic:.1f}"


def trust_lines(report: Report) -> list[str]:
    """Which trust material the check used, and how old it is."""
    snapshot = report.credentials.trust_snapshot
    if snapshot is None:
        return ["No trust material was recorded for this check."]
    lists = ", ".join(_TRUST_LABELS[s] for s in snapshot.lists) or "none"
    lines = [f"Trust lists loaded: {lists}"]
    if snapshot.snapshot_date:
        how = {"recorded": "recorded by 'provenance trust update'", "file_mtime": "file dates"}
        age = f", {snapshot.age_days} days old" if snapshot.age_days is not None else ""
        lines.append(
            f"Snapshot of {snapshot.snapshot_date}{age} "
            f"({how.get(snapshot.date_source, snapshot.date_source)})"
        )
    else:
        lines.append("Snapshot date: unknown")
    if snapshot.anchor_counts:
        counts = ", ".join(f"{name} {count}" for name, count in snapshot.anchor_counts.items())
        lines.append(f"Anchors: {counts}")
    if snapshot.directory:
        lines.append(f"Trust directory: {snapshot.directory}")
    return lines


def media_rows(report: Report) -> list[tuple[str, str]]:
    """File facts and hashes as (name, value) pairs."""
    rows = [("file", report.path), ("SHA-256", report.sha256 or "not computed")]
    if report.size_bytes is not None:
        rows.append(("size", f"{report.size_bytes:,} bytes"))
    media = report.media
    if media is not None:
        rows.append(("kind", media.kind.value))
        if media.container:
            rows.append(("container", media.container))
        if media.video_codec:
            rows.append(("video codec", media.video_codec))
        if media.width and media.height:
            rows.append(("picture", f"{media.width} x {media.height}"))
        if media.fps:
            rows.append(("frame rate", f"{media.fps:g} fps"))
        if media.duration_seconds is not None:
            rows.append(("duration", f"{media.duration_seconds:.2f} s"))
        if media.frame_count is not None:
            estimated = " (estimated)" if media.frame_count_estimated else ""
            rows.append(("frames", f"{media.frame_count}{estimated}"))
        if media.rotation_degrees:
            rows.append(("rotation", f"{media.rotation_degrees} degrees"))
        if media.pixel_format:
            rows.append(("pixel format", media.pixel_format))
        if media.has_audio:
            rows.append(("audio", media.audio_codec or "yes"))
    return rows


def version_rows(report: Report) -> list[tuple[str, str]]:
    """The versions a report depends on: the tool, its engines and the report schema."""
    rows = [("provenance-checker", report.tool_version)]
    rows += [
        (name, version)
        for name, version in report.engine_versions.items()
        if name != "provenance-checker"
    ]
    rows += [("report schema", report.schema_version), ("checked at", report.checked_at)]
    return rows


def without_file_name(report: Report, message: str) -> str:
    """``message`` without the ``name: `` it opens with, where the reader already sees the
    file's name beside it (a row, a list of failures)."""
    for name in (report.path, os.path.basename(report.path)):
        if name and message.startswith(name + ": "):
            rest = message[len(name) + 2 :]
            return rest[:1].upper() + rest[1:]
    return message
