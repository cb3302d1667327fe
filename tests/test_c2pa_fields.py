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
from provenance.credentials.trust import load_trust
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
from provenance.testing.pki import PKIFiles, generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import write_image
from tests.conftest import require_shared

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


_MICROSOFT_SIGNING = "1.3.6.1.4.1.311.76.59.1.9"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("pki"))


def _lists(shared_dir: Path) -> CheckOptions:
    return CheckOptions(trust_dir=shared_dir / "trust", credentials_only=True)


def _no_lists(tmp_path: Path) -> CheckOptions:
    return CheckOptions(trust_dir=tmp_path / "no-trust", credentials_only=True)


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


def _sign_unchecked(source: Path, destination: Path, pki: PKIFiles) -> Path:
    """Sign with c2pa directly, without its check after signing (which refuses a certificate
    outside its own EKU profile), to make a file a real signer with that certificate makes."""
    import c2pa

    manifest = {
        "claim_generator": "provenance-checker tests",
        "title": destination.name,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": "http://cv.iptc.org/newscodes/"
                            "digitalsourcetype/digitalCapture",
                        }
                    ]
                },
            }
        ],
    }
    signer = c2pa.Signer.from_info(
        c2pa.C2paSignerInfo(
            c2pa.C2paSigningAlg.ES256, pki.chain_pem.read_bytes(), pki.key_pem.read_bytes(), None
        )
    )
    context = c2pa.Context.from_dict({"verify": {"verify_after_sign": False}})
    with (
        c2pa.Builder(manifest, context=context) as builder,
        source.open("rb") as stream,
        destination.open("w+b") as output,
    ):
        builder.sign(signer, "image/jpeg", stream, output)
    return destination


def test_no_trust_list_applies_no_eku_configuration(tmp_path: Path, pki: PKIFiles) -> None:
    """A certificate whose only EKU is Microsoft's signing OID: the SDK's own profile rejects
    it ("certificate missing required EKU"); the interim EKU configuration accepts it. With no
    trust list loaded that configuration is not applied (it was: the file read Valid)."""
    picture = write_image(tmp_path / "plain.jpg", width=64, height=48)
    microsoft = generate_pki(tmp_path / "ms", signer_ekus=[_MICROSOFT_SIGNING])
    unusual = _sign_unchecked(picture, tmp_path / "ms.jpg", microsoft)
    conforming = sign_file(picture, tmp_path / "ok.jpg", pki=pki)

    c = check(unusual, _no_lists(tmp_path)).credentials
    assert c.validation_state == "Invalid"
    assert c.trust is TrustStatus.SIGNER_INVALID
    invalid = [v for v in c.validation_codes if v.code == "signingCredential.invalid"]
    assert invalid
    assert "EKU" in (invalid[0].detail or "")
    assert "trust_config" not in load_trust(tmp_path / "no-trust").c2pa_settings()["trust"]
    # the conforming certificate is unaffected: intact, untrusted
    ok = check(conforming, _no_lists(tmp_path)).credentials
    assert (ok.validation_state, ok.integrity, ok.trust) == (
        "Valid",
        Integrity.INTACT,
        TrustStatus.UNTRUSTED,
    )
    # with a trust list loaded the EKU configuration applies: the same file is trusted
    anchored = CheckOptions(
        trust_dir=tmp_path / "no-trust", extra_anchors=(microsoft.root_pem,), credentials_only=True
    )
    c = check(unusual, anchored).credentials
    assert (c.validation_state, c.trust, c.trust_source) == (
        "Trusted",
        TrustStatus.TRUSTED,
        TrustSource.USER,
    )


def test_a_certificate_valid_only_through_its_timestamp_says_so(shared_dir: Path) -> None:
    """testv2.jpg's signer certificate expired on 2025-10-15; with the lists its timestamp is
    trusted and the SDK accepts the signature (claimSignature.insideValidity)."""
    from provenance.render.html import render_evidence_html
    from provenance.render.rows import credentials_rows, detail_lines

    report = check(_fixture("testv2.jpg"), _lists(shared_dir))
    c = report.credentials
    assert c.certificate_expired_at == "2025-10-15T23:59:59+00:00"
    assert "signingCredential.expired" not in {v.code for v in c.validation_codes}
    caveat = next(x for x in report.verdict.caveats if "expired on 2025-10-15" in x)
    assert "timestamp (2025-04-01T20:59:27+00:00)" in caveat
    assert ("note", f"note: {caveat}") in detail_lines(report)  # terminal and the page
    assert "valid through its timestamp" in dict(credentials_rows(report))["Certificate"]
    assert "expired on 2025-10-15" in render_evidence_html([report])
    # a certificate still valid (C.jpg's runs to 2030): nothing to say
    valid = check(_fixture("C.jpg"), _lists(shared_dir))
    assert valid.credentials.certificate_expired_at is None
    assert not any("expired on" in x for x in valid.verdict.caveats)


def test_an_untrusted_timestamp_leaves_the_certificate_expired(
    shared_dir: Path, tmp_path: Path
) -> None:
    c = check(_fixture("testv2.jpg"), _no_lists(tmp_path)).credentials
    assert "signingCredential.expired" in {v.code for v in c.validation_codes}
    assert c.trust is TrustStatus.SIGNER_INVALID
    assert c.certificate_expired_at is None


def test_store_counting_reads_damaged_jpegs_without_failing(tmp_path: Path) -> None:
    data = _fixture("C.jpg").read_bytes()
    ranges = jpeg_app11_ranges(data)
    cases = {
        "cut inside the store": data[: ranges[0][0] + 20],
        "zero length": data[:2] + b"\xff\xeb\x00\x00" + data[2:],
        "not a jpeg": b"GIF89a" + data[6:],
        "empty": b"",
    }
    for name, content in cases.items():
        path = tmp_path / "damaged.jpg"
        path.write_bytes(content)
        assert jpeg_stores(path).extra is False, name
