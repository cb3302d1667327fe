"""End to end through ``check()``: clips made with PyAV, signed with a PKI made at test time,
then damaged the ways a verifier must catch. Stands alone (no ../shared needed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import pytest

from provenance import CheckOptions, check, check_bytes
from provenance.report import (
    AIDeclaration,
    CredentialsState,
    Integrity,
    Report,
    SignalLocation,
    TrustSource,
    TrustStatus,
    VerdictCode,
)
from provenance.testing.pki import PKIFiles, generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import write_clip, write_image
from provenance.testing.tamper import (
    damage_manifest,
    flip_jpeg_scan_byte,
    flip_mdat_byte,
    flip_moov_byte,
    truncate,
)
from provenance.watermark.options import WatermarkOptions

CAPTURE = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
COMPOSITE_AI = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, pki: PKIFiles) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("signed")
    made = {}
    for suffix in (".mp4", ".mov", ".m4v", ".avi"):
        clip = write_clip(folder / f"plain{suffix}", seconds=1.0, seed=3)
        made[suffix] = sign_file(clip, folder / f"ai{suffix}", pki=pki)
    for suffix in (".jpg", ".png"):
        image = write_image(folder / f"plain{suffix}", seed=4)
        made[suffix] = sign_file(image, folder / f"ai{suffix}", pki=pki)
    return made


def anchored(pki: PKIFiles) -> CheckOptions:
    return CheckOptions(extra_anchors=(pki.root_pem,))


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".m4v", ".avi", ".jpg", ".png"])
def test_signed_ai_clip_with_and_without_the_anchor(
    suffix: str, signed: dict[str, Path], pki: PKIFiles
) -> None:
    trusted = check(signed[suffix], anchored(pki))
    c = trusted.credentials
    assert (c.state, c.integrity, c.trust, c.trust_source) == (
        CredentialsState.PRESENT,
        Integrity.INTACT,
        TrustStatus.TRUSTED,
        TrustSource.USER,
    )
    assert c.ai_declaration is AIDeclaration.GENERATIVE_AI
    assert c.ai_signals[0].location is SignalLocation.ACTIVE
    assert c.signer is not None
    assert c.signer.issuer == "provenance-checker demo"
    assert trusted.verdict.code is VerdictCode.AI_DECLARED
    assert trusted.verdict.labels == (VerdictCode.AI_DECLARED,)
    assert trusted.errors == ()
    assert trusted.media is not None
    assert trusted.media.width == 320

    untrusted = check(signed[suffix])
    assert untrusted.credentials.trust is TrustStatus.UNTRUSTED
    assert untrusted.verdict.labels == (VerdictCode.AI_DECLARED, VerdictCode.CREDENTIALS_UNTRUSTED)


def test_unsigned_clip_has_no_signal(tmp_path: Path) -> None:
    report = check(write_clip(tmp_path / "plain.mp4", seconds=0.5))
    assert report.credentials.state is CredentialsState.ABSENT
    assert report.verdict.code is VerdictCode.NO_SIGNAL
    assert any("proves nothing" in caveat for caveat in report.verdict.caveats)


def _assert_tampered(report: Report, *codes: str) -> None:
    c = report.credentials
    assert c.integrity is Integrity.TAMPERED, (c.integrity, c.message)
    failures = {v.code for v in c.validation_codes if v.kind.value == "failure"}
    assert set(codes) <= failures
    assert report.verdict.code is VerdictCode.CREDENTIALS_TAMPERED
    assert VerdictCode.CREDENTIALS_VALID_NO_AI not in report.verdict.labels


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_flipped_mdat_byte(
    suffix: str, signed: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    for fraction in (0.01, 0.5, 0.99):
        damaged = flip_mdat_byte(
            signed[suffix], tmp_path / f"mdat{suffix}", offset_fraction=fraction
        )
        _assert_tampered(check(damaged, anchored(pki)), "assertion.bmffHash.mismatch")


def test_flipped_moov_byte(signed: dict[str, Path], pki: PKIFiles, tmp_path: Path) -> None:
    damaged = flip_moov_byte(signed[".mp4"], tmp_path / "moov.mp4")
    report = check(damaged, anchored(pki))
    _assert_tampered(report, "assertion.bmffHash.mismatch")
    assert report.errors == ()  # the clip itself still plays


def test_truncated_signed_clip(signed: dict[str, Path], pki: PKIFiles, tmp_path: Path) -> None:
    damaged = truncate(signed[".mp4"], tmp_path / "cut.mp4", keep_fraction=0.6)
    report = check(damaged, anchored(pki))
    _assert_tampered(report, "assertion.bmffHash.mismatch")
    # a cut among the first boxes: the container cannot be parsed, so whether it carries
    # credentials is unknown ("not checked", never "present but unreadable")
    stub = truncate(signed[".mp4"], tmp_path / "stub.mp4", keep_fraction=0.0005)
    report = check(stub, anchored(pki))
    assert report.credentials.state is CredentialsState.NOT_CHECKED
    assert report.credentials.message is not None
    assert "damaged or truncated" in report.credentials.message
    assert VerdictCode.ERROR in report.verdict.labels
    assert report.errors[0].stage == "media"


@pytest.mark.parametrize("suffix", [".mp4", ".jpg", ".png"])
def test_damaged_manifest(
    suffix: str, signed: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    for target in ("claim", "signature"):
        damaged = damage_manifest(signed[suffix], tmp_path / f"{target}{suffix}", target=target)
        _assert_tampered(check(damaged, anchored(pki)), "claimSignature.mismatch")
    damaged = damage_manifest(signed[suffix], tmp_path / f"assertion{suffix}", target="assertion")
    _assert_tampered(check(damaged, anchored(pki)), "assertion.hashedURI.mismatch")


def test_manifest_damage_that_breaks_parsing_is_corrupt_not_a_crash(
    signed: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    damaged = damage_manifest(signed[".mp4"], tmp_path / "middle.mp4", target="middle")
    report = check(damaged, anchored(pki))
    c = report.credentials
    assert c.state in (CredentialsState.CORRUPT, CredentialsState.PRESENT)
    assert c.integrity in (Integrity.MALFORMED, Integrity.TAMPERED)
    assert report.verdict.code in (
        VerdictCode.CREDENTIALS_INVALID,
        VerdictCode.CREDENTIALS_TAMPERED,
    )
    if c.state is CredentialsState.CORRUPT:
        assert "could not be read" in (c.message or "")


def test_edited_jpeg_pixels(signed: dict[str, Path], pki: PKIFiles, tmp_path: Path) -> None:
    damaged = flip_jpeg_scan_byte(signed[".jpg"], tmp_path / "edited.jpg")
    _assert_tampered(check(damaged, anchored(pki)), "assertion.dataHash.mismatch")


def test_expired_signer(tmp_path: Path) -> None:
    short = generate_pki(tmp_path / "short", valid_for=dt.timedelta(seconds=2))
    clip = write_clip(tmp_path / "clip.mp4", seconds=0.5)
    signed = sign_file(clip, tmp_path / "signed.mp4", pki=short)
    time.sleep(max(0.0, (short.signer_expires - dt.datetime.now(dt.UTC)).total_seconds()) + 1.5)
    report = check(signed, anchored(short))
    assert report.credentials.trust is TrustStatus.SIGNER_INVALID
    assert report.credentials.integrity is Integrity.INTACT
    assert report.verdict.code is VerdictCode.AI_DECLARED
    assert VerdictCode.CREDENTIALS_INVALID in report.verdict.labels
    assert any("claim, not a verified fact" in c for c in report.verdict.caveats)


def test_history_with_a_captured_parent(pki: PKIFiles, tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "camera.mp4", seconds=0.5)
    captured = sign_file(clip, tmp_path / "captured.mp4", pki=pki, digital_source_type=CAPTURE)
    edited = sign_file(
        captured,
        tmp_path / "edited.mp4",
        pki=pki,
        action="c2pa.edited",
        digital_source_type=COMPOSITE_AI,
        parent=captured,
        software_agent="Example Inpainter",
    )
    report = check(edited, anchored(pki))
    c = report.credentials
    assert c.manifest_count == 2
    assert [m.location for m in c.history] == [SignalLocation.ACTIVE, SignalLocation.PARENT]
    assert c.ai_declaration is AIDeclaration.CONTAINS_AI
    assert {s.signal for s in c.ai_signals} >= {"partlyGenAICreation", "capturedMedia"}
    assert report.verdict.code is VerdictCode.AI_EDITED
    assert report.verdict.conflicts == ()  # an AI edit of a capture is not a contradiction


def test_check_bytes_matches_check(signed: dict[str, Path], pki: PKIFiles) -> None:
    path = signed[".mp4"]
    from_bytes = check_bytes(path.read_bytes(), name="upload.mp4", options=anchored(pki))
    from_path = check(path, anchored(pki))
    assert from_bytes.path == "upload.mp4"
    assert from_bytes.sha256 == from_path.sha256
    assert from_bytes.verdict.code is from_path.verdict.code is VerdictCode.AI_DECLARED


def test_sample_corpus_gives_the_documented_verdicts(demo_corpus: Path) -> None:
    manifest = json.loads((demo_corpus / "MANIFEST.json").read_text())
    options = CheckOptions(extra_anchors=(demo_corpus / manifest["trust_anchor"],))
    seen = set()
    for entry in manifest["files"]:
        chosen = options
        if "key_file" in entry:
            key = (demo_corpus / entry["key_file"]).read_text().strip()
            chosen = dataclasses.replace(options, watermarks=WatermarkOptions(keys=(key,)))
            without_key = check(demo_corpus / entry["path"], options)
            assert without_key.verdict.code is VerdictCode.NO_SIGNAL
        if "repository" in entry:
            chosen = dataclasses.replace(chosen, repository=demo_corpus / entry["repository"])
        report = check(demo_corpus / entry["path"], chosen)
        assert report.verdict.code.value == entry["expected"]["verdict"], entry["path"]
        assert bool(report.verdict.conflicts) == entry["expected"].get("conflict", False)
        assert report.errors == ()
        seen.add(report.verdict.code)
    assert {
        VerdictCode.AI_DECLARED,
        VerdictCode.AI_WATERMARK,
        VerdictCode.CREDENTIALS_TAMPERED,
        VerdictCode.NO_SIGNAL,
    } <= seen


def test_trust_source_attribution_with_every_source_loaded(
    signed: dict[str, Path], pki: PKIFiles, shared_dir: Path
) -> None:
    options = CheckOptions(trust_dir=shared_dir / "trust", extra_anchors=(pki.root_pem,))
    ours = check(signed[".jpg"], options)
    dalle = check(shared_dir / "fixtures" / "c2pa" / "DALL-E_cloud_surfing_puppy.webp", options)
    assert (ours.credentials.trust, ours.credentials.trust_source) == (
        TrustStatus.TRUSTED,
        TrustSource.USER,
    )
    assert (dalle.credentials.trust, dalle.credentials.trust_source) == (
        TrustStatus.TRUSTED,
        TrustSource.INTERIM,
    )
    snapshot = ours.credentials.trust_snapshot
    assert snapshot is not None
    assert snapshot.lists == (TrustSource.OFFICIAL, TrustSource.INTERIM, TrustSource.USER)
    # the second file by the same signing certificate is attributed from the per-signer cache
    again = [check(signed[suffix], options).credentials for suffix in (".png", ".mp4", ".jpg")]
    assert {(c.trust, c.trust_source) for c in again} == {(TrustStatus.TRUSTED, TrustSource.USER)}
    untrusted = check(signed[".jpg"], CheckOptions(trust_dir=shared_dir / "trust"))
    assert untrusted.credentials.trust is TrustStatus.UNTRUSTED  # cache is keyed by trust material
