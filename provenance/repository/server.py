"""The C2PA Soft Binding Resolution API over a manifest repository.

A client that reads a watermark identifier from a copy whose credentials were stripped asks
this server which manifests declare that soft binding, then downloads the signed manifest
store. The routes and their shapes follow the OpenAPI document of the C2PA specification
(Soft Binding Resolution API 1.1.0, C2PA 2.3):

- ``GET /services/supportedAlgorithms``: ``{"watermarks": [{"alg"}], "fingerprints": [...]}``
- ``GET /matches/byBinding?alg=&value=&maxResults=``, and ``POST`` with the JSON body
  ``{"alg", "value"}``: ``{"matches": [{"manifestId"}]}``
- ``POST /matches/byContent?alg=&maxResults=``: the asset's bytes as the body; the server's
  content reader (a mark key) reads its identifiers, which are then looked up
- ``GET /manifests/{manifestId}``: the manifest store, ``application/c2pa``
- ``POST /manifests`` (not in the specification, which has no write route): add a store,
  only with ``Authorization: Bearer <write token>``

Every refusal is JSON ``{"error": ...}`` (:mod:`.protocol`); an internal failure is a 500
that says nothing of the inside.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import mimetypes
import re
import socket
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import anyio
import anyio.to_thread
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from provenance.errors import ArgumentError, InputError, MediaError
from provenance.repository.protocol import (
    DEFAULT_MAX_RESULTS,
    MAX_RESULTS,
    ApiError,
    algorithm,
    binding_value,
    body_media_type,
    error_response,
    is_authorized,
    json_response,
    query_max_results,
    query_parameter,
    read_body,
    spool_body,
)
from provenance.repository.store import (
    MAX_STORE_BYTES,
    ManifestRepository,
    RepositoryEntry,
    RepositoryError,
    read_manifest_store,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_RESULTS",
    "FINGERPRINT_ALGORITHMS",
    "MAX_QUERY_BYTES",
    "MAX_RESULTS",
    "ContentReader",
    "ResolutionServer",
    "ServerSettings",
    "create_app",
    "is_loopback",
]

#: The version of the Soft Binding Resolution API's OpenAPI document these routes follow.
API_VERSION = "1.1.0"
#: Largest JSON query body (``POST /matches/byBinding``).
MAX_QUERY_BYTES = 64 * 1024
#: Longest ``value`` in a query string; longer values go in a POST body (414 says so).
MAX_URL_VALUE_CHARS = 4096
#: Largest uploaded asset (``POST /matches/byContent``) unless the server is given another.
DEFAULT_MAX_BODY_BYTES = 200 * 1024 * 1024
#: The fingerprint algorithms of the C2PA soft-binding algorithm list (2026-07); every other
#: algorithm is listed as a watermark by ``supportedAlgorithms``.
FINGERPRINT_ALGORITHMS = frozenset(
    {
        "io.iscc.v0",
        "com.adobe.icn.dense",
        "ai.trufo.pawprint.fingerprint",
        "com.digicaps.fingerprint.1",
        "com.evixar.efp.type3.1",
        "com.writerslogic.text-fingerprint.1",
        "com.writerslogic.text-structure.1",
        "com.writerslogic.text-minhash.1",
    }
)

#: Reads the soft bindings (algorithm, base64 value) carried by an asset's pixels, such as
#: the keyed mark's identifier (``provenance.watermark.identifier.identifiers_in_file``).
ContentReader = Callable[[Path], Sequence[tuple[str, str]]]

# urn:c2pa:<uuid>[:generator[:version_reason]] and older urn:uuid:<uuid>: no '/', no spaces
_MANIFEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._\-+]{0,254}")
_TOKEN = re.compile(r"[\x21-\x7e]{16,}")
_ASSET_TYPES = ("image/", "video/")
_READERS_KEPT = 8
_ENDPOINTS = (
    "GET /services/supportedAlgorithms, GET or POST /matches/byBinding, "
    "POST /matches/byContent, GET /manifests/{manifestId}"
)


@dataclass(frozen=True)
class ServerSettings:
    """What a resolution server serves, and what it accepts."""

    repository: Path
    """The repository file (it must exist)."""
    write_token: str | None = None
    """Accept ``POST /manifests`` with this bearer token; ``None``: read-only."""
    content_reader: ContentReader | None = None
    """Reads identifiers from uploaded assets; ``None``: ``byContent`` answers 501."""
    content_algorithms: tuple[str, ...] = ()
    """The algorithms ``content_reader`` returns (listed by ``supportedAlgorithms``)."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Largest asset ``byContent`` accepts."""
    content_readers: int = 2
    """Assets read at once (reading a clip takes a core); more requests wait their turn."""

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1:
            raise ArgumentError(f"max_body_bytes must be at least 1, not {self.max_body_bytes}")
        if self.content_readers < 1:
            raise ArgumentError(f"content_readers must be at least 1, not {self.content_readers}")
        if self.write_token is not None and not _TOKEN.fullmatch(self.write_token):
            raise ArgumentError(
                "the write token must be at least 16 printable ASCII characters without spaces; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        if self.content_reader is not None and not self.content_algorithms:
            raise ArgumentError("content_algorithms must name the algorithms the reader returns")


class _Readers:
    """Read-only repository connections lent to request threads, one thread at a time
    (a SQLite connection must not be used by two threads at once); idle ones are kept."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._idle: list[ManifestRepository] = []
        self._lock = threading.Lock()

    @contextmanager
    def borrow(self) -> Iterator[ManifestRepository]:
        with self._lock:
            repository = self._idle.pop() if self._idle else None
        if repository is None:
            repository = ManifestRepository(self._path, read_only=True)
        try:
            yield repository
        finally:
            with self._lock:
                keep = len(self._idle) < _READERS_KEPT
                if keep:
                    self._idle.append(repository)
            if not keep:
                repository.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for repository in idle:
            repository.close()


def _binding_list(entry: RepositoryEntry) -> list[dict[str, str]]:
    return [{"alg": alg, "value": value} for alg, value in entry.bindings]


# ----------------------------------------------------------------------- the API


class _Api:
    """The endpoints, over one repository and one set of settings."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.readers = _Readers(settings.repository)
        self.write_lock = threading.Lock()
        self.content_limiter: anyio.CapacityLimiter | None = None

    # -- repository work (run in worker threads)

    def _algorithms(self) -> list[str]:
        with self.readers.borrow() as repository:
            return repository.algorithms()

    def _check_supported(self, repository: ManifestRepository, alg: str) -> None:
        if alg in self.settings.content_algorithms or repository.has_algorithm(alg):
            return
        raise ApiError(
            400,
            f"the algorithm {alg!r} is not served here (no manifest in this repository declares "
            "it); GET /services/supportedAlgorithms lists the ones that are",
        )

    def _lookup(
        self, bindings: Sequence[tuple[str, str]], max_results: int, *, check_alg: bool
    ) -> list[str]:
        found: list[str] = []
        with self.readers.borrow() as repository:
            for alg, value in bindings:
                if check_alg:
                    self._check_supported(repository, alg)
                for entry in repository.by_binding(alg, value, max_results=max_results):
                    if entry.manifest_id not in found:
                        found.append(entry.manifest_id)
                if len(found) >= max_results:
                    break
        return found[:max_results]

    def _store(self, manifest_id: str) -> bytes | None:
        with self.readers.borrow() as repository:
            return repository.manifest_store(manifest_id)

    def _add(self, store: bytes, added_by: str) -> tuple[RepositoryEntry, bool]:
        """Keep a store; returns its entry and whether it is new."""
        data = read_manifest_store(store)  # RepositoryError: not a store (400)
        manifest_id = str(data["active_manifest"])
        digest = hashlib.sha256(store).hexdigest()
        with self.write_lock, ManifestRepository(self.settings.repository) as repository:
            existing = repository.get(manifest_id)
            if existing is not None:
                if existing.sha256 == digest:
                    return existing, False
                raise ApiError(
                    409,
                    f"another manifest store with the id {manifest_id} is already kept; "
                    "a kept store is never replaced",
                )
            return repository.add(store, added_by=added_by), True

    # -- endpoints

    async def supported_algorithms(self, request: Request) -> Response:
        algorithms = set(await run_in_threadpool(self._algorithms))
        algorithms.update(self.settings.content_algorithms)
        ordered = sorted(algorithms)
        return json_response(
            {
                "watermarks": [{"alg": a} for a in ordered if a not in FINGERPRINT_ALGORITHMS],
                "fingerprints": [{"alg": a} for a in ordered if a in FINGERPRINT_ALGORITHMS],
            }
        )

    async def by_binding(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._by_binding_post(request)
        alg = algorithm(query_parameter(request, "alg", required=True))
        value = query_parameter(request, "value", required=True)
        if value is not None and len(value) > MAX_URL_VALUE_CHARS:
            raise ApiError(
                414, f"the value is over {MAX_URL_VALUE_CHARS} characters: POST it as JSON instead"
            )
        max_results = query_max_results(request)
        query = [(alg, binding_value(value))]
        found = await run_in_threadpool(self._lookup, query, max_results, check_alg=True)
        return json_response({"matches": [{"manifestId": manifest_id} for manifest_id in found]})

    async def _by_binding_post(self, request: Request) -> Response:
        max_results = query_max_results(request)
        media_type = body_media_type(request)
        if media_type and media_type != "application/json" and not media_type.endswith("+json"):
            raise ApiError(415, "send the query as Content-Type: application/json")
        body = await read_body(request, MAX_QUERY_BYTES)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
        if not isinstance(document, dict):
            raise ApiError(400, 'the body must be a JSON object: {"alg": "...", "value": "..."}')
        query = [(algorithm(document.get("alg")), binding_value(document.get("value")))]
        found = await run_in_threadpool(self._lookup, query, max_results, check_alg=True)
        return json_response({"matches": [{"manifestId": manifest_id} for manifest_id in found]})

    async def by_content(self, request: Request) -> Response:
        reader = self.settings.content_reader
        if reader is None:
            raise ApiError(
                501,
                "this server was started without a mark key, so it cannot read identifiers "
                "from content: query GET /matches/byBinding with the identifier, or start the "
                "server with --key-file",
            )
        alg = query_parameter(request, "alg")
        if alg is not None and algorithm(alg) not in self.settings.content_algorithms:
            served = ", ".join(self.settings.content_algorithms)
            raise ApiError(400, f"this server reads only {served} from content, not {alg!r}")
        hint_alg, hint_value = (
            query_parameter(request, "hintAlg"),
            query_parameter(request, "hintValue"),
        )
        if (hint_alg is None) != (hint_value is None):
            raise ApiError(400, "give hintAlg and hintValue together, or neither")
        if hint_alg is not None:  # accepted as the specification allows; the pixels decide
            algorithm(hint_alg, "hintAlg")
            binding_value(hint_value, "hintValue")
        max_results = query_max_results(request)
        media_type = body_media_type(request)
        if not media_type.startswith(_ASSET_TYPES):
            raise ApiError(
                415,
                "send the asset's bytes as the body with its Content-Type (image/... or "
                "video/...); this server reads marks from pictures and clips",
            )
        suffix = mimetypes.guess_extension(media_type) or ""  # from the table, never the client
        with tempfile.TemporaryDirectory(prefix="provenance-serve-") as folder:
            path = Path(folder) / f"asset{suffix}"
            with path.open("wb") as file:
                size = await spool_body(request, file, self.settings.max_body_bytes)
            if size == 0:
                raise ApiError(400, "the body is empty: send the asset's bytes")
            try:
                found = await anyio.to_thread.run_sync(reader, path, limiter=self.content_limiter)
            except (InputError, MediaError) as exc:
                reason = str(exc).replace(str(path), "the asset")
                raise ApiError(400, f"the asset cannot be read: {reason}") from None
        bindings = [(a, v) for a, v in found if alg is None or a == alg]
        matches = await run_in_threadpool(self._lookup, bindings, max_results, check_alg=False)
        return json_response({"matches": [{"manifestId": manifest_id} for manifest_id in matches]})

    async def manifest(self, request: Request) -> Response:
        manifest_id = str(request.path_params["manifestId"])
        if not _MANIFEST_ID.fullmatch(manifest_id):
            raise ApiError(
                400, "not a manifest id (such as urn:c2pa:...); /matches/byBinding gives them"
            )
        active_only = (query_parameter(request, "returnActiveManifest") or "false").lower()
        if active_only not in ("true", "false", "1", "0"):
            raise ApiError(400, "returnActiveManifest must be true or false")
        if active_only in ("true", "1"):
            raise ApiError(
                501,
                "this server returns whole manifest stores only: leave out returnActiveManifest "
                "(the store holds the active manifest and its history)",
            )
        store = await run_in_threadpool(self._store, manifest_id)
        if store is None:
            raise ApiError(404, "no manifest store with this id is kept here")
        return Response(
            store, media_type="application/c2pa", headers={"X-Content-Type-Options": "nosniff"}
        )

    async def add_manifest(self, request: Request) -> Response:
        token = self.settings.write_token
        if token is None:
            raise ApiError(
                403,
                "this server is read-only: start it with --write-token (or "
                "$PROVENANCE_REPOSITORY_TOKEN) to accept manifests, or add them with "
                "'provenance repository add'",
            )
        if not is_authorized(request, token):
            raise ApiError(
                401,
                "adding a manifest needs the header 'Authorization: Bearer <write token>'",
                {"WWW-Authenticate": 'Bearer realm="provenance repository"'},
            )
        if body_media_type(request) != "application/c2pa":
            raise ApiError(415, "send the manifest store as Content-Type: application/c2pa")
        store = await read_body(request, MAX_STORE_BYTES)
        client = request.client.host if request.client else "unknown client"
        try:
            entry, created = await run_in_threadpool(self._add, store, f"resolution API ({client})")
        except RepositoryError as exc:  # not a store c2pa can read
            raise ApiError(400, f"not added: {exc}") from None
        location = f"/manifests/{quote(entry.manifest_id, safe=':')}"
        return json_response(
            {"manifestId": entry.manifest_id, "bindings": _binding_list(entry)},
            201 if created else 200,
            {"Location": location},
        )


# ----------------------------------------------------------------------- the application


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    """The router's own refusals (no such route, method not allowed), as JSON."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(404, f"no such endpoint; this server has {_ENDPOINTS}")
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return error_response(
            405, f"{request.method} is not allowed here; use {allowed}", exc.headers
        )
    return error_response(exc.status_code, str(exc.detail), exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # the traceback goes to the server's log (uvicorn logs the exception); the client learns
    # nothing of the inside
    return error_response(500, "internal error; the server's log has the details")


def create_app(settings: ServerSettings) -> Starlette:
    """The resolution API as an ASGI application (serve it with :class:`ResolutionServer`
    or any ASGI server)."""
    if not settings.repository.is_file():
        raise ArgumentError(
            f"no manifest repository at {settings.repository}; add a manifest to create one"
        )
    api = _Api(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        api.content_limiter = anyio.CapacityLimiter(settings.content_readers)
        try:
            yield
        finally:
            api.readers.close()

    routes = [
        Route("/services/supportedAlgorithms", api.supported_algorithms, methods=["GET"]),
        Route("/matches/byBinding", api.by_binding, methods=["GET", "POST"]),
        Route("/matches/byContent", api.by_content, methods=["POST"]),
        Route("/manifests/{manifestId}", api.manifest, methods=["GET"]),
        Route("/manifests", api.add_manifest, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # an unknown path is a 404, never a redirect
    return app


# ----------------------------------------------------------------------- serving


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (a server there is not reachable from others)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port)."""
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ArgumentError(f"cannot resolve the host {host!r} ({exc.strerror})") from None
    listener = socket.socket(family, kind, protocol)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(1024)
    except OSError as exc:
        listener.close()
        raise ArgumentError(
            f"cannot listen on {host} port {port} ({exc.strerror or exc}); choose another "
            "port or host"
        ) from None
    return listener


class ResolutionServer:
    """uvicorn serving an application on a socket bound when this object is made, so its URL
    is known (and connections queue) before serving starts; port 0 takes a free port.

    :meth:`run` serves in this thread until Ctrl-C or SIGTERM (in the main thread) or
    :meth:`stop`; as a context manager it serves in a background thread.
    """

    def __init__(
        self,
        app: Starlette,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        log_level: str = "warning",
        access_log: bool = False,
    ) -> None:
        self.host = host
        self.socket = _listen(host, port)
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_level=log_level,
            access_log=access_log,
            lifespan="on",
            server_header=False,
            timeout_graceful_shutdown=10,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL of the API (``http://host:port``)."""
        host = f"[{self.host.strip('[]')}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serve until stopped; open requests are finished first (up to 10 s)."""
        self._server.run(sockets=[self.socket])

    def stop(self) -> None:
        """Ask the server to finish (from another thread or a signal handler)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def __enter__(self) -> ResolutionServer:
        self._thread = threading.Thread(target=self.run, name="resolution-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
