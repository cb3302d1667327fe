"""The SQLite manifest repository.

Each entry is one C2PA manifest store (the bytes a signer's ``Builder.sign`` returns, or a
``.c2pa`` sidecar), keyed by its active manifest's id, with who added it and when, and an
index of the soft bindings (algorithm, value) any of its manifests declares. A store is read
with c2pa-python before it is accepted, so the repository never holds bytes that are not a
manifest store; its signature is validated again whenever it is used against a file.

One writer at a time (SQLite's own locking); readers never block each other (WAL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance._sqlite import immediate_transaction
from provenance.credentials.ai import UNKNOWN_ALGORITHM, soft_bindings
from provenance.errors import ProvenanceError

__all__ = [
    "MAX_STORE_BYTES",
    "ManifestRepository",
    "RepositoryEntry",
    "RepositoryError",
    "iter_entries",
    "read_manifest_store",
]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS manifests (
    manifest_id TEXT PRIMARY KEY,
    store BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    title TEXT,
    claim_generator TEXT,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bindings (
    alg TEXT NOT NULL,
    value TEXT NOT NULL,
    manifest_id TEXT NOT NULL REFERENCES manifests(manifest_id) ON DELETE CASCADE,
    PRIMARY KEY (alg, value, manifest_id)
);
CREATE INDEX IF NOT EXISTS bindings_by_manifest ON bindings(manifest_id);
"""
#: The repository format; a file of another version is refused with a clear message.
_FORMAT_VERSION = 1
#: Largest manifest store accepted (real stores with thumbnails are well under 1 MB).
MAX_STORE_BYTES = 16 * 1024 * 1024


class RepositoryError(ProvenanceError):
    """The repository cannot be opened or used, or a manifest store is not acceptable."""


@dataclass(frozen=True)
class RepositoryEntry:
    """One manifest store in the repository, without its bytes."""

    manifest_id: str
    sha256: str
    title: str | None
    claim_generator: str | None
    added_by: str
    added_at: str
    bindings: tuple[tuple[str, str], ...]
    """(algorithm, value) of every soft binding the store declares."""
    size: int

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        return {
            "manifest_id": self.manifest_id,
            "sha256": self.sha256,
            "title": self.title,
            "claim_generator": self.claim_generator,
            "added_by": self.added_by,
            "added_at": self.added_at,
            "bindings": [{"alg": alg, "value": value} for alg, value in self.bindings],
            "bytes": self.size,
        }


def read_manifest_store(store: bytes) -> Mapping[str, Any]:
    """The JSON of a C2PA manifest store read by c2pa-python (nothing is fetched).

    Raises
    ------
    RepositoryError
        Empty, too large, or not a manifest store c2pa-python can read.
    """
    import c2pa

    if not store:
        raise RepositoryError("the manifest store is empty")
    if len(store) > MAX_STORE_BYTES:
        raise RepositoryError(
            f"the manifest store has {len(store):,} bytes; at most {MAX_STORE_BYTES:,} are accepted"
        )
    try:
        with c2pa.Reader("application/c2pa", io.BytesIO(store)) as reader:
            data: dict[str, Any] = json.loads(reader.json())
    except c2pa.C2paError as error:
        raise RepositoryError(f"not a C2PA manifest store c2pa can read ({error})") from None
    if not data.get("active_manifest"):
        raise RepositoryError("the manifest store has no active manifest")
    return data


