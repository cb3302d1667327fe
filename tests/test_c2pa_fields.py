"""C2PA fields right on real files (issue 15): a PDF is a document without frames, not a
failed file; a remote manifest not fetched declares AI "unknown"; the SDK's trust in the
active signer is the report's trust even when a hash fails or an ingredient expired; a JPEG
carrying its manifest store twice is altered even though the SDK validates the first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provenance import CheckOptions, check
from provenance.media.jpeg_stores import jpeg_app11_ranges, jpeg_stores
from provenance.report import (
    AIDeclaration,
    Integrity,
    Report,
    TrustSource,
    TrustStatus,
    VerdictCode,
    WatermarkState,
)
from provenance.testing.pki import generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import write_image
from tests.conftest import require_shared

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _fixture(name: str) -> Path:
    return require_shared() / "fixtures" / "c2pa" / name


def _with_lists() -> CheckOptions:
    return CheckOptions(credentials_only=True, trust_dir=require_shared() / "trust")


def test_a_pdf_is_a_document_without_frames_not_an_error(tmp_path: Path) -> None:
    plain = tmp_path / "letter.pdf"
    plain.write_bytes(PDF)
    report = check(plain)
    assert report.errors == ()
    assert VerdictCode.ERROR not in report.verdict.labels
    assert report.verdict.code is VerdictCode.NO_SIGNAL
    (mark,) = report.watermarks
    assert mark.state is WatermarkState.NOT_CHECKED
    assert mark.message == "a PDF document has no frames to look at."
    done = subprocess.run(
        [sys.executable, "-m", "provenance", "check", str(plain)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_signed_pdf_gives_its_credentials(tmp_path: Path) -> None:
    plain = tmp_path / "letter.pdf"
    plain.write_bytes(PDF)
    pki = generate_pki(tmp_path / "pki")
    signed = sign_file(plain, tmp_path / "signed.pdf", pki=pki, mime_type="application/pdf")
    report = check(
        signed,
        CheckOptions(
            extra_anchors=(tmp_path / "pki" / "root.pem",), trust_dir=tmp_path / "no-lists"
        ),
    )
    assert report.errors == ()
    assert report.credentials.integrity is Integrity.INTACT
    assert report.credentials.trust is TrustStatus.TRUSTED
    assert report.verdict.code is VerdictCode.AI_DECLARED


def test_a_remote_manifest_not_fetched_declares_ai_unknown_and_old_reports_still_read() -> None:
    report = check(_fixture("cloud.jpg"), CheckOptions(credentials_only=True))
    assert report.credentials.ai_declaration is AIDeclaration.UNKNOWN
    assert report.schema_version == "1.6"
    old = report.to_dict()  # a report written before 1.6 said "none"
    old["schema_version"] = "1.5"
    old["credentials"]["ai_declaration"] = "none"
    read = Report.from_dict(old)
    assert read.credentials.ai_declaration is AIDeclaration.NONE
    assert read.schema_version == "1.5"


def test_the_sdk_s_trust_in_the_signer_holds_when_the_claim_is_malformed() -> None:
    # testv2.jpg: the SDK reports signingCredential.trusted (interim list) and claim.malformed
    report = check(_fixture("testv2.jpg"), _with_lists())
    codes = {(c.code, c.kind.value) for c in report.credentials.validation_codes}
    assert ("signingCredential.trusted", "success") in codes
    assert report.credentials.integrity is Integrity.MALFORMED
    assert report.credentials.trust is TrustStatus.TRUSTED
    assert report.credentials.trust_source is TrustSource.INTERIM


def test_an_expired_ingredient_does_not_make_the_active_signer_invalid() -> None:
    report = check(_fixture("PTS_INVALID_INGREDIENT.mp4"), _with_lists())
    assert report.credentials.trust is TrustStatus.TRUSTED
    assert report.credentials.trust_source is TrustSource.INTERIM
    assert any("signingCredential.expired" in c for c in report.verdict.caveats)
    # the negative side: an expired active signer still is invalid
    nikon = check(_fixture("nikon-20221019-building.jpeg"), _with_lists())
    assert nikon.credentials.trust is TrustStatus.SIGNER_INVALID


def _duplicated(source: Path, destination: Path) -> Path:
    """The file with its whole manifest store (every APP11 segment) written twice."""
    data = source.read_bytes()
    ranges = jpeg_app11_ranges(data)
    start, end = ranges[0][0], ranges[-1][1]
    destination.write_bytes(data[:end] + data[start:end] + data[end:])
    return destination


@pytest.mark.parametrize("source", ["bing", "ours"])
def test_a_jpeg_with_its_store_twice_is_altered(source: str, tmp_path: Path) -> None:
    if source == "bing":  # the fuzzer's false intact: the SDK validates the first store
        original = _fixture("bing_creator_cloud_surfing_puppy.jpg")
        options = _with_lists()
    else:
        pki = generate_pki(tmp_path / "pki")
        image = write_image(tmp_path / "still.jpg")
        original = sign_file(image, tmp_path / "signed.jpg", pki=pki)
        options = CheckOptions(
            credentials_only=True,
            extra_anchors=(tmp_path / "pki" / "root.pem",),
            trust_dir=tmp_path / "no-lists",
        )
    clean = check(original, options)
    assert jpeg_stores(original).extra is False  # the negative side: one store, intact
    assert clean.credentials.integrity is Integrity.INTACT
    twice = _duplicated(original, tmp_path / "twice.jpg")
    assert jpeg_stores(twice).extra is True
    report = check(twice, options)
    assert report.credentials.integrity is Integrity.TAMPERED
    assert report.verdict.code is VerdictCode.CREDENTIALS_TAMPERED
    extra = [c for c in report.credentials.validation_codes if c.code.startswith("provenance.")]
    assert [c.code for c in extra] == ["provenance.manifestStore.extra"]
    assert "more than one C2PA manifest store" in extra[0].explanation
