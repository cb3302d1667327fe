"""The verdict rules as a table: evidence in, verdict code and labels out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from provenance.report import (
    AIDeclaration,
    AISignal,
    CheckError,
    CredentialsEvidence,
    CredentialsState,
    Integrity,
    MarkIdentifier,
    RecoveredCredentials,
    RecoveryState,
    SignalLocation,
    Signer,
    TrustSnapshot,
    TrustSource,
    TrustStatus,
    VerdictCode,
    WatermarkEvidence,
    WatermarkState,
)
from provenance.verdict import PRIORITY, derive_verdict

V = VerdictCode
LISTS = TrustSnapshot(
    lists=(TrustSource.OFFICIAL, TrustSource.INTERIM), snapshot_date="2026-11-01", age_days=3
)


def creds(
    integrity: Integrity = Integrity.INTACT,
    trust: TrustStatus = TrustStatus.UNTRUSTED,
    ai: AIDeclaration = AIDeclaration.NONE,
    *,
    state: CredentialsState = CredentialsState.PRESENT,
    signals: tuple[AISignal, ...] = (),
    snapshot: TrustSnapshot = LISTS,
) -> CredentialsEvidence:
    return CredentialsEvidence(
        state=state,
        integrity=integrity,
        trust=trust,
        trust_source=TrustSource.INTERIM if trust is TrustStatus.TRUSTED else TrustSource.NONE,
        ai_declaration=ai,
        ai_signals=signals,
        signer=Signer(issuer="Example Corp"),
        trust_snapshot=snapshot,
    )


def signal(
    name: str, category: AIDeclaration, location: SignalLocation = SignalLocation.ACTIVE
) -> AISignal:
    return AISignal(
        name, category, location, "urn:x", "digitalSourceType", name, name, "c2pa.created"
    )


MARK = WatermarkEvidence(detector="dwtdct", state=WatermarkState.DETECTED, mark="SDXL")
NO_MARK = WatermarkEvidence(detector="dwtdct", state=WatermarkState.NOT_DETECTED, mark="SDXL")
INCONCLUSIVE = WatermarkEvidence(detector="dwtdct", state=WatermarkState.INCONCLUSIVE, mark="SDXL")
ABSENT = CredentialsEvidence(state=CredentialsState.ABSENT)
GEN = AIDeclaration.GENERATIVE_AI

TABLE = [
    # (case, credentials, watermarks, errors, primary, all labels)
    (
        "trusted AI declaration",
        creds(trust=TrustStatus.TRUSTED, ai=GEN),
        (),
        (),
        V.AI_DECLARED,
        {V.AI_DECLARED},
    ),
    (
        "untrusted AI declaration",
        creds(ai=GEN),
        (),
        (),
        V.AI_DECLARED,
        {V.AI_DECLARED, V.CREDENTIALS_UNTRUSTED},
    ),
    (
        "AI edit",
        creds(trust=TrustStatus.TRUSTED, ai=AIDeclaration.CONTAINS_AI),
        (),
        (),
        V.AI_EDITED,
        {V.AI_EDITED},
    ),
    (
        "possibly AI",
        creds(ai=AIDeclaration.POSSIBLY_AI),
        (),
        (),
        V.AI_POSSIBLE,
        {V.AI_POSSIBLE, V.CREDENTIALS_UNTRUSTED},
    ),
    (
        "tampered",
        creds(Integrity.TAMPERED),
        (),
        (),
        V.CREDENTIALS_TAMPERED,
        {V.CREDENTIALS_TAMPERED},
    ),
    (
        "tampered AI",
        creds(Integrity.TAMPERED, ai=GEN),
        (),
        (),
        V.CREDENTIALS_TAMPERED,
        {V.CREDENTIALS_TAMPERED, V.AI_DECLARED},
    ),
    (
        "malformed",
        creds(Integrity.MALFORMED),
        (),
        (),
        V.CREDENTIALS_INVALID,
        {V.CREDENTIALS_INVALID},
    ),
    (
        "expired signer",
        creds(trust=TrustStatus.SIGNER_INVALID),
        (),
        (),
        V.CREDENTIALS_INVALID,
        {V.CREDENTIALS_INVALID},
    ),
    (
        "corrupt",
        CredentialsEvidence(state=CredentialsState.CORRUPT, integrity=Integrity.MALFORMED),
        (),
        (),
        V.CREDENTIALS_INVALID,
        {V.CREDENTIALS_INVALID},
    ),
    ("valid untrusted", creds(), (), (), V.CREDENTIALS_UNTRUSTED, {V.CREDENTIALS_UNTRUSTED}),
    (
        "valid trusted capture",
        creds(trust=TrustStatus.TRUSTED, ai=AIDeclaration.CAPTURE),
        (),
        (),
        V.CREDENTIALS_VALID_NO_AI,
        {V.CREDENTIALS_VALID_NO_AI},
    ),
    (
        "valid trusted nothing declared",
        creds(trust=TrustStatus.TRUSTED),
        (),
        (),
        V.CREDENTIALS_VALID_NO_AI,
        {V.CREDENTIALS_VALID_NO_AI},
    ),
    (
        "remote",
        CredentialsEvidence(state=CredentialsState.REMOTE, remote_manifest_url="https://x"),
        (),
        (),
        V.CREDENTIALS_REMOTE,
        {V.CREDENTIALS_REMOTE},
    ),
    (
        "incomplete init segment",
        creds(Integrity.INCOMPLETE),
        (),
        (),
        V.UNSUPPORTED,
        {V.UNSUPPORTED},
    ),
    (
        "bare fragment",
        CredentialsEvidence(state=CredentialsState.UNSUPPORTED),
        (),
        (),
        V.UNSUPPORTED,
        {V.UNSUPPORTED},
    ),
    ("nothing", ABSENT, (), (), V.NO_SIGNAL, {V.NO_SIGNAL}),
    (
        "not embeddable",
        CredentialsEvidence(state=CredentialsState.NOT_EMBEDDABLE),
        (),
        (),
        V.NO_SIGNAL,
        {V.NO_SIGNAL},
    ),
    ("watermark only", ABSENT, (MARK,), (), V.AI_WATERMARK, {V.AI_WATERMARK}),
    ("watermark not detected", ABSENT, (NO_MARK,), (), V.NO_SIGNAL, {V.NO_SIGNAL}),
    ("watermark inconclusive", ABSENT, (INCONCLUSIVE,), (), V.NO_SIGNAL, {V.NO_SIGNAL}),
    (
        "error only",
        CredentialsEvidence(state=CredentialsState.NOT_CHECKED),
        (),
        (CheckError("input", "empty", "x: empty"),),
        V.ERROR,
        {V.ERROR},
    ),
    (
        "tampered and truncated",
        creds(Integrity.TAMPERED),
        (),
        (CheckError("media", "corrupt", "x"),),
        V.CREDENTIALS_TAMPERED,
        {V.CREDENTIALS_TAMPERED, V.ERROR},
    ),
    (
        "AI declared plus watermark",
        creds(trust=TrustStatus.TRUSTED, ai=GEN),
        (MARK,),
        (),
        V.AI_DECLARED,
        {V.AI_DECLARED, V.AI_WATERMARK},
    ),
]


@pytest.mark.parametrize(
    ("case", "credentials", "watermarks", "errors", "primary", "labels"),
    TABLE,
    ids=[row[0] for row in TABLE],
)
def test_verdict_table(case, credentials, watermarks, errors, primary, labels) -> None:  # type: ignore[no-untyped-def]
    verdict = derive_verdict(credentials, watermarks, errors)
    assert verdict.code is primary, case
    assert set(verdict.labels) == labels, case
    assert verdict.labels[0] is primary
    assert len(verdict.reasons) == len(verdict.labels)
    assert list(verdict.labels) == sorted(verdict.labels, key=PRIORITY.index)
    assert verdict.summary


def test_absence_always_carries_the_caveat() -> None:
    for credentials in (ABSENT, creds(), creds(trust=TrustStatus.TRUSTED)):
        verdict = derive_verdict(credentials)
        assert any("proves nothing" in c for c in verdict.caveats)
    assert not any("proves nothing" in c for c in derive_verdict(creds(ai=GEN)).caveats)


def test_capture_credential_with_ai_watermark_is_a_conflict() -> None:
    capture = creds(
        trust=TrustStatus.TRUSTED,
        ai=AIDeclaration.CAPTURE,
        signals=(signal("capturedMedia", AIDeclaration.CAPTURE),),
    )
    verdict = derive_verdict(capture, (MARK,))
    assert verdict.code is V.AI_WATERMARK
    assert verdict.conflicts == (
        "The credentials say camera capture, but a SDXL watermark is present.",
    )
    assert derive_verdict(capture).conflicts == ()


def test_capture_and_generation_in_own_history_is_a_conflict() -> None:
    both = creds(
        ai=GEN,
        signals=(
            signal("fullyGenAIMedia", GEN),
            signal("capturedMedia", AIDeclaration.CAPTURE, SignalLocation.PARENT),
        ),
    )
    assert len(derive_verdict(both).conflicts) == 1
    # capture in a component ingredient of an AI composite is normal, not a conflict
    composite = creds(
        ai=GEN,
        signals=(
            signal("fullyGenAIMedia", GEN),
            signal("capturedMedia", AIDeclaration.CAPTURE, SignalLocation.INGREDIENT),
        ),
    )
    assert derive_verdict(composite).conflicts == ()


def test_trust_caveats() -> None:
    none_loaded = derive_verdict(creds(snapshot=TrustSnapshot()))
    assert any("No trust list was loaded" in c for c in none_loaded.caveats)
    stale = derive_verdict(
        creds(snapshot=TrustSnapshot(lists=(TrustSource.OFFICIAL,), age_days=400))
    )
    assert any("400 days old" in c for c in stale.caveats)
    fresh = derive_verdict(creds())
    assert not any("days old" in c or "No trust list" in c for c in fresh.caveats)


def test_untrusted_ai_claim_is_called_a_claim() -> None:
    verdict = derive_verdict(creds(ai=GEN))
    assert any("a claim, not a verified fact" in c for c in verdict.caveats)
    assert "not on any loaded trust list" in verdict.summary
    trusted = derive_verdict(creds(trust=TrustStatus.TRUSTED, ai=GEN))
    assert "trusted through the legacy interim trust list" in trusted.summary


# --------------------------------------------------------------------------- recovered credentials

_VALUE = "ASNFZ4mrze8="
KEYED = WatermarkEvidence(
    detector="keyed",
    state=WatermarkState.DETECTED,
    mark="keyed:12345678",
    identifiers=(MarkIdentifier("io.github.provenance-checker.keyed-id.1", _VALUE),),
)


def recovered(
    found: CredentialsEvidence | None, state: RecoveryState = RecoveryState.RECOVERED
) -> RecoveredCredentials:
    return RecoveredCredentials(
        "io.github.provenance-checker.keyed-id.1",
        _VALUE,
        "repository repo.sqlite",
        state,
        manifest_id="urn:c2pa:recovered" if found else None,
        credentials=found,
        content_changed=True if found else None,
        message=None if found else "No manifest in repository repo.sqlite.",
    )


def test_recovered_ai_declaration_counts_when_the_file_has_none() -> None:
    found = replace(creds(trust=TrustStatus.TRUSTED, ai=GEN), active_manifest="urn:c2pa:recovered")
    verdict = derive_verdict(ABSENT, (KEYED,), (), (recovered(found),))
    assert verdict.code is V.AI_DECLARED
    assert set(verdict.labels) == {V.AI_DECLARED, V.CREDENTIALS_RECOVERED}
    assert "recovered through its watermark" in verdict.summary
    assert "Example Corp" in verdict.summary
    assert any("content changed since signing" in c for c in verdict.caveats)
    # the keyed mark speaks through its manifest: no separate AI-watermark label
    assert V.AI_WATERMARK not in verdict.labels


def test_valid_embedded_credentials_are_never_overridden() -> None:
    embedded = replace(creds(trust=TrustStatus.TRUSTED), active_manifest="urn:c2pa:embedded")
    found = replace(creds(trust=TrustStatus.TRUSTED, ai=GEN), active_manifest="urn:c2pa:other")
    verdict = derive_verdict(embedded, (KEYED,), (), (recovered(found),))
    assert V.CREDENTIALS_RECOVERED not in verdict.labels
    assert V.AI_DECLARED not in verdict.labels
    assert any("leads to another manifest" in c for c in verdict.conflicts)
    same = replace(found, active_manifest="urn:c2pa:embedded")
    assert derive_verdict(embedded, (KEYED,), (), (recovered(same),)).conflicts == ()


def test_an_identifier_without_manifest_is_reported_and_the_mark_stands() -> None:
    verdict = derive_verdict(ABSENT, (KEYED,), (), (recovered(None, RecoveryState.NOT_FOUND),))
    assert verdict.code is V.AI_WATERMARK
    assert any("no manifest for it was found" in c for c in verdict.caveats)
    rejected = recovered(None, RecoveryState.REJECTED)
    verdict = derive_verdict(ABSENT, (KEYED,), (), (rejected,))
    assert V.CREDENTIALS_RECOVERED not in verdict.labels
    assert any("could not be recovered" in c for c in verdict.caveats)


def test_recovered_capture_against_a_public_ai_mark_is_a_conflict() -> None:
    capture = signal("capturedMedia", AIDeclaration.CAPTURE)
    found = replace(
        creds(trust=TrustStatus.TRUSTED, ai=AIDeclaration.CAPTURE, signals=(capture,)),
        active_manifest="urn:c2pa:recovered",
    )
    verdict = derive_verdict(ABSENT, (KEYED, MARK), (), (recovered(found),))
    assert V.AI_WATERMARK in verdict.labels  # the public dwtDct mark
    assert V.CREDENTIALS_RECOVERED in verdict.labels
    assert any("camera capture" in c and "SDXL" in c for c in verdict.conflicts)


def test_a_second_recovered_manifest_that_differs_is_a_conflict() -> None:
    first = replace(creds(trust=TrustStatus.TRUSTED), active_manifest="urn:c2pa:first")
    second = replace(creds(trust=TrustStatus.TRUSTED, ai=GEN), active_manifest="urn:c2pa:second")
    other = replace(recovered(second), value="AAAAAAAAAAE=")
    verdict = derive_verdict(ABSENT, (KEYED,), (), (recovered(first), other))
    assert V.CREDENTIALS_RECOVERED in verdict.labels
    assert any("urn:c2pa:second" in c and "generative ai" in c for c in verdict.conflicts)
