"""A check opens no network connection, even for a file that points to a remote manifest.

Two proofs: system calls traced with strace (which also sees the native C2PA library), and a
Python audit hook (which sees any Python-level socket use). The positive control shows the
tracer does see a connection attempt when the user opts in with --fetch-remote.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance import CheckOptions, check
from provenance.testing.synth import write_clip

_INET = re.compile(r"(socket\(AF_INET6?\b|connect\(\d+, \{sa_family=AF_INET6?\b)")


def _strace() -> str:
    found = shutil.which("strace")
    if found is None:
        message = "strace is not installed (.ci/run installs it)"
        if os.environ.get("CI", "").lower() in {"true", "1"}:
            pytest.fail(message)
        pytest.skip(message)
    return found


def _traced_check(
    strace: str, files: list[Path], log: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    command = [
        strace,
        "-f",
        "-qq",
        "-e",
        "trace=socket,connect",
        "-o",
        str(log),
        sys.executable,
        "-m",
        "provenance",
        "check",
        *map(str, files),
        "--format",
        "json",
        *extra,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def _inputs(shared_dir: Path, tmp_path: Path) -> list[Path]:
    folder = shared_dir / "fixtures" / "c2pa"
    return [
        folder / "cloud.jpg",  # refers to a remote manifest on the internet
        folder / "DALL-E_cloud_surfing_puppy.webp",
        folder / "prmiere-firefly.mp4",
        folder / "ocsp.jpg",  # carries an OCSP response; revocation is not fetched
        write_clip(tmp_path / "plain.mp4", seconds=0.5),
    ]


def test_check_makes_no_network_system_call(shared_dir: Path, tmp_path: Path) -> None:
    strace = _strace()
    log = tmp_path / "trace.log"
    result = _traced_check(
        strace, _inputs(shared_dir, tmp_path), log, "--trust-dir", str(shared_dir / "trust")
    )
    assert result.returncode == 0, result.stderr
    assert '"credentials_remote"' in result.stdout
    calls = log.read_text()
    assert _INET.findall(calls) == []


def test_tracer_sees_an_opted_in_fetch(shared_dir: Path, tmp_path: Path) -> None:
    strace = _strace()
    log = tmp_path / "trace.log"
    cloud = shared_dir / "fixtures" / "c2pa" / "cloud.jpg"
    _traced_check(strace, [cloud], log, "--fetch-remote")
    assert _INET.findall(log.read_text()), "the positive control saw no network attempt"


_guard = threading.local()


def _audit(event: str, args: tuple[object, ...]) -> None:
    if getattr(_guard, "active", False) and event.startswith(("socket.", "urllib.Request")):
        raise RuntimeError(f"network use during a check: {event} {args!r}")


sys.addaudithook(_audit)


@pytest.fixture
def no_python_network() -> Iterator[None]:
    _guard.active = True
    try:
        yield
    finally:
        _guard.active = False


def test_check_uses_no_python_socket(
    shared_dir: Path, tmp_path: Path, no_python_network: None
) -> None:
    options = CheckOptions(trust_dir=shared_dir / "trust")
    reports = [check(path, options) for path in _inputs(shared_dir, tmp_path)]
    assert [r.verdict.code.value for r in reports][:2] == ["credentials_remote", "ai_declared"]


def test_recovery_from_a_local_repository_stays_offline_and_resolve_does_not(
    demo_corpus: Path, demo_key: str, tmp_path: Path
) -> None:
    """Recovering stripped credentials from a repository file opens no socket; asking a
    resolution service (``--resolve``, opted in) does, and the trace shows it."""
    strace = _strace()
    clip = demo_corpus / "ai_generated_stripped.mp4"
    key_file = tmp_path / "key.txt"
    key_file.write_text(demo_key + "\n")
    common = ("--key-file", str(key_file), "--anchors", str(demo_corpus / "pki" / "root.pem"))
    local = tmp_path / "local.log"
    result = _traced_check(
        strace, [clip], local, *common, "--repository", str(demo_corpus / "manifests.sqlite")
    )
    assert result.returncode == 0, result.stderr
    assert '"credentials_recovered"' in result.stdout
    assert _INET.findall(local.read_text()) == []
    remote = tmp_path / "remote.log"
    _traced_check(strace, [clip], remote, *common, "--resolve", "http://127.0.0.1:9")
    assert _INET.findall(remote.read_text()), "--resolve made no connection attempt"
