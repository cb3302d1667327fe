"""The results store of ``provenance scan``: SQLite in WAL mode, one writer (the scan driver).

Results are keyed by the file's content (SHA-256) and the options fingerprint
(:meth:`~provenance.options.CheckOptions.fingerprint`), so a file that has not changed is
not checked again under the same options, wherever it now lives. A second table remembers
each path's size, modification time and inode with the hash they had, so that recognising an
unchanged file costs one ``stat``, not a read. Each result is committed as it arrives: a scan
killed at any moment (even with SIGKILL) keeps every result it had reported, and a resumed scan
neither loses nor repeats one.

Files whose check could not start reading them (missing, unreadable) or did not finish (time or
memory limit, crashed worker) have no content hash from the check; they are stored under their
path, size and modification time instead (``content`` = ``path:...``), so a resumed scan skips
them too, and ``retry_errors`` checks them again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from provenance._sqlite import immediate_transaction
from provenance.errors import ScanError
from provenance.report import Report, VerdictCode, printable

__all__ = ["FileState", "ResultStore", "ScanRecord", "file_state", "is_failed"]

_SCHEMA_VERSION = 1
# The ``settings`` columns hold the options fingerprint and the public options (their names
# date from schema 1, which this store keeps). ``scans.inputs`` is JSON that grows by keys
# (``reports`` came later): a reader takes a missing key as "none", so stores stay readable
# both ways without a new schema version.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    content TEXT NOT NULL,
    settings TEXT NOT NULL,
    path TEXT NOT NULL,
    verdict TEXT NOT NULL,
    failed INTEGER NOT NULL,
    report TEXT NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (content, settings)
);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    content TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    settings TEXT NOT NULL,
    settings_public TEXT NOT NULL,
    inputs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scan_files (
    scan INTEGER NOT NULL,
    path TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (scan, path)
);
"""

# each table's columns, in order, as _SCHEMA makes them
_COLUMNS = {
    "meta": ("name", "value"),
    "results": ("content", "settings", "path", "verdict", "failed", "report", "stored_at"),
    "files": ("path", "size", "mtime_ns", "inode", "content"),
    "scans": ("id", "started_at", "finished_at", "settings", "settings_public", "inputs"),
    "scan_files": ("scan", "path", "content"),
}


@dataclass(frozen=True)
class FileState:
    """What ``stat`` says about a file: enough to tell that it has not changed."""

    path: str
    """The absolute path, :func:`~provenance.report.printable` (SQLite keeps UTF-8 only)."""
    size: int
    mtime_ns: int
    inode: int

    def pseudo_content(self) -> str:
        """The key of a result that has no content hash (the check did not read the file)."""
        return f"path:{self.path}:{self.size}:{self.mtime_ns}"


def is_failed(report: Report) -> bool:
    """True when the check of a file did not fully run (verdict ``error`` or an error noted)."""
    return report.verdict.code is VerdictCode.ERROR or bool(report.errors)


def file_state(path: str | os.PathLike[str]) -> FileState | None:
    """The :class:`FileState` of a path (absolute), or None when it cannot be ``stat``-ed."""
    absolute = os.path.abspath(path)
    try:
        info = os.stat(absolute)
    except OSError:
        return None
    return FileState(printable(absolute), info.st_size, info.st_mtime_ns, info.st_ino)


@dataclass(frozen=True)
class ScanRecord:
    """One scan recorded in the store."""

    id: int
    started_at: str
    finished_at: str | None
    fingerprint: str
    """The options fingerprint (:meth:`~provenance.options.CheckOptions.fingerprint`)."""
    options: dict[str, Any]
    """The scan's options as public plain data (keys by fingerprint)."""
    inputs: dict[str, Any]
    """What the scan was given: ``paths``, ``cwd`` (the folder it ran in, against which
    relative paths are resumed; absent in scans recorded before), ``walk``
    (``WalkOptions.to_dict()``) and ``reports`` (``ReportFiles.to_dict()``; absent in scans
    recorded before report files were kept)."""


