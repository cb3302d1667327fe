"""Verdict rules: evidence in, a :class:`~provenance.report.Verdict` out. Pure functions.

Each rule looks at one piece of evidence and may add a label with a reason. The primary code is
the matched label that ranks first in :data:`PRIORITY`. Nothing here reads files or settings, so
the rules are tested as a table (tests/test_verdict.py).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from provenance.report import (
    AIDeclaration,
    AISignal,
    CheckError,
    CredentialsEvidence,
    CredentialsState,
    Detector,
    Integrity,
    RecoveredCredentials,
    RecoveryState,
    SignalLocation,
    StatusKind,
    TrustSource,
    TrustStatus,
    Verdict,
    VerdictCode,
    WatermarkEvidence,
    WatermarkState,
)

__all__ = [
    "FAMILIES",
    "HEADLINES",
    "NO_SIGNAL_CAVEAT",
    "PRIORITY",
    "STALE_TRUST_DAYS",
    "TRUST_SOURCE_NAMES",
    "VerdictFamily",
    "derive_verdict",
]

#: Which label becomes the primary verdict when several match (first wins).
PRIORITY: tuple[VerdictCode, ...] = (
    VerdictCode.CREDENTIALS_TAMPERED,
    VerdictCode.AI_DECLARED,
    VerdictCode.AI_WATERMARK,
    VerdictCode.AI_EDITED,
    VerdictCode.CREDENTIALS_INVALID,
    VerdictCode.AI_POSSIBLE,
    VerdictCode.CREDENTIALS_RECOVERED,
    VerdictCode.CREDENTIALS_REMOTE,
    VerdictCode.CREDENTIALS_UNTRUSTED,
    VerdictCode.CREDENTIALS_VALID_NO_AI,
    VerdictCode.UNSUPPORTED,
    VerdictCode.ERROR,
    VerdictCode.NO_SIGNAL,
)


class VerdictFamily(enum.StrEnum):
    """What kind of finding a verdict is; renderers give each family one look."""

    AI = "ai"
    """Evidence of AI generation: declared by credentials, or an AI-generator watermark."""
    INTEGRITY = "integrity"
    """Credentials that are tampered or do not validate."""
    UNVERIFIED = "unverified"
    """A claim that could not be verified: unknown signer, remote manifest, possible AI."""
    VERIFIED = "verified"
    """Intact credentials from a trusted signer that declare no AI."""
    NOTHING_FOUND = "nothing_found"
    """No provenance signal (which proves nothing)."""
    NOT_CHECKED = "not_checked"
    """The file could not be (fully) checked."""


#: The family of every verdict code.
FAMILIES: dict[VerdictCode, VerdictFamily] = {
    VerdictCode.AI_DECLARED: VerdictFamily.AI,
    VerdictCode.AI_EDITED: VerdictFamily.AI,
    VerdictCode.AI_WATERMARK: VerdictFamily.AI,
    VerdictCode.AI_POSSIBLE: VerdictFamily.UNVERIFIED,
    VerdictCode.CREDENTIALS_TAMPERED: VerdictFamily.INTEGRITY,
    VerdictCode.CREDENTIALS_INVALID: VerdictFamily.INTEGRITY,
    VerdictCode.CREDENTIALS_RECOVERED: VerdictFamily.UNVERIFIED,
    VerdictCode.CREDENTIALS_REMOTE: VerdictFamily.UNVERIFIED,
    VerdictCode.CREDENTIALS_UNTRUSTED: VerdictFamily.UNVERIFIED,
    VerdictCode.CREDENTIALS_VALID_NO_AI: VerdictFamily.VERIFIED,
    VerdictCode.NO_SIGNAL: VerdictFamily.NOTHING_FOUND,
    VerdictCode.UNSUPPORTED: VerdictFamily.NOT_CHECKED,
    VerdictCode.ERROR: VerdictFamily.NOT_CHECKED,
}

#: Each verdict in a few plain words: the opening of its summary, and its headline everywhere.
HEADLINES = {
    VerdictCode.AI_DECLARED: "AI-generated, as declared by its Content Credentials",
    VerdictCode.AI_EDITED: "Contains AI-generated parts or AI edits, as declared by its Content Credentials",
    VerdictCode.AI_POSSIBLE: "Possibly AI-involved, according to its Content Credentials",
    VerdictCode.AI_WATERMARK: "Carries an AI-generator watermark",
    VerdictCode.CREDENTIALS_TAMPERED: "Content Credentials present but tampered",
    VerdictCode.CREDENTIALS_INVALID: "Content Credentials present but not valid",
    VerdictCode.CREDENTIALS_RECOVERED: "Content Credentials recovered through its watermark",
    VerdictCode.CREDENTIALS_REMOTE: "Content Credentials stored remotely, not verified",
    VerdictCode.CREDENTIALS_UNTRUSTED: "Valid Content Credentials from an unrecognised signer",
    VerdictCode.CREDENTIALS_VALID_NO_AI: "Valid, trusted Content Credentials that declare no AI",
    VerdictCode.NO_SIGNAL: "No provenance signal found: this proves nothing",
    VerdictCode.UNSUPPORTED: "Could not be checked as given",
    VerdictCode.ERROR: "Could not be checked",
}


#: Trust lists older than this many days earn a caveat.
STALE_TRUST_DAYS = 90

#: Where a signer's trust came from, in words.
TRUST_SOURCE_NAMES = {
    TrustSource.OFFICIAL: "the official C2PA Trust List",
    TrustSource.INTERIM: "the legacy interim trust list (as used by the Verify site)",
    TrustSource.USER: "your own trust anchors",
    TrustSource.NONE: "none: no loaded trust list vouches for this signer",
}

#: The caveat every verdict without an AI signal carries, and every rendering shows.
NO_SIGNAL_CAVEAT = (
    "No signal proves nothing: most AI-generated media carries no credentials or watermark, "
    "and both can be stripped."
)


def _signer_phrase(credentials: CredentialsEvidence) -> str:
    signer = credentials.signer
    name = (signer.issuer or signer.common_name) if signer else None
    who = f"'{name}'" if name else "an unnamed signer"
    if credentials.trust is TrustStatus.TRUSTED:
        return f"signed by {who}, trusted through {TRUST_SOURCE_NAMES[credentials.trust_source]}"
    if credentials.trust is TrustStatus.SIGNER_INVALID:
        return (
            f"signed by {who} whose certificate is not valid (expired, revoked or non-conformant)"
        )
    return f"signed by {who}, who is not on any loaded trust list (unverified)"


def _failure_codes(credentials: CredentialsEvidence) -> list[str]:
    return sorted({c.code for c in credentials.validation_codes if c.kind is StatusKind.FAILURE})


def _strongest(signals: Sequence[AISignal], category: AIDeclaration) -> AISignal | None:
    return next((s for s in signals if s.category is category), None)


def _where(signal: AISignal) -> str:
    return {
        SignalLocation.ACTIVE: "in the active manifest",
        SignalLocation.PARENT: "in a parent manifest of the asset's own history",
        SignalLocation.INGREDIENT: "in a component ingredient",
        SignalLocation.UNLINKED: "in a manifest not linked to the active one",
    }[signal.location]


def _credential_rules(
    credentials: CredentialsEvidence, labels: dict[VerdictCode, str], *, recovered: bool = False
) -> None:
    state = credentials.state
    if state is CredentialsState.REMOTE:
        labels[VerdictCode.CREDENTIALS_REMOTE] = (
            f"Content Credentials are stored remotely ({credentials.remote_manifest_url}) and were "
            "not verified offline."
        )
        return
    if state is CredentialsState.CORRUPT:
        labels[VerdictCode.CREDENTIALS_INVALID] = (
            credentials.message or "Content Credentials are present but corrupt."
        )
        return
    if state is CredentialsState.UNSUPPORTED:
        labels[VerdictCode.UNSUPPORTED] = credentials.message or "This input cannot be verified."
        return
    if state is not CredentialsState.PRESENT:
        return
    failures = ", ".join(_failure_codes(credentials))
    if credentials.integrity is Integrity.TAMPERED:
        labels[VerdictCode.CREDENTIALS_TAMPERED] = (
            f"The content or its credentials changed after signing ({failures})."
        )
    elif credentials.integrity is Integrity.INCOMPLETE:
        labels[VerdictCode.UNSUPPORTED] = (
            credentials.message or "The credentials cannot be fully verified from this input alone."
        )
    if (
        credentials.integrity is Integrity.MALFORMED
        or credentials.trust is TrustStatus.SIGNER_INVALID
    ):
        labels[VerdictCode.CREDENTIALS_INVALID] = (
            f"The credentials do not validate ({failures or credentials.message or 'malformed'})."
        )
    signals = credentials.ai_signals
    declared = credentials.ai_declaration
    for category, code, phrase in (
        (AIDeclaration.GENERATIVE_AI, VerdictCode.AI_DECLARED, "declare the content AI-generated"),
        (
            AIDeclaration.CONTAINS_AI,
            VerdictCode.AI_EDITED,
            "declare AI-generated parts or AI edits",
        ),
        (AIDeclaration.POSSIBLY_AI, VerdictCode.AI_POSSIBLE, "suggest possible AI involvement"),
    ):
        if declared is category:
            signal = _strongest(signals, category)
            detail = (
                f" ({signal.signal}: {signal.field} '{signal.value}' {_where(signal)})"
                if signal
                else ""
            )
            which = "recovered credentials" if recovered else "credentials"
            labels[code] = f"The {which} {phrase}{detail}; {_signer_phrase(credentials)}."
    intact = credentials.integrity is Integrity.INTACT
    if intact and credentials.trust is TrustStatus.UNTRUSTED:
        labels[VerdictCode.CREDENTIALS_UNTRUSTED] = (
            "The credentials are intact but the signer is not on any loaded trust list."
        )
    if (
        intact
        and credentials.trust is TrustStatus.TRUSTED
        and declared
        not in (AIDeclaration.GENERATIVE_AI, AIDeclaration.CONTAINS_AI, AIDeclaration.POSSIBLY_AI)
    ):
        labels[VerdictCode.CREDENTIALS_VALID_NO_AI] = (
            f"Intact credentials {_signer_phrase(credentials)}; they declare no AI involvement."
        )


def _conflicts(
    credentials: CredentialsEvidence, detected: Sequence[WatermarkEvidence]
) -> list[str]:
    conflicts: list[str] = []
    own = (SignalLocation.ACTIVE, SignalLocation.PARENT)
    capture = [
        s for s in credentials.ai_signals if s.signal == "capturedMedia" and s.location in own
    ]
    generated = [
        s
        for s in credentials.ai_signals
        if s.category is AIDeclaration.GENERATIVE_AI and s.location in own
    ]
    if capture and generated:
        conflicts.append(
            "The credentials declare both camera capture and generative AI in the asset's own "
            "history."
        )
    for mark in detected:
        name = mark.mark or mark.detector
        if capture:
            conflicts.append(
                f"The credentials say camera capture, but a {name} watermark is present."
            )
        elif (
            credentials.state is CredentialsState.PRESENT
            and credentials.ai_declaration is AIDeclaration.NONE
        ):
            conflicts.append(
                f"The credentials declare no AI involvement, but a {name} watermark is present."
            )
    return conflicts


def _usable(credentials: CredentialsEvidence) -> bool:
    """Embedded credentials that are present and validate: never overridden by recovered ones."""
    return (
        credentials.state is CredentialsState.PRESENT and credentials.integrity is Integrity.INTACT
    )


def _recovered_rules(
    credentials: CredentialsEvidence,
    recovered: Sequence[RecoveredCredentials],
    labels: dict[VerdictCode, str],
    caveats: list[str],
    conflicts: list[str],
) -> tuple[CredentialsEvidence | None, set[str]]:
    """Labels, caveats and conflicts of recovered credentials. Returns the recovered evidence
    the verdict speaks for (None when none stands, or embedded credentials take precedence)
    and the identifiers that lead to the manifest that stands (embedded or recovered)."""
    chosen: CredentialsEvidence | None = None
    agreeing: set[str] = set()
    for entry in recovered:
        where = f"in {entry.source}"
        if entry.state is RecoveryState.NOT_FOUND:
            caveats.append(
                f"The watermark carries identifier {entry.value}, but no manifest for it was "
                f"found {where}."
            )
            continue
        if entry.state is not RecoveryState.RECOVERED or entry.credentials is None:
            caveats.append(
                f"Credentials for identifier {entry.value} could not be recovered {where}: "
                f"{entry.message or entry.state}"
            )
            continue
        found = entry.credentials
        standing = credentials if _usable(credentials) else chosen
        if standing is not None:
            if found.active_manifest == standing.active_manifest:
                agreeing.add(entry.value)
            else:
                which = "embedded" if standing is credentials else "recovered first"
                conflicts.append(
                    f"The watermark's identifier {entry.value} leads to another manifest "
                    f"({found.active_manifest}, {where}) than the {which} one "
                    f"({standing.active_manifest}), which stands; it declares "
                    f"{found.ai_declaration.value.replace('_', ' ')}."
                )
            continue
        chosen = found
        agreeing.add(entry.value)
        labels[VerdictCode.CREDENTIALS_RECOVERED] = (
            f"Content Credentials were recovered {where} through the identifier {entry.value} "
            f"the file's watermark carries (manifest {found.active_manifest}); "
            f"{_signer_phrase(found)}."
        )
        if entry.content_changed:
            caveats.append(
                "The recovered manifest's content hash no longer matches this file: the "
                "content changed since signing, as any re-encoding does. The watermark "
                "identifier ties the file to the manifest."
            )
        _credential_rules(found, labels, recovered=True)
    return chosen, agreeing


def derive_verdict(
    credentials: CredentialsEvidence,
    watermarks: Sequence[WatermarkEvidence] = (),
    errors: Sequence[CheckError] = (),
    recovered: Sequence[RecoveredCredentials] = (),
) -> Verdict:
    """Derive the verdict from the evidence.

    Parameters
    ----------
    credentials
        Content Credentials evidence.
    watermarks
        One entry per watermark detector (empty when none ran).
    errors
        What stopped parts of the check.
    recovered
        Credentials recovered through the marks' identifiers. A recovered AI declaration
        counts as a declaration (with the ``credentials_recovered`` label) unless embedded
        credentials that validate are present: those are never overridden.
    """
    labels: dict[VerdictCode, str] = {}
    recovered_caveats: list[str] = []
    recovered_conflicts: list[str] = []
    _credential_rules(credentials, labels)
    found, resolved = _recovered_rules(
        credentials, recovered, labels, recovered_caveats, recovered_conflicts
    )
    speaking = found or credentials
    # a keyed mark whose identifier leads to the manifest that stands speaks through it
    detected = [
        w
        for w in watermarks
        if w.state is WatermarkState.DETECTED
        and not any(i.value in resolved for i in w.identifiers)
    ]
    if detected:
        names = ", ".join(_mark_phrase(w) for w in detected)
        labels[VerdictCode.AI_WATERMARK] = f"AI-generator watermark detected: {names}."
    if errors:
        labels[VerdictCode.ERROR] = "; ".join(e.message for e in errors)
    if not labels:
        reason = "No Content Credentials and no watermark were found."
        if credentials.state is CredentialsState.NOT_EMBEDDABLE:
            reason = credentials.message or reason
        labels[VerdictCode.NO_SIGNAL] = reason

    ordered = sorted(labels, key=PRIORITY.index)
    primary = ordered[0]
    caveats: list[str] = []
    ai_codes = {VerdictCode.AI_DECLARED, VerdictCode.AI_EDITED, VerdictCode.AI_WATERMARK}
    if not ai_codes & set(labels):
        caveats.append(NO_SIGNAL_CAVEAT)
    if (
        any(c in labels for c in ai_codes)
        and speaking.trust is not TrustStatus.TRUSTED
        and not detected
    ):
        caveats.append(
            "The AI declaration comes from credentials that are not trusted or not intact: it is "
            "a claim, not a verified fact."
        )
    recorded = sorted(
        {c.code for c in credentials.validation_codes if c.scope == "ingredient_recorded"}
    )
    if recorded:
        caveats.append(
            "An ingredient in this file's history was already failing validation when it was "
            f"used ({', '.join(recorded)}), as recorded by the signer."
        )
    if speaking.state is CredentialsState.PRESENT and speaking.certificate_expired_at:
        when = speaking.signer.signing_time if speaking.signer else None
        made = f" ({when})" if when else ""
        caveats.append(
            f"The signing certificate expired on {speaking.certificate_expired_at}; the "
            f"signature stands only because its timestamp{made} proves it was made while the "
            "certificate was valid."
        )
    ingredient_failures = sorted(
        {
            c.code
            for c in credentials.validation_codes
            if c.scope == "ingredient"
            and c.kind is StatusKind.FAILURE
            and "untrusted" not in c.code  # an unlisted ingredient signer is ordinary
        }
    )
    if ingredient_failures:
        caveats.append(
            "An ingredient's own credentials fail validation "
            f"({', '.join(ingredient_failures)}): that is this file's history, not its "
            "integrity or its signer's trust."
        )
    snapshot = credentials.trust_snapshot
    if credentials.state is CredentialsState.PRESENT and snapshot is not None:
        if not snapshot.lists:
            caveats.append(
                "No trust list was loaded, so no signer could be trusted. Run "
                "'provenance trust update' or pass --trust-dir."
            )
        elif snapshot.age_days is not None and snapshot.age_days > STALE_TRUST_DAYS:
            caveats.append(
                f"The trust lists are {snapshot.age_days} days old; run 'provenance trust update'."
            )
    if not watermarks:
        caveats.append("Watermarks were not checked: no watermark detector ran.")
    caveats.extend(_watermark_caveats(credentials, watermarks))
    caveats.extend(recovered_caveats)
    conflicts = _conflicts(credentials, detected)
    if found is not None:
        conflicts += [c for c in _conflicts(found, detected) if c not in conflicts]
    return Verdict(
        code=primary,
        summary=_summary(primary, labels[primary], speaking, recovered=found is not None),
        labels=tuple(ordered),
        reasons=tuple(labels[code] for code in ordered),
        conflicts=tuple(conflicts + recovered_conflicts),
        caveats=tuple(caveats),
    )


def _mark_phrase(mark: WatermarkEvidence) -> str:
    name = mark.mark or mark.detector
    if mark.detector is Detector.DWTDCT:
        name = f"{name} (invisible-watermark dwtDct)"
    if mark.statistic is not None:
        name += f", z = {mark.statistic:.1f}"
    return name


def _watermark_caveats(
    credentials: CredentialsEvidence, watermarks: Sequence[WatermarkEvidence]
) -> list[str]:
    caveats: list[str] = []
    for mark in watermarks:
        name = mark.mark or mark.detector
        if (
            mark.state is WatermarkState.INCONCLUSIVE
            and mark.survival_probability is not None
            and mark.statistic is not None
        ):  # read, not found, but a mark would probably not have survived in this file
            caveats.append(
                f"Watermark {name} was not found, but had it been embedded it would have been "
                f"found only with p = {mark.survival_probability:.2f} in a file like this one, "
                "so its absence says little."
            )
        elif mark.state is WatermarkState.INCONCLUSIVE:
            caveats.append(f"Watermark {name} could not be checked: {mark.message or 'no reason'}")
        elif mark.state is WatermarkState.NOT_CHECKED:
            caveats.append(f"Watermark {name} was not checked: {mark.message or 'no reason'}")
        elif mark.state is WatermarkState.DETECTED and mark.detector is Detector.DWTDCT:
            caveats.append(
                "The dwtDct marks are public: anyone can stamp one on any picture. A detection "
                "shows the file went through that encoder (normally an AI generator's), not "
                "who made it."
            )
    if watermarks and all(w.state is WatermarkState.NOT_DETECTED for w in watermarks):
        caveats.append(
            "No watermark was found, which does not mean authentic: most generators add no "
            "mark, and re-encoding, resizing or cropping can remove the ones that exist."
        )
    algorithms = sorted({b.algorithm for b in credentials.soft_bindings})
    if algorithms:
        caveats.append(
            "The credentials reference watermarks (soft bindings) this tool does not decode: "
            f"{', '.join(algorithms)}."
        )
    return caveats


def _summary(
    code: VerdictCode, reason: str, credentials: CredentialsEvidence, *, recovered: bool = False
) -> str:
    headline = HEADLINES[code]
    if code in (VerdictCode.AI_DECLARED, VerdictCode.AI_EDITED, VerdictCode.AI_POSSIBLE):
        if recovered:  # the file's own were stripped: say where these came from
            headline = headline.replace(
                "its Content Credentials",
                "Content Credentials recovered through its watermark (the file's own were stripped)",
            )
        return f"{headline}; {_signer_phrase(credentials)}."
    return f"{headline}. {reason}"
