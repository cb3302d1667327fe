"""``provenance sign``: real c2pa-python signatures with a PKI made here, checked back with
``provenance.check``, kept in a real repository; bad keys and certificates get clear errors
that never show key material."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from provenance import CheckOptions, check
from provenance.credentials.signing import (
    SigningError,
    key_algorithm,
    sign_media,
    source_type_uri,
)
from provenance.errors import ArgumentError
from provenance.report import VerdictCode
from provenance.repository import ManifestRepository
from provenance.testing.pki import PKIFiles, generate_expired_pki, generate_pki
from provenance.testing.synth import write_clip, write_image


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("other"), algorithm="ed25519")


def _sign_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "provenance", "sign", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        check=False,
    )


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".jpg", ".png", ".webp"])
def test_a_signed_file_is_read_back_as_ai_declared_and_kept_in_the_repository(
    tmp_path: Path, pki: PKIFiles, suffix: str
) -> None:
    source = tmp_path / f"made{suffix}"
    if suffix in (".mp4", ".mov"):
        write_clip(source, seconds=0.5)
    else:
        write_image(source)
    signed = tmp_path / f"signed{suffix}"
    repo = tmp_path / "repo.db"
    run = _sign_cli(
        str(source),
        str(signed),
        "--cert",
        str(pki.chain_pem),
        "--private-key",
        str(pki.key_pem),
        "--generator",
        "Example video model 2",
        "--title",
        "A generated clip",
        "-r",
        str(repo),
    )
    assert run.returncode == 0, run.stderr
    assert f"signed {signed} (manifest urn:c2pa:" in run.stdout
    report = check(signed, CheckOptions(extra_anchors=(pki.root_pem,)))
    assert report.verdict.code is VerdictCode.AI_DECLARED
    assert report.credentials.signer is not None
    with ManifestRepository(repo, create=False) as kept:
        (entry,) = kept.entries()
        assert entry.title == "A generated clip"
        assert entry.added_by == "provenance sign"
        assert entry.manifest_id in run.stdout


def test_soft_bindings_are_declared_and_indexed(tmp_path: Path, pki: PKIFiles) -> None:
    signed = sign_media(
        write_image(tmp_path / "a.png"),
        tmp_path / "b.png",
        chain_pem=pki.chain_pem.read_bytes(),
        private_key_pem=pki.key_pem.read_bytes(),
        soft_bindings=[("io.example.mark.1", "AAECAwQFBgc=")],
    )
    with ManifestRepository(tmp_path / "repo.db") as repo:
        repo.add(signed.store, added_by="test")
        (found,) = repo.by_binding("io.example.mark.1", "AAECAwQFBgc=")
        assert found.manifest_id == signed.manifest_id
    report = check(signed.path)
    assert [(b.algorithm, b.value) for b in report.credentials.soft_bindings] == [
        ("io.example.mark.1", "AAECAwQFBgc=")
    ]


def test_a_key_that_does_not_match_the_certificate_is_refused(
    tmp_path: Path, pki: PKIFiles, other_pki: PKIFiles
) -> None:
    source = write_image(tmp_path / "a.jpg")
    with pytest.raises(SigningError, match="does not match the signing certificate"):
        sign_media(
            source,
            tmp_path / "b.jpg",
            chain_pem=pki.chain_pem.read_bytes(),
            private_key_pem=other_pki.key_pem.read_bytes(),
        )
    assert not (tmp_path / "b.jpg").exists()
    run = _sign_cli(
        str(source),
        str(tmp_path / "c.jpg"),
        "--cert",
        str(pki.chain_pem),
        "--private-key",
        str(other_pki.key_pem),
    )
    assert run.returncode == 2
    assert "does not match the signing certificate" in run.stderr
    key_text = other_pki.key_pem.read_text()
    body = "".join(line for line in key_text.splitlines() if "-----" not in line)
    for stream in (run.stdout, run.stderr):
        assert "PRIVATE KEY" not in stream
        assert body[:24] not in stream


def test_an_expired_certificate_is_refused_with_its_date(tmp_path: Path) -> None:
    expired = generate_expired_pki(tmp_path / "pki")
    with pytest.raises(SigningError, match=f"expired on {expired.signer_expires:%Y-%m-%d}"):
        sign_media(
            write_image(tmp_path / "a.jpg"),
            tmp_path / "b.jpg",
            chain_pem=expired.chain_pem.read_bytes(),
            private_key_pem=expired.key_pem.read_bytes(),
        )


def test_keys_and_source_types(pki: PKIFiles, other_pki: PKIFiles) -> None:
    assert key_algorithm(pki.key_pem.read_bytes(), pki.chain_pem.read_bytes()) == pki.algorithm
    assert key_algorithm(other_pki.key_pem.read_bytes(), other_pki.chain_pem.read_bytes()) == (
        "ed25519"
    )
    with pytest.raises(SigningError, match="private key cannot be read"):
        key_algorithm(b"not a key", pki.chain_pem.read_bytes())
    with pytest.raises(SigningError, match="certificate chain cannot be read"):
        key_algorithm(pki.key_pem.read_bytes(), b"junk")
    assert source_type_uri("trainedAlgorithmicMedia").endswith(
        "/digitalsourcetype/trainedAlgorithmicMedia"
    )
    uri = "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    assert source_type_uri(uri) == uri
    with pytest.raises(ArgumentError, match="not an IPTC digital source type"):
        source_type_uri("made by <script>")
