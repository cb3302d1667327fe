"""Manifest repository: soft-binding lookups with a million entries, and the resolution
server's requests per second on loopback.

Run from the repository root::

    python benchmarks/bench_repository.py                       # defaults, updates RESULTS.md
    python benchmarks/bench_repository.py --output -             # print the section only
    python benchmarks/bench_repository.py --entries 100000 --requests 2000 --output -

The repository is built once into the work directory and reused while its parameters are
unchanged. Signing a million manifests is impractical (about 30 ms each), so its entries are
synthetic rows inserted with SQL into a repository file made by ``ManifestRepository``: the
same tables and indexes, one soft binding per entry (and a second algorithm on every tenth),
a 512-byte stand-in for each store; a few real signed stores are then added with
``ManifestRepository.add``, and they are what the server's manifest downloads return.

1. Lookups: ``ManifestRepository.by_binding`` for values that are kept and values that are
   not, ``manifest_store`` and ``algorithms``, each call timed alone (warm page cache).
2. Server: ``provenance repository serve`` in its own process, queried by this process over
   ``--connections`` keep-alive connections (http.client, one thread each): GET byBinding for
   kept values, and GET of a real manifest store. Requests per second over the whole run,
   and each request's latency.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from _results import emit_section, section_head  # sibling module of the benchmark scripts

from provenance._version import __version__
from provenance.repository import ManifestRepository
from provenance.testing.pki import generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import write_image

BENCH_NAME = "bench_repository"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / "benchmarks" / "_work" / "repository"

ALG = "io.github.provenance-checker.keyed-id.1"
SECOND_ALG = "io.iscc.v0"  # on every tenth entry, so the repository holds two algorithms
REAL_STORES = 3
STUB_BYTES = 512
BUILD_FORMAT = 1
BATCH = 50_000


def identifier(index: int) -> str:
    """The soft-binding value of synthetic entry ``index``: 8 scattered bytes, base64."""
    digest = hashlib.blake2b(index.to_bytes(8, "big"), digest_size=8, person=b"bench-id")
    return base64.b64encode(digest.digest()).decode("ascii")


def manifest_id(index: int) -> str:
    digest = hashlib.blake2b(index.to_bytes(8, "big"), digest_size=16, person=b"bench-mid")
    return f"urn:c2pa:{uuid.UUID(bytes=digest.digest())}"


def _synthetic_rows(
    entries: int,
) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[str, str, str]]]]:
    """Batches of (manifest rows, binding rows)."""
    stub = bytes(range(256)) * (STUB_BYTES // 256)
    digest = hashlib.sha256(stub).hexdigest()
    base = 1_700_000_000
    for start in range(0, entries, BATCH):
        manifests: list[tuple[object, ...]] = []
        bindings: list[tuple[str, str, str]] = []
        for index in range(start, min(entries, start + BATCH)):
            mid = manifest_id(index)
            added = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(base + index))
            manifests.append(
                (mid, stub, digest, f"synthetic {index}", "benchmark", "benchmark", added)
            )
            bindings.append((ALG, identifier(index), mid))
            if index % 10 == 0:
                bindings.append((SECOND_ALG, identifier(10**12 + index), mid))
        yield manifests, bindings


@dataclass(frozen=True)
class Built:
    path: Path
    entries: int
    real_ids: list[str]
    seconds: float | None  # None when reused


def build(workdir: Path, entries: int) -> Built:
    """The benchmark repository in ``workdir`` (reused when built with the same parameters)."""
    path = workdir / "repository.db"
    marker = workdir / "built.json"
    params = {"format": BUILD_FORMAT, "entries": entries, "stub": STUB_BYTES}
    try:
        recorded = json.loads(marker.read_text("utf-8"))
        if recorded["params"] == params and path.is_file():
            return Built(path, entries, list(recorded["real_ids"]), None)
    except (OSError, ValueError, KeyError):
        pass
    started = time.perf_counter()
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in (
        path,
        marker,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
    ):
        stale.unlink(missing_ok=True)
    ManifestRepository(path).close()  # the real schema, indexes and format version
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA synchronous = OFF")  # a benchmark file: speed over durability
        db.execute("BEGIN")
        for done, (manifests, bindings) in enumerate(_synthetic_rows(entries), 1):
            db.executemany("INSERT INTO manifests VALUES (?, ?, ?, ?, ?, ?, ?)", manifests)
            db.executemany("INSERT INTO bindings VALUES (?, ?, ?)", bindings)
            print(f"  {min(entries, done * BATCH):,} / {entries:,} rows", file=sys.stderr)
        db.execute("COMMIT")
        db.execute("ANALYZE")
    db.close()
    pki = generate_pki(workdir / "pki", name="provenance-checker benchmark")
    real_ids = []
    with ManifestRepository(path) as repository:
        for index in range(REAL_STORES):
            picture = write_image(workdir / f"real_{index}.jpg", seed=index)
            store = workdir / f"real_{index}.c2pa"
            binding = {"alg": ALG, "blocks": [{"scope": {}, "value": identifier(entries + index)}]}
            sign_file(
                picture,
                workdir / f"real_{index}_signed.jpg",
                pki=pki,
                extra_assertions=[{"label": "c2pa.soft-binding", "data": binding}],
                store_to=store,
            )
            real_ids.append(repository.add(store.read_bytes(), added_by="benchmark").manifest_id)
    marker.write_text(json.dumps({"params": params, "real_ids": real_ids}), "utf-8")
    return Built(path, entries, real_ids, time.perf_counter() - started)


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _timed_calls(call: Callable[[int], object], count: int) -> list[float]:
    """Microseconds per call, each timed alone."""
    timings = []
    for index in range(count):
        started = time.perf_counter_ns()
        call(index)
        timings.append((time.perf_counter_ns() - started) / 1000)
    return timings


def lookups(built: Built, count: int, seed: int) -> list[tuple[str, list[float]]]:
    rng = random.Random(seed)
    kept = [identifier(rng.randrange(built.entries)) for _ in range(count)]
    missing = [identifier(built.entries + REAL_STORES + rng.randrange(10**9)) for _ in range(count)]
    ids = [manifest_id(rng.randrange(built.entries)) for _ in range(count)]
    rows = []
    with ManifestRepository(built.path, read_only=True) as repository:
        for value in kept[:200]:  # warm-up
            repository.by_binding(ALG, value)
        hit = _timed_calls(lambda i: repository.by_binding(ALG, kept[i]), count)
        assert all(repository.by_binding(ALG, value) for value in kept[:100])
        rows.append(("`by_binding`, value kept (1 match)", hit))
        miss = _timed_calls(lambda i: repository.by_binding(ALG, missing[i]), count)
        rows.append(("`by_binding`, value not kept", miss))
        rows.append(
            (
                "`manifest_store` (512-byte stand-in)",
                _timed_calls(lambda i: repository.manifest_store(ids[i]), count),
            )
        )
        rows.append(
            (
                "`algorithms()` (supportedAlgorithms)",
                _timed_calls(lambda i: repository.algorithms(), 200),
            )
        )
        assert repository.algorithms() == sorted([ALG, SECOND_ALG])
    return rows


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    latencies_ms: list[float]


def _load(url: str, paths: Sequence[str], connections: int) -> Load:
    """Send every path once over ``connections`` keep-alive connections, in parallel."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    shares = [paths[i::connections] for i in range(connections)]
    start = threading.Barrier(connections + 1)

    def client(share: Sequence[str]) -> list[float]:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        timings = []
        start.wait()
        for path in share:
            began = time.perf_counter_ns()
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            timings.append((time.perf_counter_ns() - began) / 1e6)
            if response.status != 200 or not body:
                raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
        connection.close()
        return timings

    with ThreadPoolExecutor(max_workers=connections) as pool:
        futures = [pool.submit(client, share) for share in shares]
        start.wait()
        began = time.perf_counter()
        latencies = [t for future in futures for t in future.result()]
        seconds = time.perf_counter() - began
    return Load(len(paths), seconds, latencies)


