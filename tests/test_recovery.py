"""Durable credentials end to end: sign + mark a clip, strip its credentials by transcoding
(H.264 CRF 28 at 0.5x), and recover them by the identifier the mark carries, from a local
repository and from a resolution service on loopback. Real c2pa-python, PyAV, SQLite and HTTP.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance import CheckOptions, check
from provenance.durable import sign_durable
from provenance.report import (
    AIDeclaration,
    CredentialsState,
    RecoveryState,
    Report,
    TrustStatus,
    VerdictCode,
    WatermarkState,
)
from provenance.repository import ManifestRepository
from provenance.testing.pki import PKIFiles, generate_pki
from provenance.testing.synth import reencode, write_clip
from provenance.watermark import identifier as ids
from provenance.watermark.options import WatermarkOptions

KEY = "studio mark key"
IDENT = 0x5EED_0000_C0FF_EE01


def transcode_half(source: Path, destination: Path) -> Path:
    """What a platform does: decode, scale to half, re-encode H.264 CRF 28 (no metadata)."""
    return reencode(source, destination, scale=0.5, crf=28)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory, pki: PKIFiles) -> dict[str, Path]:
    """A studio's signed and marked clip, its repository, and the platform's stripped copy."""
    work = tmp_path_factory.mktemp("studio")
    source = write_clip(
        work / "generated.mp4", seconds=2.0, width=1280, height=720, seed=21, content="smooth"
    )
    durable = sign_durable(
        source,
        work / "signed.mp4",
        chain_pem=pki.chain_pem.read_bytes(),
        private_key_pem=pki.key_pem.read_bytes(),
        mark_key=KEY,
        identifier=IDENT,
        repository=work / "repo.sqlite",
        software_agent="Example Video Model 3",
    )
    assert durable.binding_value == ids.binding_value(IDENT)
    stripped = transcode_half(durable.signed.path, work / "stripped.mp4")
    return {
        "source": source,
        "signed": durable.signed.path,
        "stripped": stripped,
        "repository": work / "repo.sqlite",
        "work": work,
    }


def _options(pki: PKIFiles, **changes: object) -> CheckOptions:
    return CheckOptions(
        extra_anchors=(pki.root_pem,),
        watermarks=WatermarkOptions(keys=(KEY,)),
        **changes,  # type: ignore[arg-type]
    )


def _keyed(report: Report) -> tuple[str, ...]:
    (evidence,) = [w for w in report.watermarks if w.detector == "keyed"]
    return tuple(found.value for found in evidence.identifiers)


def test_stripped_copy_has_no_credentials_but_carries_the_identifier(
    studio: dict[str, Path], pki: PKIFiles
) -> None:
    report = check(studio["stripped"], _options(pki))
    assert report.credentials.state is CredentialsState.ABSENT
    assert _keyed(report) == (ids.binding_value(IDENT),)
    assert report.recovered == ()  # no repository asked: nothing looked up


def test_recovered_from_the_local_repository(studio: dict[str, Path], pki: PKIFiles) -> None:
    report = check(studio["stripped"], _options(pki, repository=studio["repository"]))
    (entry,) = report.recovered
    assert entry.state is RecoveryState.RECOVERED
    assert entry.algorithm == ids.ALGORITHM
    assert entry.content_changed is True  # transcoded: the hash no longer matches
    found = entry.credentials
    assert found is not None
    assert found.ai_declaration is AIDeclaration.GENERATIVE_AI
    assert found.trust is TrustStatus.TRUSTED
    assert found.signer is not None
    assert "demo" in (found.signer.common_name or "")
    verdict = report.verdict
    assert verdict.code is VerdictCode.AI_DECLARED
    assert VerdictCode.CREDENTIALS_RECOVERED in verdict.labels
    assert VerdictCode.AI_WATERMARK not in verdict.labels  # the mark speaks through its manifest
    assert any("content changed since signing" in c for c in verdict.caveats)
    # the signed original itself: embedded credentials stand, nothing is overridden
    original = check(studio["signed"], _options(pki, repository=studio["repository"]))
    assert original.credentials.state is CredentialsState.PRESENT
    assert original.verdict.code is VerdictCode.AI_DECLARED
    assert VerdictCode.CREDENTIALS_RECOVERED not in original.verdict.labels
    assert original.recovered[0].content_changed is False


def test_negative_side(studio: dict[str, Path], pki: PKIFiles, tmp_path: Path) -> None:
    options = _options(pki, repository=studio["repository"])
    unmarked = check(transcode_half(studio["source"], tmp_path / "plain.mp4"), options)
    assert _keyed(unmarked) == ()
    assert unmarked.recovered == ()
    assert VerdictCode.CREDENTIALS_RECOVERED not in unmarked.verdict.labels
    wrong_key = check(
        studio["stripped"],
        CheckOptions(
            repository=studio["repository"],
            watermarks=WatermarkOptions(keys=("another studio's key",)),
        ),
    )
    (evidence,) = [w for w in wrong_key.watermarks if w.detector == "keyed"]
    assert evidence.state is not WatermarkState.DETECTED
    assert wrong_key.recovered == ()
    # an identifier the repository does not hold
    empty = tmp_path / "empty.sqlite"
    ManifestRepository(empty).close()
    missing = check(studio["stripped"], _options(pki, repository=empty))
    (entry,) = missing.recovered
    assert entry.state is RecoveryState.NOT_FOUND
    assert missing.verdict.code is VerdictCode.AI_WATERMARK  # the keyed mark, unresolved
    assert any("no manifest for it was found" in c for c in missing.verdict.caveats)


class _LyingResolver(http.server.BaseHTTPRequestHandler):
    """A resolution service that answers every lookup with one manifest: another asset's."""

    store: bytes = b""
    manifest_id: str = ""

    def do_GET(self) -> None:
        if self.path.startswith("/matches/byBinding"):
            body = json.dumps({"matches": [{"manifestId": self.manifest_id}]}).encode()
            kind = "application/json"
        else:
            body, kind = self.store, "application/c2pa"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def lying_resolver(studio: dict[str, Path], pki: PKIFiles) -> Iterator[str]:
    other = sign_durable(
        write_clip(studio["work"] / "other.mp4", seconds=1.0, width=320, height=240),
        studio["work"] / "other-signed.mp4",
        chain_pem=pki.chain_pem.read_bytes(),
        private_key_pem=pki.key_pem.read_bytes(),
    )
    handler = type(
        "Handler",
        (_LyingResolver,),
        {"store": other.signed.store, "manifest_id": other.signed.manifest_id},
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_manifest_for_another_asset_is_rejected(
    studio: dict[str, Path], pki: PKIFiles, lying_resolver: str
) -> None:
    report = check(studio["stripped"], _options(pki, resolve_url=lying_resolver))
    (entry,) = report.recovered
    assert entry.source == f"resolver {lying_resolver}"
    assert entry.state is RecoveryState.REJECTED
    assert "declares no such soft binding" in (entry.message or "")
    assert VerdictCode.CREDENTIALS_RECOVERED not in report.verdict.labels
    assert VerdictCode.AI_DECLARED not in report.verdict.labels


def test_unreachable_resolver_is_an_error_not_a_crash(
    studio: dict[str, Path], pki: PKIFiles
) -> None:
    report = check(studio["stripped"], _options(pki, resolve_url="http://127.0.0.1:9"))
    (entry,) = report.recovered
    assert entry.state is RecoveryState.ERROR
    assert "could not reach" in (entry.message or "")
    assert any("could not be recovered" in c for c in report.verdict.caveats)


def test_sign_mark_command_and_check_recover(
    studio: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    key_file = tmp_path / "mark.key"
    key_file.write_text(KEY + "\n")
    repository = tmp_path / "cli.sqlite"
    environment = {**os.environ, "COLUMNS": "80", "PROVENANCE_MARK_KEY": ""}
    signed = subprocess.run(
        [
            sys.executable,
            "-m",
            "provenance",
            "sign",
            str(studio["source"]),
            str(tmp_path / "signed.mp4"),
            "--cert",
            str(pki.chain_pem),
            "--private-key",
            str(pki.key_pem),
            "--mark",
            "--key-file",
            str(key_file),
            "-r",
            str(repository),
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert signed.returncode == 0, signed.stderr
    assert "marked with identifier" in signed.stdout
    assert pki.key_pem.read_text().splitlines()[1] not in signed.stdout + signed.stderr
    stripped = transcode_half(tmp_path / "signed.mp4", tmp_path / "stripped.mp4")
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "provenance",
            "check",
            str(stripped),
            "--key-file",
            str(key_file),
            "--repository",
            str(repository),
            "--anchors",
            str(pki.root_pem),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    (report,) = json.loads(checked.stdout)
    assert report["verdict"]["code"] == "ai_declared"
    assert "credentials_recovered" in report["verdict"]["labels"]
    assert report["recovered"][0]["state"] == "recovered"
    no_mark = subprocess.run(
        [
            sys.executable,
            "-m",
            "provenance",
            "sign",
            str(studio["source"]),
            str(tmp_path / "x.mp4"),
            "--cert",
            str(pki.chain_pem),
            "--private-key",
            str(pki.key_pem),
            "--identifier",
            "00",
        ],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert no_mark.returncode == 2
    assert "go with --mark" in no_mark.stderr


def test_recovered_through_the_resolution_server(studio: dict[str, Path], pki: PKIFiles) -> None:
    """Our own ``repository serve`` on a loopback port, asked by binding (the check's
    ``--resolve``) and by content (the server reads the identifier with the key)."""
    import urllib.request

    from provenance.repository.server import ResolutionServer, ServerSettings, create_app
    from provenance.watermark.detect import identifiers_in_file

    settings = ServerSettings(
        repository=studio["repository"],
        content_reader=lambda path: identifiers_in_file(path, (KEY,)),
        content_algorithms=(ids.ALGORITHM,),
    )
    with ResolutionServer(create_app(settings), port=0) as server:
        report = check(studio["stripped"], _options(pki, resolve_url=server.url))
        (entry,) = report.recovered
        assert entry.source == f"resolver {server.url}"
        assert entry.state is RecoveryState.RECOVERED
        assert entry.credentials is not None
        assert entry.credentials.ai_declaration is AIDeclaration.GENERATIVE_AI
        assert report.verdict.code is VerdictCode.AI_DECLARED
        request = urllib.request.Request(
            f"{server.url}/matches/byContent?alg={ids.ALGORITHM}",
            data=studio["stripped"].read_bytes(),
            headers={"Content-Type": "video/mp4"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            matches = json.loads(response.read())["matches"]
        assert [m["manifestId"] for m in matches] == [entry.manifest_id]
        unmarked = urllib.request.Request(
            f"{server.url}/matches/byContent",
            data=studio["source"].read_bytes(),
            headers={"Content-Type": "video/mp4"},
            method="POST",
        )
        with urllib.request.urlopen(unmarked, timeout=60) as response:
            assert json.loads(response.read())["matches"] == []


def test_scan_recovers_with_workers(studio: dict[str, Path], pki: PKIFiles, tmp_path: Path) -> None:
    """A newsroom's scan: the options travel to the worker processes, the CSV says so."""
    import csv
    import shutil

    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(studio["stripped"], folder / "stripped.mp4")
    shutil.copy(studio["source"], folder / "unmarked.mp4")
    key_file = tmp_path / "mark.key"
    key_file.write_text(KEY + "\n")
    table = tmp_path / "scan.csv"
    result = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", str(folder), "--no-store", "--jobs", "2",
         "--no-progress", "--key-file", str(key_file), "--repository", str(studio["repository"]),
         "--anchors", str(pki.root_pem), "--csv", str(table)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = {Path(r["path"]).name: r for r in csv.DictReader(table.open(encoding="utf-8"))}
    assert rows["stripped.mp4"]["verdict"] == "ai_declared"
    assert rows["stripped.mp4"]["recovered"].startswith("recovered:urn:c2pa:")
    assert rows["stripped.mp4"]["identifiers"] == f"{ids.ALGORITHM}:{ids.binding_value(IDENT)}"
    assert rows["stripped.mp4"]["credentials"].startswith("recovered: intact, trusted")
    assert rows["unmarked.mp4"]["recovered"] == ""


@pytest.fixture
def garbage_server() -> Iterator[str]:
    """A 'resolution service' that answers every connection with bytes that are not HTTP."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.recv(4096)
                connection.sendall(b"\x1b[2J garbage \x00\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_a_hostile_resolver_is_an_error_for_the_lookup_only(
    studio: dict[str, Path], pki: PKIFiles, garbage_server: str
) -> None:
    report = check(studio["stripped"], _options(pki, resolve_url=garbage_server))
    (entry,) = report.recovered
    assert entry.state is RecoveryState.ERROR
    assert report.errors == ()
    # the mark's own evidence stands
    assert report.verdict.code is VerdictCode.AI_WATERMARK


def test_a_faint_mark_is_recovered_by_matching_the_repository_s_identifiers(
    studio: dict[str, Path], pki: PKIFiles, tmp_path: Path
) -> None:
    """Marked at 50 dB and stripped at 0.5x CRF 28, the mark is too weak to find or decode
    blind, but the repository's identifiers tell it apart (and recover its manifest)."""
    faint = sign_durable(
        studio["source"],
        tmp_path / "faint.mp4",
        chain_pem=pki.chain_pem.read_bytes(),
        private_key_pem=pki.key_pem.read_bytes(),
        mark_key=KEY,
        identifier=0x0123456789ABCDEF,  # fixed: a random one made the blind reading vary
        psnr=50.0,
        repository=tmp_path / "repo.sqlite",
    )
    stripped = transcode_half(faint.signed.path, tmp_path / "faint-stripped.mp4")
    blind = check(stripped, _options(pki))
    (evidence,) = [w for w in blind.watermarks if w.detector == "keyed"]
    assert evidence.state is not WatermarkState.DETECTED
    assert evidence.identifiers == ()
    report = check(stripped, _options(pki, repository=tmp_path / "repo.sqlite"))
    (evidence,) = [w for w in report.watermarks if w.detector == "keyed"]
    assert evidence.state is WatermarkState.DETECTED
    assert evidence.false_positive_rate == ids.MATCH_TARGET_FPR
    assert [(f.value, f.matched) for f in evidence.identifiers] == [(faint.binding_value, True)]
    assert report.verdict.code is VerdictCode.AI_DECLARED
    assert report.recovered[0].state is RecoveryState.RECOVERED
    # another clip's repository: nothing to match, nothing recovered
    other = check(stripped, _options(pki, repository=studio["repository"]))
    (evidence,) = [w for w in other.watermarks if w.detector == "keyed"]
    assert evidence.state is not WatermarkState.DETECTED
    assert other.recovered == ()
