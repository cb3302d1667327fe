"""The evidence in plain words for people who do not read z-scores: what each watermark
detector found, and the notices a reader needs before the verdict makes sense (no trust list
installed, an incomplete file). The numbers stay in the details; the web page and the evidence
report show these sentences first."""

from __future__ import annotations

import re

from provenance.report import (
    CredentialsState,
    Detector,
    FramePicture,
    MediaKind,
    Report,
    VerdictCode,
    WatermarkEvidence,
    WatermarkState,
)

__all__ = ["frame_scores", "notices", "watermark_figures", "watermark_title", "watermark_words"]

#: The command that installs the C2PA trust lists (network use, asked for explicitly).
TRUST_UPDATE_COMMAND = "provenance trust update"

#: Credential states where a signer was there to be recognised.
_SIGNED = {CredentialsState.PRESENT, CredentialsState.REMOTE, CredentialsState.CORRUPT}

#: Error codes that mean the file itself is cut short or damaged.
_INCOMPLETE = {("media", "corrupt"), ("watermark", "truncated"), ("watermark", "decode")}


def watermark_title(mark: WatermarkEvidence) -> str:
    """What the detector looks for, in words."""
    if mark.detector is Detector.KEYED:
        fingerprint = mark.mark.split(":", 1)[-1] if mark.mark else "?"
        return f"Keyed watermark (key {fingerprint})"
    return "Public AI-generator watermark (Stable Diffusion, SDXL, SVD: invisible-watermark)"


def _one_in(rate: float | None) -> str:
    if not rate:
        return ""
    return f" A file without the mark scores this high about once in {round(1 / rate):,} files."


def watermark_words(mark: WatermarkEvidence, kind: MediaKind | None) -> str:
    """One detector's finding as a sentence or two, figures left to the details."""
    thing = "image" if kind is MediaKind.IMAGE else "clip"
    if mark.state is WatermarkState.DETECTED:
        marked = [s for s in mark.segments if s.detected]
        where = ""
        if marked and len(marked) < len(mark.segments):
            spans = ", ".join(f"{s.start_seconds:g}-{s.end_seconds:g} s" for s in marked)
            where = f" in part of the {thing} ({spans})"
        which = (
            f" the {mark.mark} mark" if mark.mark and mark.detector is not Detector.KEYED else ""
        )
        carried = ""
        if mark.identifiers:
            values = ", ".join(i.value for i in mark.identifiers)
            carried = f" It carries the identifier {values}."
        frames = f"{mark.frames_used} frame{'s' if mark.frames_used != 1 else ''} read"
        return (
            f"Found{which}{where}, over the {frames}.{carried}{_one_in(mark.false_positive_rate)}"
        )
    if mark.state is WatermarkState.NOT_DETECTED:
        frames = f"{mark.frames_used} frame{'s' if mark.frames_used != 1 else ''} read"
        text = f"Not found in the {frames}."
        p = mark.survival_probability
        if p is not None:
            if p >= 0.5:
                text += (
                    f" Had this {thing} carried the mark, it would have been found with "
                    f"probability {p:.0%}: its compression leaves a mark readable."
                )
            else:
                text += (
                    f" This {thing} is compressed so much that a mark would have been found "
                    f"with probability {p:.0%} only: its absence says little."
                )
        else:
            text += " Absence is not proof: the mark may never have been there, or been removed."
        return text
    if mark.state is WatermarkState.INCONCLUSIVE and mark.survival_probability is not None:
        return (
            f"Could not tell: this {thing} is compressed so much that a mark would have been "
            f"found with probability {mark.survival_probability:.0%} only, so its absence says "
            "little."
        )
    # the message without its figures (they are in the details)
    why = re.sub(r"\s*\([^()]*\)", "", mark.message or "").strip()
    why = f" {why[:1].upper()}{why[1:]}" if why else ""
    if mark.state is WatermarkState.INCONCLUSIVE:
        return f"Could not tell.{why}"
    return f"Not checked.{why}"


def notices(report: Report) -> list[str]:
    """What a reader must know before the verdict makes sense, most important first."""
    found: list[str] = []
    broken = [e for e in report.errors if (e.stage, e.code) in _INCOMPLETE]
    if broken:
        text = f"This file is incomplete or damaged: {broken[0].message}"
        if report.verdict.code is VerdictCode.CREDENTIALS_TAMPERED:
            text += (
                " A cut or damaged file no longer matches the hash its Content Credentials "
                "recorded, which is why they read as tampered."
            )
        found.append(text)
    snapshot = report.credentials.trust_snapshot
    signed = report.credentials.state in _SIGNED or any(
        entry.credentials is not None for entry in report.recovered
    )
    if signed and snapshot is not None and not snapshot.lists:
        found.append(
            "No trust list is installed, so no signer can be recognised: 'unrecognised "
            f"signer' here says nothing about who signed. Install the C2PA trust lists with "
            f"'{TRUST_UPDATE_COMMAND}' (it downloads them), or point PROVENANCE_TRUST_DIR at a "
            "folder made with 'provenance trust add'."
        )
    return found


def frame_scores(report: Report, picture: FramePicture) -> list[tuple[str, float]]:
    """Each watermark detector's score for the pictured frame (detectors whose per-frame
    scores were pooled past that frame are left out)."""
    scores: list[tuple[str, float]] = []
    for mark in report.watermarks:
        for frame in mark.frames:
            if frame.index == picture.index:
                name = "keyed" if mark.detector is Detector.KEYED else "public"
                scores.append((name, frame.statistic))
                break
    return scores


def watermark_figures(mark: WatermarkEvidence) -> list[tuple[str, str]]:
    """One detector's figures, for the details under its sentence."""
    rows = [("result", mark.state.value.replace("_", " "))]
    if mark.mark and mark.state is WatermarkState.DETECTED:
        rows.append(("mark", mark.mark))
    if mark.statistic is not None:
        rows.append(("statistic (z)", f"{mark.statistic:.2f}"))
    if mark.threshold is not None:
        rows.append(("threshold", f"{mark.threshold:.2f}"))
    if mark.p_value is not None:
        rows.append(("p-value", f"{mark.p_value:.3g}"))
    if mark.false_positive_rate is not None:
        rows.append(("false-positive rate", f"{mark.false_positive_rate:g} per file"))
    if mark.hypotheses_tested:
        rows.append(("hypotheses tested", f"{mark.hypotheses_tested:,}"))
    if mark.hypothesis:
        rows.append(("best hypothesis", mark.hypothesis))
    rows.append(("frames used", str(mark.frames_used)))
    if mark.survival_probability is not None:
        rows.append(
            (
                "mark survival",
                f"p = {mark.survival_probability:.2f} that a mark would have been found here",
            )
        )
    if mark.message:
        rows.append(("notes", mark.message))
    return rows