class ManifestRepository:
    """Manifest stores in one SQLite file (created on first use unless ``create=False``).

    ``read_only=True`` opens an existing repository through a connection that cannot write
    and may be handed between threads (one at a time), as the resolution server's readers
    are. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path, *, create: bool = True, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if (read_only or not create) and not self.path.is_file():
            raise RepositoryError(
                f"no manifest repository at {self.path}; add a manifest to create one"
            )
        try:
            if read_only:
                self._open_read_only()
                return
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._check_version(allow_empty=True)
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version = {_FORMAT_VERSION}")
        except sqlite3.DatabaseError as error:
            raise RepositoryError(
                f"{self.path} is not a manifest repository ({error}); give another path"
            ) from None

    def _open_read_only(self) -> None:
        """A connection that cannot write (SQLite's ``mode=ro``), usable from any thread one
        at a time: a server keeps a few and lends them to its request threads."""
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        try:
            self._check_version(allow_empty=False)
        except BaseException:
            self._db.close()
            raise

    def _check_version(self, *, allow_empty: bool) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and not allow_empty:
            raise RepositoryError(
                f"{self.path} is not a manifest repository (an empty or foreign SQLite file); "
                "give another path"
            )
        if version not in (0, _FORMAT_VERSION):
            raise RepositoryError(
                f"{self.path} is a manifest repository of format {version}; this version "
                f"reads format {_FORMAT_VERSION}"
            )

    def __enter__(self) -> ManifestRepository:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM manifests").fetchone()[0])

    def add(self, store: bytes, *, added_by: str) -> RepositoryEntry:
        """Keep a manifest store; returns its entry. Adding the same store again changes
        nothing (and returns the existing entry).

        Raises
        ------
        RepositoryError
            ``store`` is not a readable manifest store, or another store with the same active
            manifest id is already kept.
        """
        if self.read_only:
            raise RepositoryError(f"{self.path} was opened read-only; open it to write")
        data = read_manifest_store(store)
        manifest_id = str(data["active_manifest"])
        digest = hashlib.sha256(store).hexdigest()
        existing = self.get(manifest_id)
        if existing is not None:
            if existing.sha256 == digest:
                return existing
            raise RepositoryError(
                f"another manifest store with the id {manifest_id} is already in the repository"
            )
        active: Mapping[str, Any] = (data.get("manifests") or {}).get(manifest_id) or {}
        generator = active.get("claim_generator")
        info = active.get("claim_generator_info")
        if not generator and isinstance(info, list) and info and isinstance(info[0], Mapping):
            generator = info[0].get("name")
        bindings = sorted(
            {
                (b.algorithm, b.value)
                for b in soft_bindings(data)
                if b.value is not None and b.algorithm != UNKNOWN_ALGORITHM
            }
        )
        added_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with immediate_transaction(self._db):
            self._db.execute(
                "INSERT INTO manifests VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    manifest_id,
                    store,
                    digest,
                    active.get("title"),
                    generator,
                    added_by,
                    added_at,
                ),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO bindings VALUES (?, ?, ?)",
                [(alg, value, manifest_id) for alg, value in bindings],
            )
        entry = self.get(manifest_id)
        assert entry is not None
        return entry

    def get(self, manifest_id: str) -> RepositoryEntry | None:
        """The entry of one manifest id, or None."""
        row = self._db.execute(
            "SELECT manifest_id, sha256, title, claim_generator, added_by, added_at, "
            "length(store) FROM manifests WHERE manifest_id = ?",
            (manifest_id,),
        ).fetchone()
        return None if row is None else self._entry(row)

    def manifest_store(self, manifest_id: str) -> bytes | None:
        """The bytes of one manifest store, or None."""
        row = self._db.execute(
            "SELECT store FROM manifests WHERE manifest_id = ?", (manifest_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def by_binding(self, alg: str, value: str, *, max_results: int = 10) -> list[RepositoryEntry]:
        """Entries whose store declares the soft binding (``alg``, ``value``), newest first."""
        rows = self._db.execute(
            "SELECT m.manifest_id, m.sha256, m.title, m.claim_generator, m.added_by, "
            "m.added_at, length(m.store) FROM bindings b JOIN manifests m USING (manifest_id) "
            "WHERE b.alg = ? AND b.value = ? ORDER BY m.added_at DESC, m.manifest_id LIMIT ?",
            (alg, value, max(0, max_results)),
        ).fetchall()
        return [self._entry(row) for row in rows]

    def algorithms(self) -> list[str]:
        """The soft-binding algorithms of the kept stores, sorted: one index seek per
        algorithm (a recursive skip over the bindings index), not a scan of every binding."""
        rows = self._db.execute(
            "WITH RECURSIVE algs(alg) AS ("
            " SELECT MIN(alg) FROM bindings"
            " UNION ALL"
            " SELECT (SELECT MIN(alg) FROM bindings WHERE alg > algs.alg) FROM algs"
            " WHERE algs.alg IS NOT NULL"
            ") SELECT alg FROM algs WHERE alg IS NOT NULL"
        ).fetchall()
        return [str(row[0]) for row in rows]

    def binding_values(self, alg: str, *, limit: int) -> list[str]:
        """The distinct soft-binding values of algorithm ``alg``, at most ``limit`` of them."""
        rows = self._db.execute(
            "SELECT DISTINCT value FROM bindings WHERE alg = ? LIMIT ?", (alg, max(0, limit))
        ).fetchall()
        return [str(row[0]) for row in rows]

    def has_algorithm(self, alg: str) -> bool:
        """Whether any kept store declares a soft binding of algorithm ``alg``."""
        row = self._db.execute("SELECT 1 FROM bindings WHERE alg = ? LIMIT 1", (alg,)).fetchone()
        return row is not None

    def entries(self, *, limit: int = 100, offset: int = 0) -> list[RepositoryEntry]:
        """Entries in the order they were added."""
        rows = self._db.execute(
            "SELECT manifest_id, sha256, title, claim_generator, added_by, added_at, "
            "length(store) FROM manifests ORDER BY rowid LIMIT ? OFFSET ?",
            (max(0, limit), max(0, offset)),
        ).fetchall()
        return [self._entry(row) for row in rows]

    def _entry(self, row: tuple[Any, ...]) -> RepositoryEntry:
        bindings = self._db.execute(
            "SELECT alg, value FROM bindings WHERE manifest_id = ? ORDER BY alg, value",
            (row[0],),
        ).fetchall()
        return RepositoryEntry(
            manifest_id=row[0],
            sha256=row[1],
            title=row[2],
            claim_generator=row[3],
            added_by=row[4],
            added_at=row[5],
            bindings=tuple((str(a), str(v)) for a, v in bindings),
            size=int(row[6]),
        )


def iter_entries(repository: ManifestRepository, *, page: int = 500) -> Iterator[RepositoryEntry]:
    """Every entry, in pages of ``page`` (bounded memory on a large repository)."""
    offset = 0
    while True:
        batch = repository.entries(limit=page, offset=offset)
        if not batch:
            return
        yield from batch
        offset += len(batch)
