"""Demo PKI, C2PA signing, tamper helpers and the sample corpus, checked with plain c2pa.Reader."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import c2pa
import cv2
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from datasets.sample_corpus import build_sample_corpus
from provenance.media import bmff
from provenance.testing import tamper
from provenance.testing.pki import (
    C2PA_EKU_OIDS,
    PKIFiles,
    generate_expired_pki,
    generate_pki,
)
from provenance.testing.signing import mime_type_for, sign_file
from provenance.testing.synth import write_clip, write_image
from provenance.watermark import SDXL, dwtdct_reference

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
OFFLINE = {"remote_manifest_fetch": False, "ocsp_fetch": False}
UNTRUSTED = "signingCredential.untrusted"


def reader_settings(pki: PKIFiles | None) -> dict[str, Any]:
    """The Context settings that make the demo root a trust anchor (or none at all)."""
    settings: dict[str, Any] = {"verify": dict(OFFLINE)}
    if pki is not None:
        settings["trust"] = {
            "user_anchors": pki.root_pem.read_text(encoding="ascii"),
            "trust_config": C2PA_EKU_OIDS,
        }
    return settings


def read(path: Path, pki: PKIFiles | None = None) -> tuple[str, list[str], dict[str, Any]]:
    """Return (validation state, failure codes, manifest store JSON) of ``path``."""
    context = c2pa.Context.from_dict(reader_settings(pki))
    with c2pa.Reader(str(path), context=context) as reader:
        results = reader.get_validation_results()
        failures = [item["code"] for item in results["activeManifest"]["failure"]]
        return reader.get_validation_state(), failures, json.loads(reader.json())


def active_actions(store: dict[str, Any]) -> list[dict[str, Any]]:
    manifest = store["manifests"][store["active_manifest"]]
    return [
        action
        for assertion in manifest["assertions"]
        if assertion["label"].startswith("c2pa.actions")
        for action in assertion["data"]["actions"]
    ]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sources")
    files = {
        suffix: write_clip(folder / f"clip{suffix}", seconds=0.5, seed=1)
        for suffix in (".mp4", ".mov", ".avi")
    }
    files.update(
        {suffix: write_image(folder / f"image{suffix}", seed=2) for suffix in (".jpg", ".png")}
    )
    return files


@pytest.fixture(scope="module")
def signed(
    sources: dict[str, Path], pki: PKIFiles, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("signed")
    return {
        suffix: sign_file(source, folder / f"signed{suffix}", pki=pki)
        for suffix, source in sources.items()
    }


# --------------------------------------------------------------------------- PKI


@pytest.mark.parametrize("algorithm", ["es256", "ps256"])
def test_pki_follows_the_c2pa_certificate_profile(tmp_path: Path, algorithm: str) -> None:
    files = generate_pki(tmp_path, algorithm=algorithm, name="Test Org")
    assert files.algorithm == algorithm
    chain = x509.load_pem_x509_certificates(files.chain_pem.read_bytes())
    root = x509.load_pem_x509_certificate(files.root_pem.read_bytes())
    assert len(chain) == 2
    signer, intermediate = chain
    assert signer.issuer == intermediate.subject
    assert intermediate.issuer == root.subject == root.issuer
    basic = signer.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.value.ca is False
    usage = signer.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.EMAIL_PROTECTION in eku
    assert {oid.dotted_string for oid in eku} <= set(C2PA_EKU_OIDS.split())
    for certificate in (signer, intermediate):
        certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
        assert certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert files.key_pem.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert files.signer_expires == signer.not_valid_after_utc


def test_pki_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="algorithm"):
        generate_pki(tmp_path, algorithm="rsa1024")
    with pytest.raises(ValueError, match="valid_days"):
        generate_pki(tmp_path, valid_days=0)
    with pytest.raises(ValueError, match="timezone"):
        generate_pki(tmp_path, now=dt.datetime(2025, 1, 1))


# --------------------------------------------------------------------------- signing


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".avi", ".jpg", ".png"])
def test_signed_file_is_trusted_with_the_root_and_valid_without(
    signed: dict[str, Path], pki: PKIFiles, suffix: str
) -> None:
    state, failures, store = read(signed[suffix], pki)
    assert (state, failures) == ("Trusted", [])
    assert active_actions(store) == [
        {"action": "c2pa.created", "digitalSourceType": IPTC + "trainedAlgorithmicMedia"}
    ]
    manifest = store["manifests"][store["active_manifest"]]
    assert manifest["claim_generator_info"][0]["name"] == "provenance-checker demo signer"
    assert manifest["title"] == signed[suffix].name

    state, failures, _ = read(signed[suffix])
    assert (state, failures) == ("Valid", [UNTRUSTED])


def test_ps256_signing(sources: dict[str, Path], tmp_path: Path) -> None:
    files = generate_pki(tmp_path / "pki", algorithm="ps256")
    output = sign_file(sources[".mp4"], tmp_path / "ps.mp4", pki=files)
    assert read(output, files)[:2] == ("Trusted", [])


def test_sign_without_digital_source_type(
    sources: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    output = sign_file(sources[".mp4"], tmp_path / "plain.mp4", pki=pki, digital_source_type=None)
    state, failures, store = read(output, pki)
    assert (state, failures) == ("Trusted", [])
    assert active_actions(store) == [{"action": "c2pa.created"}]


def test_sign_with_agent_title_and_extra_assertion(
    sources: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    work = {
        "@context": "https://schema.org",
        "@type": "CreativeWork",
        "author": [{"@type": "Person", "name": "Demo"}],
    }
    output = sign_file(
        sources[".jpg"],
        tmp_path / "agent.jpg",
        pki=pki,
        digital_source_type=IPTC + "digitalCapture",
        software_agent="demo camera 1.0",
        title="Holiday",
        extra_assertions=[{"label": "stds.schema-org.CreativeWork", "data": work}],
    )
    state, _, store = read(output, pki)
    assert state == "Trusted"
    manifest = store["manifests"][store["active_manifest"]]
    assert manifest["title"] == "Holiday"
    assert active_actions(store)[0]["softwareAgent"] == {"name": "demo camera 1.0"}
    labels = {assertion["label"] for assertion in manifest["assertions"]}
    assert "stds.schema-org.CreativeWork" in labels


def test_parent_ingredient_keeps_the_history(
    signed: dict[str, Path], sources: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    output = sign_file(
        sources[".mp4"],
        tmp_path / "edited.mp4",
        pki=pki,
        action="c2pa.edited",
        digital_source_type=IPTC + "compositeWithTrainedAlgorithmicMedia",
        parent=signed[".mp4"],
    )
    state, failures, store = read(output, pki)
    assert (state, failures) == ("Trusted", [])
    assert len(store["manifests"]) == 2
    actions = active_actions(store)
    assert [action["action"] for action in actions] == ["c2pa.opened", "c2pa.edited"]
    assert actions[1]["digitalSourceType"] == IPTC + "compositeWithTrainedAlgorithmicMedia"
    (ingredient,) = store["manifests"][store["active_manifest"]]["ingredients"]
    assert ingredient["relationship"] == "parentOf"
    assert ingredient["active_manifest"] in store["manifests"]


def test_signing_errors_are_value_errors_naming_the_file(
    sources: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    webm = write_clip(tmp_path / "clip.webm", seconds=0.2, codec="libvpx")
    with pytest.raises(ValueError, match=r"clip\.webm"):
        sign_file(webm, tmp_path / "out.webm", pki=pki)  # unknown suffix
    with pytest.raises(ValueError, match=r"clip\.webm.*NotSupported"):
        sign_file(webm, tmp_path / "out.webm", pki=pki, mime_type="video/webm")
    assert not (tmp_path / "out.webm").exists()
    with pytest.raises(ValueError, match="needs parent"):
        sign_file(sources[".mp4"], tmp_path / "out.mp4", pki=pki, action="c2pa.edited")
    with pytest.raises(ValueError, match="differ"):
        sign_file(sources[".mp4"], sources[".mp4"], pki=pki)
    with pytest.raises(ValueError, match="not a file"):
        sign_file(tmp_path / "missing.mp4", tmp_path / "out.mp4", pki=pki)
    assert mime_type_for(Path("x.MOV")) == "video/quicktime"


def test_c2pa_refuses_to_sign_with_an_expired_certificate(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    expired = generate_expired_pki(tmp_path / "pki")
    assert expired.signer_expires < dt.datetime.now(dt.UTC)
    with pytest.raises(ValueError, match="the signing certificate expired on"):
        sign_file(sources[".jpg"], tmp_path / "expired.jpg", pki=expired)


def test_signer_that_expired_after_signing_is_invalid(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    short = generate_pki(tmp_path / "pki", valid_for=dt.timedelta(seconds=2))
    output = sign_file(sources[".jpg"], tmp_path / "short.jpg", pki=short)
    assert read(output, short)[:2] == ("Trusted", [])
    wait = (short.signer_expires - dt.datetime.now(dt.UTC)).total_seconds() + 1.1
    time.sleep(max(0.0, wait))
    state, failures, _ = read(output, short)
    assert state == "Invalid"
    assert "signingCredential.expired" in failures


# --------------------------------------------------------------------------- tampering

Tamper = Callable[[Path, Path], Path]
EXPECTED_TAMPER: list[tuple[str, str, Tamper, list[str]]] = [
    ("mdat", ".mp4", tamper.flip_mdat_byte, ["assertion.bmffHash.mismatch"]),
    ("mdat-start", ".mov", lambda s, d: tamper.flip_mdat_byte(s, d, offset_fraction=0.0),
     ["assertion.bmffHash.mismatch"]),
    ("moov", ".mp4", tamper.flip_moov_byte, ["assertion.bmffHash.mismatch"]),
    ("moov", ".mov", tamper.flip_moov_byte, ["assertion.bmffHash.mismatch"]),
    ("truncate", ".mp4", lambda s, d: tamper.truncate(s, d, keep_fraction=0.5),
     ["assertion.bmffHash.mismatch"]),
    ("truncate-eoi", ".jpg", lambda s, d: tamper.truncate(s, d, keep_fraction=0.999),
     ["assertion.dataHash.mismatch"]),
    ("scan", ".jpg", tamper.flip_jpeg_scan_byte, ["assertion.dataHash.mismatch"]),
    ("claim", ".mp4", tamper.damage_manifest, ["claimSignature.mismatch"]),
    ("claim", ".jpg", tamper.damage_manifest, ["claimSignature.mismatch"]),
    ("claim", ".png", tamper.damage_manifest, ["claimSignature.mismatch"]),
    ("signature", ".mov", lambda s, d: tamper.damage_manifest(s, d, target="signature"),
     ["claimSignature.mismatch"]),
    ("assertion", ".jpg", lambda s, d: tamper.damage_manifest(s, d, target="assertion"),
     ["assertion.hashedURI.mismatch", "assertion.action.malformed"]),
    ("middle", ".jpg", lambda s, d: tamper.damage_manifest(s, d, target="middle"),
     ["assertion.hashedURI.mismatch"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("suffix", "damage", "codes"),
    [pytest.param(suffix, damage, codes, id=f"{name}{suffix}")
     for name, suffix, damage, codes in EXPECTED_TAMPER],
)  # fmt: skip
def test_tamper_helpers_give_the_documented_failures(
    signed: dict[str, Path],
    pki: PKIFiles,
    tmp_path: Path,
    suffix: str,
    damage: Tamper,
    codes: list[str],
) -> None:
    source = signed[suffix]
    before = sha256(source)
    output = damage(source, tmp_path / f"damaged{suffix}")
    assert output == tmp_path / f"damaged{suffix}"
    assert sha256(source) == before, "the input must never be modified"
    assert sha256(output) != before
    for anchors in (pki, None):
        state, failures, _ = read(output, anchors)
        assert state == "Invalid"
        assert [code for code in failures if code != UNTRUSTED] == codes


@pytest.mark.parametrize(
    ("suffix", "damage", "error"),
    [
        (".mp4", lambda s, d: tamper.damage_manifest(s, d, target="middle"), "Signature"),
        (".mp4", lambda s, d: tamper.truncate(s, d, keep_fraction=0.0005), "Box size"),
        (".jpg", lambda s, d: tamper.truncate(s, d, keep_fraction=0.5), "Could not parse"),
    ],
    ids=["middle.mp4", "truncate-in-manifest.mp4", "truncate.jpg"],
)
def test_tamper_helpers_that_make_c2pa_raise(
    signed: dict[str, Path], pki: PKIFiles, tmp_path: Path, suffix: str, damage: Tamper, error: str
) -> None:
    output = damage(signed[suffix], tmp_path / f"damaged{suffix}")
    with pytest.raises(c2pa.C2paError, match=error):
        read(output, pki)


def test_tamper_helpers_reject_unsuitable_input(
    signed: dict[str, Path], sources: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="mdat"):
        tamper.flip_mdat_byte(signed[".jpg"], tmp_path / "x.jpg")
    with pytest.raises(ValueError, match="not a JPEG"):
        tamper.flip_jpeg_scan_byte(signed[".mp4"], tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="no embedded C2PA manifest"):
        tamper.damage_manifest(sources[".mp4"], tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="keep_fraction"):
        tamper.truncate(signed[".mp4"], tmp_path / "x.mp4", keep_fraction=1.0)
    with pytest.raises(ValueError, match="target"):
        tamper.damage_manifest(signed[".mp4"], tmp_path / "x.mp4", target="header")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_iter_boxes_reads_largesize_boxes() -> None:
    payload = b"\x00" * 20
    data = (
        (8 + 12).to_bytes(4, "big") + b"ftyp" + b"isom\x00\x00\x00\x00mp41"
        + (1).to_bytes(4, "big") + b"mdat" + (16 + len(payload)).to_bytes(8, "big") + payload
        + (0).to_bytes(4, "big") + b"free" + b"tail"
    )  # fmt: skip
    boxes = list(bmff.iter_boxes(data))
    assert [(box.box_type, box.header_size) for box in boxes] == [
        ("ftyp", 8),
        ("mdat", 16),
        ("free", 8),
    ]
    assert boxes[1].end - boxes[1].payload_offset == len(payload)
    assert boxes[2].end == len(data)


# --------------------------------------------------------------------------- sample corpus


def test_sample_corpus_files_are_what_the_manifest_says(tmp_path: Path) -> None:
    import av

    written = build_sample_corpus(tmp_path, seed=7)
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text(encoding="utf-8"))
    assert written[-1] == tmp_path / "MANIFEST.json"
    assert manifest["seed"] == 7
    names = [entry["path"] for entry in manifest["files"]]
    assert names == [
        "ai_generated_signed.mp4",
        "ai_generated_tampered.mp4",
        "ai_edited_with_history.mp4",
        "camera_signed.jpg",
        "ai_generated_stripped.mp4",
        "unsigned.mp4",
        "unsupported_container.webm",
        "sdxl_watermarked.png",
        "keyed_watermarked.mp4",
        "camera_signed_sdxl_watermarked.png",
    ]
    root = tmp_path / manifest["trust_anchor"]
    anchors = PKIFiles(
        root_pem=root,
        chain_pem=tmp_path / manifest["signer_chain"],
        key_pem=root,  # unused by the reader
        algorithm="es256",
        signer_expires=dt.datetime.now(dt.UTC),
    )
    for entry in manifest["files"]:
        path = tmp_path / entry["path"]
        expected = entry["expected"]
        assert path.stat().st_size == entry["bytes"]
        if path.suffix in {".mp4", ".webm"}:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                assert (stream.width, stream.height) == (640, 360)
        if path.suffix == ".png":
            assert (
                dwtdct_reference.decode(cv2.imread(str(path)), SDXL)[0].z > 30
            )  # float32-bgr first
        if expected["c2pa_state"] == "NotSupported":
            with pytest.raises(c2pa.C2paError.NotSupported):
                read(path, anchors)
            continue
        if expected["c2pa_state"] is None:
            context = c2pa.Context.from_dict(reader_settings(None))
            assert c2pa.Reader.try_create(str(path), context=context) is None
            continue
        if expected["c2pa_state"] == "Valid":  # signed by a certificate outside pki/
            state, failures, store = read(path)
            assert state == "Valid", entry["path"]
            continue
        state, failures, store = read(path, anchors)
        assert state == expected["c2pa_state"], entry["path"]
        assert failures == expected["failure_codes"], entry["path"]
        assert len(store["manifests"]) == expected["manifest_count"]
        declared = {action.get("digitalSourceType") for action in active_actions(store)}
        assert expected["digital_source_type"] in declared
        ai_terms = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")
        assert any(str(dst).endswith(ai_terms) for dst in declared) == expected["ai_declared"]
    signed = read(tmp_path / "ai_generated_signed.mp4", anchors)[2]
    agents = [action.get("softwareAgent") for action in active_actions(signed)]
    assert {"name": "provenance-checker demo generator"} in agents
    assert read(tmp_path / "ai_generated_signed.mp4")[:2] == ("Valid", [UNTRUSTED])