def _same_scan(one: tuple[str, str], other: tuple[str, str]) -> bool:
    """Two recorded scans (fingerprint, inputs) cover the same files with the same options
    (the report files they name may differ)."""
    if one[0] != other[0]:
        return False
    try:
        first, second = json.loads(one[1]), json.loads(other[1])
        if first.get("walk") != second.get("walk"):
            return False
        if first.get("cwd") and second.get("cwd"):  # paths as they were meant where each ran
            return _absolute(first) == _absolute(second)
        return bool(first.get("paths") == second.get("paths"))
    except (ValueError, TypeError, AttributeError):  # a damaged record: not the same scan
        return False


def _absolute(inputs: dict[str, Any]) -> list[str]:
    """A recorded scan's paths, relative ones joined to the folder it ran in."""
    return [os.path.normpath(os.path.join(inputs["cwd"], path)) for path in inputs["paths"]]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ResultStore:
    """Scan results in an SQLite file (created if missing). One scan writes at a time: a
    scan takes the store (:meth:`take`) and the next one waits for it; readers may look at
    any time.

    Raises
    ------
    ScanError
        The store cannot be made or opened, or the file is not a results store of this
        version.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock: BinaryIO | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ScanError(
                f"{self.path}: cannot make the results store's folder ({exc.strerror or exc}); "
                "choose a --store path in a folder you can write, or --no-store"
            ) from exc
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            # text that is not UTF-8 (a damaged or foreign row) reads with replacement
            # characters, so the row fails as a report (a miss) instead of failing the scan
            self._db.text_factory = lambda data: data.decode("utf-8", "replace")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE name='schema'").fetchone()
        except sqlite3.OperationalError as exc:  # cannot open or write, locked, read-only
            raise ScanError(
                f"{self.path}: the results store cannot be used ({exc}); check that its folder "
                "is writable, or choose another --store file (or --no-store)"
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise ScanError(
                f"{self.path}: not a provenance results store ({exc}); choose another --store file"
            ) from exc
        self._check_shape()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(_SCHEMA_VERSION),))
        elif row[0] != str(_SCHEMA_VERSION):
            raise ScanError(
                f"{self.path}: results store of schema {row[0]}, this version reads "
                f"{_SCHEMA_VERSION}; use a new --store file"
            )

    def _check_shape(self) -> None:
        """Refuse an SQLite file whose tables have other columns than a results store's (another
        program's database, say): using it would fail later with a misleading message."""
        for table, wanted in _COLUMNS.items():
            found = [row[1] for row in self._db.execute(f"PRAGMA table_info({table})")]
            if found != list(wanted):
                raise ScanError(
                    f"{self.path}: not a provenance results store (its table {table!r} has the "
                    f"columns {', '.join(found)}); choose another --store file"
                )

    def take(self, on_wait: Callable[[Path], None] | None = None) -> None:
        """Take the store for one scan, waiting while another scan (another process) has it;
        ``on_wait`` hears about the wait first. The lock is a ``flock`` on ``STORE.lock``,
        released by :meth:`close` or when the process ends, however it ends."""
        import fcntl

        if self._lock is not None:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            lock = open(lock_path, "a+b")  # noqa: SIM115 (held until close)
        except OSError as exc:
            raise ScanError(
                f"{lock_path}: cannot make the store's lock file ({exc.strerror or exc}); "
                "choose a --store in a folder you can write, or --no-store"
            ) from exc
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(self.path)
            fcntl.flock(lock, fcntl.LOCK_EX)
        self._lock = lock

    def close(self) -> None:
        """Close the database (and give the store up, see :meth:`take`)."""
        self._db.close()
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """SQLite's failures while the store is in use (a full disk, a read-only or immutable
        file, a store damaged under us) as one :class:`ScanError` that says what to do."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            raise ScanError(
                f"{self.path}: the results store cannot be written ({exc}); what it holds is "
                "kept. Free disk space or make the file writable, then run the scan again "
                "(with --resume if it was interrupted), or choose another --store (or "
                "--no-store)"
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise ScanError(
                f"{self.path}: the results store is damaged ({exc}); choose another --store file"
            ) from exc

    # ------------------------------------------------------------------ scans

    def start_scan(self, fingerprint: str, options: dict[str, Any], inputs: dict[str, Any]) -> int:
        """Record a new scan; returns its id."""
        with self._guarded():
            cursor = self._db.execute(
                "INSERT INTO scans (started_at, settings, settings_public, inputs) VALUES (?,?,?,?)",
                (_now(), fingerprint, json.dumps(options), json.dumps(inputs)),
            )
            assert cursor.lastrowid is not None
            return int(cursor.lastrowid)

    def finish_scan(self, scan: int) -> None:
        """Mark a scan finished (every file has a result), and with it the earlier unfinished
        scans of the same paths, walk and options: it completed them (a resumed scan is
        recorded as a new one), so ``--resume`` must not offer them again."""
        with self._guarded():
            rows = self._db.execute(
                "SELECT id, settings, inputs FROM scans WHERE finished_at IS NULL AND id <= ?",
                (scan,),
            ).fetchall()
            ours = next(((settings, inputs) for id_, settings, inputs in rows if id_ == scan), None)
            if ours is None:
                return
            same = [id_ for id_, settings, inputs in rows if _same_scan((settings, inputs), ours)]
            with immediate_transaction(self._db):
                now = _now()
                for id_ in same:
                    self._db.execute("UPDATE scans SET finished_at=? WHERE id=?", (now, id_))

    def last_unfinished(self) -> ScanRecord | None:
        """The most recent scan that did not finish, or None."""
        with self._guarded():
            row = self._db.execute(
                "SELECT id, started_at, finished_at, settings, settings_public, inputs FROM scans "
                "WHERE finished_at IS NULL ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
        try:
            options, inputs = json.loads(row[4]), json.loads(row[5])
        except ValueError:
            options = inputs = None
        if not isinstance(options, dict) or not isinstance(inputs, dict):
            raise ScanError(
                f"{self.path}: the record of its interrupted scan {row[0]} is damaged (its "
                "options or paths do not read); run that scan again without --resume (files "
                "already checked are not checked again)"
            )
        return ScanRecord(row[0], row[1], row[2], row[3], options, inputs)

    # ------------------------------------------------------------------ results

    def lookup(self, state: FileState, fingerprint: str) -> Report | None:
        """The stored report for this file under these options if the file is unchanged; a
        row that no longer reads as a report (damaged, foreign, of another shape) is a miss,
        so the file is checked again."""
        with self._guarded():
            row = self._db.execute(
                "SELECT r.report FROM files f JOIN results r ON r.content = f.content "
                "WHERE f.path=? AND f.size=? AND f.mtime_ns=? AND f.inode=? AND r.settings=?",
                (state.path, state.size, state.mtime_ns, state.inode, fingerprint),
            ).fetchone()
            if row is None:
                row = self._db.execute(
                    "SELECT report FROM results WHERE content=? AND settings=?",
                    (state.pseudo_content(), fingerprint),
                ).fetchone()
        if row is None:
            return None
        try:
            return Report.from_json(row[0])
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def put(
        self, scan: int, state: FileState | None, path: str, fingerprint: str, report: Report
    ) -> None:
        """Store one result, the file's state and its place in the scan, in one transaction."""
        with self._guarded():
            failed = is_failed(report)
            if report.sha256 is not None:
                content = report.sha256
            elif state is not None:
                content = state.pseudo_content()
            else:
                content = f"path:{printable(os.path.abspath(path))}"
            with immediate_transaction(self._db):
                self._db.execute(
                    "INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?)",
                    (
                        content,
                        fingerprint,
                        printable(path),
                        report.verdict.code.value,
                        int(failed),
                        report.to_json(),
                        _now(),
                    ),
                )
                if (
                    state is not None
                    and report.sha256 is not None
                    and report.size_bytes == state.size
                ):
                    self._db.execute(
                        "INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)",
                        (state.path, state.size, state.mtime_ns, state.inode, content),
                    )
                self._db.execute(
                    "INSERT OR REPLACE INTO scan_files VALUES (?,?,?)",
                    (scan, printable(path), content),
                )

    def add_to_scan(self, scan: int, path: str, state: FileState, stored: Report) -> None:
        """Record that a scan met an unchanged file whose ``stored`` report it reuses."""
        with self._guarded():
            content = stored.sha256 or state.pseudo_content()
            self._db.execute(
                "INSERT OR REPLACE INTO scan_files VALUES (?,?,?)",
                (scan, printable(path), content),
            )
