"""The resolution server (C2PA Soft Binding Resolution API) as a client meets it: a real
uvicorn server on a free loopback port, over a real SQLite repository of stores signed with a
PKI made here, queried with a real HTTP client (urllib, and raw sockets for the requests no
polite client sends)."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode

import c2pa
import pytest

from provenance.errors import ArgumentError
from provenance.repository import ManifestRepository, RepositoryError
from provenance.repository.server import (
    MAX_RESULTS,
    ResolutionServer,
    ServerSettings,
    create_app,
    is_loopback,
)
from provenance.testing.pki import PKIFiles, generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import write_image

ALG = "io.provenance-checker.test-id.1"
FINGERPRINT = "io.iscc.v0"  # a fingerprint algorithm of the C2PA list
FIRST_ONLY = "AAECAwQFBgc="
SHARED = "c2hhcmVk"
TOKEN = "test-write-token-0123456789"

#: An HTTP client that never goes through a proxy (only loopback is used here).
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _binding(alg: str, value: str) -> dict[str, object]:
    return {
        "label": "c2pa.soft-binding",
        "data": {"alg": alg, "blocks": [{"scope": {}, "value": value}]},
    }


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKIFiles:
    return generate_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, pki: PKIFiles) -> dict[str, Path]:
    """Signed manifest stores: two sharing a soft binding, one with a fingerprint, and one
    that is only ever added through the API."""
    folder = tmp_path_factory.mktemp("stores")
    made = {}
    for seed, (name, bindings) in enumerate(
        (
            ("first", [_binding(ALG, FIRST_ONLY), _binding(ALG, SHARED)]),
            ("second", [_binding(ALG, SHARED)]),
            ("fingerprinted", [_binding(FINGERPRINT, "aXNjYw==")]),
            ("late", [_binding(ALG, "bGF0ZQ==")]),
        )
    ):
        picture = write_image(folder / f"{name}.jpg", seed=seed)
        store = folder / f"{name}.c2pa"
        sign_file(
            picture,
            folder / f"{name}_signed.jpg",
            pki=pki,
            extra_assertions=bindings,
            store_to=store,
        )
        made[name] = store
    return made


def _repository(path: Path, stores: Mapping[str, Path], *names: str) -> dict[str, str]:
    """A repository at ``path`` holding the named stores; their manifest ids by name."""
    with ManifestRepository(path) as repository:
        return {
            name: repository.add(stores[name].read_bytes(), added_by="test").manifest_id
            for name in names
        }


@pytest.fixture(scope="module")
def kept(
    tmp_path_factory: pytest.TempPathFactory, stores: dict[str, Path]
) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("repository") / "repo.db"
    return path, _repository(path, stores, "first", "second", "fingerprinted")


@pytest.fixture(scope="module")
def server(kept: tuple[Path, dict[str, str]]) -> Iterator[ResolutionServer]:
    """A read-only server over the repository, with a small asset limit."""
    settings = ServerSettings(repository=kept[0], max_body_bytes=64 * 1024)
    with ResolutionServer(create_app(settings), port=0) as running:
        yield running


def _call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Mapping[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with _OPENER.open(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _json(url: str, method: str = "GET", **kwargs: object) -> tuple[int, object]:
    status, headers, body = _call(url, method, **kwargs)  # type: ignore[arg-type]
    assert headers["Content-Type"] == "application/json", body[:200]
    return status, json.loads(body)


def _ids(document: object) -> list[str]:
    assert isinstance(document, dict)
    assert set(document) == {"matches"}
    assert all(set(match) == {"manifestId"} for match in document["matches"])
    return [match["manifestId"] for match in document["matches"]]


def _by_binding(server: ResolutionServer, alg: str, value: str, **extra: str) -> tuple[int, object]:
    return _json(
        f"{server.url}/matches/byBinding?{urlencode({'alg': alg, 'value': value, **extra})}"
    )


def test_supported_algorithms_are_those_of_the_repository(server: ResolutionServer) -> None:
    status, document = _json(f"{server.url}/services/supportedAlgorithms")
    assert status == 200
    assert document == {"watermarks": [{"alg": ALG}], "fingerprints": [{"alg": FINGERPRINT}]}


def test_matches_by_binding_with_get_and_post(
    server: ResolutionServer, kept: tuple[Path, dict[str, str]]
) -> None:
    ids = kept[1]
    status, document = _by_binding(server, ALG, FIRST_ONLY)
    assert status == 200
    assert _ids(document) == [ids["first"]]
    assert set(_ids(_by_binding(server, ALG, SHARED)[1])) == {ids["first"], ids["second"]}
    assert _ids(_by_binding(server, FINGERPRINT, "aXNjYw==")[1]) == [ids["fingerprinted"]]

    query = json.dumps({"alg": ALG, "value": SHARED}).encode()
    status, posted = _json(
        f"{server.url}/matches/byBinding",
        "POST",
        body=query,
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    assert set(_ids(posted)) == {ids["first"], ids["second"]}

    # a value nobody declared, and a declared value under another served algorithm: no match
    assert _by_binding(server, ALG, "AAECAwQFBgg=") == (200, {"matches": []})
    assert _by_binding(server, FINGERPRINT, FIRST_ONLY) == (200, {"matches": []})


def test_max_results_is_respected_and_capped(server: ResolutionServer) -> None:
    assert len(_ids(_by_binding(server, ALG, SHARED, maxResults="1")[1])) == 1
    assert len(_ids(_by_binding(server, ALG, SHARED, maxResults="2")[1])) == 2
    status, document = _by_binding(server, ALG, SHARED, maxResults=str(MAX_RESULTS * 50))
    assert status == 200
    assert len(_ids(document)) == 2
    query = json.dumps({"alg": ALG, "value": SHARED}).encode()
    status, posted = _json(
        f"{server.url}/matches/byBinding?maxResults=1",
        "POST",
        body=query,
        headers={"Content-Type": "application/json"},
    )
    assert len(_ids(posted)) == 1


def test_a_manifest_store_downloads_byte_for_byte_and_reads(
    server: ResolutionServer, kept: tuple[Path, dict[str, str]], stores: dict[str, Path]
) -> None:
    manifest_id = kept[1]["first"]
    status, headers, body = _call(f"{server.url}/manifests/{quote(manifest_id)}")
    assert status == 200
    assert headers["Content-Type"] == "application/c2pa"
    assert body == stores["first"].read_bytes()
    with c2pa.Reader("application/c2pa", io.BytesIO(body)) as reader:
        data = json.loads(reader.json())
    assert data["active_manifest"] == manifest_id
    status, missing = _json(f"{server.url}/manifests/urn:c2pa:00000000-0000-0000-0000-000000000000")
    assert status == 404
    assert "no manifest store" in missing["error"]  # type: ignore[index]


def test_many_clients_at_once_get_the_same_answers(
    server: ResolutionServer, kept: tuple[Path, dict[str, str]]
) -> None:
    expected = [kept[1]["first"]]

    def ask(_: int) -> list[str]:
        return _ids(_by_binding(server, ALG, FIRST_ONLY)[1])

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(64)))
    assert answers == [expected] * 64


def test_writes_need_the_token(
    tmp_path: Path, stores: dict[str, Path], kept: tuple[Path, dict[str, str]]
) -> None:
    late = stores["late"].read_bytes()
    c2pa_type = {"Content-Type": "application/c2pa"}
    # the read-only server refuses, whatever the client sends
    read_only = ServerSettings(repository=kept[0])
    with ResolutionServer(create_app(read_only), port=0) as server:
        headers = {**c2pa_type, "Authorization": f"Bearer {TOKEN}"}
        status, document = _json(f"{server.url}/manifests", "POST", body=late, headers=headers)
        assert status == 403
        assert "--write-token" in document["error"]  # type: ignore[index]

    path = tmp_path / "writable.db"
    ids = _repository(path, stores, "first")
    with ResolutionServer(create_app(ServerSettings(path, write_token=TOKEN)), port=0) as server:
        url = f"{server.url}/manifests"
        for authorization in (None, f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN):
            headers = {**c2pa_type, **({"Authorization": authorization} if authorization else {})}
            status, response_headers, body = _call(url, "POST", body=late, headers=headers)
            assert status == 401, authorization
            assert response_headers["WWW-Authenticate"].startswith("Bearer")
            assert "Authorization: Bearer" in json.loads(body)["error"]
        writer = {"Authorization": f"Bearer {TOKEN}"}
        status, document = _json(
            url, "POST", body=late, headers={**writer, "Content-Type": "image/jpeg"}
        )
        assert status == 415
        status, document = _json(
            url, "POST", body=b"not a manifest store", headers={**writer, **c2pa_type}
        )
        assert status == 400
        assert "not a C2PA manifest store" in document["error"]  # type: ignore[index]
        assert _by_binding(server, ALG, "bGF0ZQ==") == (200, {"matches": []})  # not yet added

        status, response_headers, body = _call(
            url, "POST", body=late, headers={**writer, **c2pa_type}
        )
        assert status == 201
        added = json.loads(body)
        assert added["bindings"] == [{"alg": ALG, "value": "bGF0ZQ=="}]
        assert response_headers["Location"] == f"/manifests/{quote(added['manifestId'], safe=':')}"
        assert _call(url, "POST", body=late, headers={**writer, **c2pa_type})[0] == 200  # again
        assert _ids(_by_binding(server, ALG, "bGF0ZQ==")[1]) == [added["manifestId"]]
        status, _, body = _call(f"{server.url}{response_headers['Location']}")
        assert (status, body) == (200, late)
    with ManifestRepository(path, create=False) as repository:
        assert [e.manifest_id for e in repository.entries()] == [ids["first"], added["manifestId"]]
        assert repository.get(added["manifestId"]).added_by == "resolution API (127.0.0.1)"  # type: ignore[union-attr]


LONG = "A" * 5000

#: Requests a careless or hostile client sends: (method, path, body, headers, status).
HOSTILE: list[tuple[str, str, bytes | None, dict[str, str], int]] = [
    ("GET", f"/matches/byBinding?alg={ALG}&value=not*base64", None, {}, 400),
    ("GET", f"/matches/byBinding?alg={ALG}&value=AAEC+AwQ=", None, {}, 400),  # '+' not escaped
    ("GET", f"/matches/byBinding?alg={ALG}&value=AAECAwQFBgc", None, {}, 400),  # no padding
    ("GET", f"/matches/byBinding?alg=com.unknown.mark.1&value={FIRST_ONLY}", None, {}, 400),
    ("GET", f"/matches/byBinding?alg=..%2F..%2Fetc&value={FIRST_ONLY}", None, {}, 400),
    ("GET", f"/matches/byBinding?value={FIRST_ONLY}", None, {}, 400),
    ("GET", f"/matches/byBinding?alg={ALG}", None, {}, 400),
    ("GET", f"/matches/byBinding?alg={ALG}&alg={ALG}&value={FIRST_ONLY}", None, {}, 400),
    ("GET", f"/matches/byBinding?alg={ALG}&value={LONG}", None, {}, 414),
    *[
        ("GET", f"/matches/byBinding?alg={ALG}&value={FIRST_ONLY}&maxResults={bad}", None, {}, 400)
        for bad in ("0", "-1", "ten", "1.5", "%C2%B2", "")
        if bad  # an empty maxResults is the default
    ],
    ("POST", "/matches/byBinding", b"{not json", {"Content-Type": "application/json"}, 400),
    ("POST", "/matches/byBinding", b"[1, 2]", {"Content-Type": "application/json"}, 400),
    ("POST", "/matches/byBinding", b"[" * 60000, {"Content-Type": "application/json"}, 400),
    (
        "POST",
        "/matches/byBinding",
        b'{"alg": 1, "value": 2}',
        {"Content-Type": "application/json"},
        400,
    ),
    (
        "POST",
        "/matches/byBinding",
        b'{"alg": "' + ALG.encode() + b'"}',
        {"Content-Type": "application/json"},
        400,
    ),
    ("POST", "/matches/byBinding", b"\xff\xfe\x00", {"Content-Type": "application/json"}, 400),
    ("POST", "/matches/byBinding", b"alg=x", {"Content-Type": "text/plain"}, 415),
    ("POST", "/matches/byContent", b"\x89PNG", {"Content-Type": "image/png"}, 501),
    ("GET", "/manifests/..%2F..%2Fetc%2Fpasswd", None, {}, 404),
    ("GET", "/manifests/%2E%2E", None, {}, 400),
    ("GET", "/manifests/urn:c2pa:x%00y", None, {}, 400),
    ("GET", "/manifests/urn:c2pa:x?returnActiveManifest=maybe", None, {}, 400),
    ("GET", "/manifests/urn:c2pa:x?returnActiveManifest=true", None, {}, 501),
    ("GET", "/manifests/", None, {}, 404),
    ("GET", "/etc/passwd", None, {}, 404),
    ("DELETE", "/manifests/urn:c2pa:x", None, {}, 405),
    ("PUT", "/matches/byBinding", b"{}", {"Content-Type": "application/json"}, 405),
    ("POST", "/manifests", b"x", {"Content-Type": "application/c2pa"}, 403),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status"), HOSTILE)
def test_bad_requests_get_a_json_refusal(
    server: ResolutionServer,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
) -> None:
    got, response_headers, content = _call(f"{server.url}{path}", method, body, headers)
    assert got == status, content[:300]
    assert response_headers["Content-Type"] == "application/json"
    document = json.loads(content)
    assert set(document) == {"error"}
    assert isinstance(document["error"], str)
    assert document["error"]
    assert "Traceback" not in document["error"]
    assert str(server.port) not in document["error"]


def _raw(server: ResolutionServer, head: bytes, chunks: list[bytes]) -> tuple[int, bytes]:
    """Send a request head and some body bytes, never finishing the body, then read the
    answer: a status here proves the server refused while the body was still coming."""
    with socket.create_connection((server.host, server.port), timeout=60) as connection:
        connection.sendall(head)
        for chunk in chunks:
            connection.sendall(chunk)
        received = b""
        while data := connection.recv(65536):  # until the server closes (Connection: close)
            received += data
    status_line, _, rest = received.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def test_body_limits_hold_while_the_body_streams(server: ResolutionServer) -> None:
    # chunked, with no end: the server must refuse once more than 64 KiB are in (the last byte
    # sent is the one over the limit, so the server has read all there is when it closes)
    head = (
        b"POST /matches/byBinding HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"4000\r\n" + b" " * 0x4000 + b"\r\n"
    status, body = _raw(server, head, [chunk] * 4 + [b"1\r\n \r\n"])
    assert status == 413
    assert "larger than this server accepts" in json.loads(body)["error"]
    # a declared length over the limit is refused before any body is sent
    head = (
        b"POST /matches/byBinding HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000000\r\n\r\n"
    )
    assert _raw(server, head, [])[0] == 413
    # and the server goes on serving
    assert _json(f"{server.url}/services/supportedAlgorithms")[0] == 200


def test_an_internal_failure_is_a_500_that_tells_nothing(
    tmp_path: Path, stores: dict[str, Path]
) -> None:
    path = tmp_path / "repo.db"
    _repository(path, stores, "first")
    with ResolutionServer(create_app(ServerSettings(path)), port=0) as server:
        path.write_bytes(b"no longer SQLite " * 512)  # broken under the running server
        status, document = _json(f"{server.url}/services/supportedAlgorithms")
    assert status == 500
    assert document == {"error": "internal error; the server's log has the details"}


def test_settings_and_hosts_are_checked() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.org"):
        assert not is_loopback(host), host
    with pytest.raises(ArgumentError, match="at least 16"):
        ServerSettings(Path("repo.db"), write_token="short")
    with pytest.raises(ArgumentError, match="at least 16"):
        ServerSettings(Path("repo.db"), write_token="with a space in it, long enough")
    with pytest.raises(ArgumentError, match="no manifest repository"):
        create_app(ServerSettings(Path("/nonexistent/repo.db")))


def test_a_read_only_repository_reads_and_never_writes(
    kept: tuple[Path, dict[str, str]], stores: dict[str, Path]
) -> None:
    with ManifestRepository(kept[0], read_only=True) as repository:
        assert repository.algorithms() == [FINGERPRINT, ALG]  # sorted
        assert repository.has_algorithm(FINGERPRINT)
        assert not repository.has_algorithm("com.unknown.mark.1")
        assert len(repository) == 3
        with pytest.raises(RepositoryError, match="read-only"):
            repository.add(stores["late"].read_bytes(), added_by="x")
    with pytest.raises(RepositoryError, match="no manifest repository"):
        ManifestRepository(kept[0].with_name("missing.db"), read_only=True)


def test_the_serve_command_serves_until_ctrl_c(kept: tuple[Path, dict[str, str]]) -> None:
    command = [sys.executable, "-m", "provenance", "repository", "serve", "--port", "0"]
    environment = {**os.environ, "PROVENANCE_REPOSITORY": str(kept[0])}
    environment.pop("PROVENANCE_MARK_KEY", None)
    process = subprocess.Popen(
        [*command, "--no-access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith(
            f"serving {kept[0]} (3 manifest stores, read-only) at http://127.0.0.1:"
        )
        url = first.rsplit(" at ", 1)[1].strip()
        assert "off (no mark key)" in process.stdout.readline()
        assert _json(f"{url}/services/supportedAlgorithms")[0] == 200  # serving: Ctrl-C is caught
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out.strip().endswith("stopped")
    assert "Traceback" not in err

    missing = subprocess.run(
        [*command, "-r", str(kept[0].with_name("missing.db"))],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    assert missing.returncode == 2
    assert "no manifest repository at" in missing.stderr
    short = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**environment, "PROVENANCE_REPOSITORY_TOKEN": "short"},
        check=False,
    )
    assert short.returncode == 2
    assert "the write token must be at least 16" in short.stderr