def server_load(built: Built, requests: int, connections: int, seed: int) -> list[tuple[str, Load]]:
    """Requests per second of a ``provenance repository serve`` process."""
    command = [
        sys.executable, "-m", "provenance", "repository", "serve",
        "-r", str(built.path), "--port", "0", "--no-access-log",
    ]  # fmt: skip
    environment = {**os.environ}
    environment.pop("PROVENANCE_MARK_KEY", None)
    environment.pop("PROVENANCE_REPOSITORY_TOKEN", None)
    server = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if " at http://" not in line:
            raise RuntimeError(f"the server did not start: {line!r}")
        url = line.rsplit(" at ", 1)[1].strip()
        rng = random.Random(seed)
        by_binding = [
            "/matches/byBinding?"
            + urlencode({"alg": ALG, "value": identifier(rng.randrange(built.entries))})
            for _ in range(requests)
        ]
        manifests = [
            f"/manifests/{quote(built.real_ids[i % len(built.real_ids)])}" for i in range(requests)
        ]
        with ManifestRepository(built.path, read_only=True) as repository:
            sizes = [len(repository.manifest_store(i) or b"") for i in built.real_ids]
        kb = statistics.fmean(sizes) / 1000
        _load(url, by_binding[:300], connections)  # warm-up: connections, threads, page cache
        return [
            ("GET /matches/byBinding (value kept)", _load(url, by_binding, connections)),
            (
                f"GET /manifests/{{manifestId}} (a real store, {kb:.0f} KB)",
                _load(url, manifests, connections),
            ),
            (
                "GET /services/supportedAlgorithms",
                _load(url, ["/services/supportedAlgorithms"] * requests, connections),
            ),
        ]
    finally:
        server.terminate()
        server.wait(timeout=60)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="synthetic entries (10^6)")
    parser.add_argument("--lookups", type=int, default=20_000, help="timed lookups per kind")
    parser.add_argument("--requests", type=int, default=10_000, help="HTTP requests per kind")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections (4)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the queried values (0)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR, help="build directory")
    parser.add_argument("--output", default="-", help="'-' to print, or a Markdown file")
    args = parser.parse_args(argv)

    print(f"building or reusing {args.entries:,} entries in {args.workdir}", file=sys.stderr)
    built = build(args.workdir, args.entries)
    size_mb = built.path.stat().st_size / 1e6
    print("timing lookups", file=sys.stderr)
    lookup_rows = lookups(built, args.lookups, args.seed)
    print("timing the server", file=sys.stderr)
    load_rows = server_load(built, args.requests, args.connections, args.seed)

    versions = ", ".join(
        [
            f"SQLite {sqlite3.sqlite_version}",
            f"starlette {metadata.version('starlette')}",
            f"uvicorn {metadata.version('uvicorn')}",
            f"h11 {metadata.version('h11')}",
            f"provenance-checker {__version__}",
        ]
    )
    built_note = (
        "reused from an earlier run" if built.seconds is None else f"built in {built.seconds:.0f} s"
    )
    lines = [
        *section_head(
            BENCH_NAME,
            "Manifest repository: lookups with a million entries, and the resolution server",
            versions,
        ),
        f"- **Repository:** {built.entries:,} synthetic entries plus {REAL_STORES} real signed "
        f"stores, {size_mb:,.0f} MB on disk ({built_note}). Signing a million manifests is "
        "impractical, so the entries are rows inserted with SQL into a file made by "
        "`ManifestRepository` (its tables and indexes): one soft binding each (8 bytes, base64), "
        "a second algorithm on every tenth, a 512-byte stand-in for each store. The real stores "
        "are added with `ManifestRepository.add`.",
        f"- **Platform:** {platform.system()} {platform.release()}; page cache warm.",
        "",
        f"Lookups through `ManifestRepository(read_only=True)`, each call timed alone, "
        f"{args.lookups:,} calls (200 for `algorithms()`), values drawn with seed {args.seed}:",
        "",
        "| call | p50 µs | p99 µs | mean µs |",
        "|---|---:|---:|---:|",
    ]
    for name, timings in lookup_rows:
        lines.append(
            f"| {name} | {_percentile(timings, 0.5):.0f} | {_percentile(timings, 0.99):.0f} | "
            f"{statistics.fmean(timings):.0f} |"
        )
    lines += [
        "",
        f"The resolution server (`provenance repository serve`, one process, access log off) on "
        f"loopback, queried by the benchmark's own process with Python's http.client over "
        f"{args.connections} keep-alive connections (one thread each), {args.requests:,} requests "
        "per row after a warm-up; the client shares the machine's CPUs with the server:",
        "",
        "| request | requests/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
    ]
    for name, load in load_rows:
        lines.append(
            f"| {name} | {load.requests / load.seconds:,.0f} | "
            f"{_percentile(load.latencies_ms, 0.5):.2f} | {_percentile(load.latencies_ms, 0.99):.2f} |"
        )
    lines.append(f"<!-- {BENCH_NAME}:end -->")
    emit_section("\n".join(lines) + "\n", args.output, BENCH_NAME)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
