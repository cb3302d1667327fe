"""How a scan runs: :class:`ScanOptions` and :class:`Engine` (what it checks with is
:class:`~provenance.options.CheckOptions`).

Light to import, so that the command line can name them without loading the scan machinery.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.batch.walk import WalkOptions
from provenance.errors import ArgumentError

__all__ = [
    "DEFAULT_MEMORY_MB",
    "DEFAULT_TIMEOUT",
    "Engine",
    "ReportFiles",
    "ScanOptions",
    "usable_cpus",
]


class Engine(enum.StrEnum):
    """Where the per-file checks run."""

    LOCAL = "local"
    """Isolated worker processes on this machine, with a time and memory limit per file."""
    DASK = "dask"
    """The same per-file job on a Dask cluster (each Dask worker isolates it the same way)."""
    INLINE = "inline"
    """In this process, one file at a time: no isolation and no limits (``provenance check``,
    tests, debugging)."""


@dataclass(frozen=True)
class ReportFiles:
    """The report files a scan's caller writes when the scan finishes (the command line's
    ``--html``, ``--csv`` and ``--jsonl``).

    :func:`~provenance.batch.engine.scan` does not write them: it records them with the scan,
    so that a resumed scan can write the reports its interrupted command named
    (:func:`~provenance.batch.engine.interrupted_scan`). Paths are made absolute when given,
    so that a scan resumed from another folder writes the same files; ``-`` (standard output)
    stays ``-``.
    """

    html: str | None = None
    csv: str | None = None
    jsonl: str | None = None

    def __post_init__(self) -> None:
        for kind in ("html", "csv", "jsonl"):
            value = getattr(self, kind)
            if value is None:
                continue
            if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
                raise ArgumentError(f"{kind} report must be a file path or '-', got {value!r}")
            if os.fspath(value) != "-":
                object.__setattr__(self, kind, os.path.abspath(value))
            else:
                object.__setattr__(self, kind, "-")

    def __bool__(self) -> bool:
        return any(value is not None for value in (self.html, self.csv, self.jsonl))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what a results store records of a scan)."""
        return {"html": self.html, "csv": self.csv, "jsonl": self.jsonl}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportFiles:
        """Report files from :meth:`to_dict` data (missing kinds: none)."""
        return cls(html=data.get("html"), csv=data.get("csv"), jsonl=data.get("jsonl"))


#: The time (seconds) and memory (MiB) one file's check may take in a worker, by default: the
#: limits of ``provenance scan``, ``provenance check`` and :func:`provenance.check_isolated`.
DEFAULT_TIMEOUT = 900.0
DEFAULT_MEMORY_MB = 2048


def usable_cpus() -> int:
    """The CPUs this process may use (the default number of workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on this platform
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ScanOptions:
    """How a scan runs.

    Parameters
    ----------
    jobs
        Worker processes for the local engine (default: the CPUs this process may use).
    timeout
        Seconds one file may take before its worker is stopped (None: no limit).
    memory_mb
        Resident memory one worker may use, in MiB (None: no limit).
    store
        SQLite results store; None keeps no store (every file is checked).
    retry_errors
        Check again files whose stored result is an error (else they are skipped like the rest).
    rescan
        Ignore stored results and check everything again (results are still stored).
    engine
        :class:`Engine`.
    scheduler
        Dask scheduler address (``tcp://host:8786``); None with the dask engine starts a
        LocalCluster of ``jobs`` worker processes.
    walk
        How folders are walked (:class:`~provenance.batch.walk.WalkOptions`).
    reports
        The report files the caller will write when the scan finishes
        (:class:`ReportFiles`); only recorded with the scan, for a resumed scan to write.
    nothing_is_error
        A folder holding no media, or a walk that finds no file, stops the scan with a
        :class:`~provenance.errors.ScanError` before it starts (the default: a scan of an
        unmounted share must not end "0 files"). False reports such a folder as one file with
        its own error, as ``provenance check`` does.

    Raises
    ------
    ValueError
        A value is out of range; the message names it.
    """

    jobs: int = dataclasses.field(default_factory=usable_cpus)
    timeout: float | None = DEFAULT_TIMEOUT
    memory_mb: int | None = DEFAULT_MEMORY_MB
    store: Path | None = None
    retry_errors: bool = False
    rescan: bool = False
    engine: Engine = Engine.LOCAL
    scheduler: str | None = None
    walk: WalkOptions = dataclasses.field(default_factory=WalkOptions)
    reports: ReportFiles = dataclasses.field(default_factory=ReportFiles)
    nothing_is_error: bool = True

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "engine", Engine(self.engine))
        except ValueError:
            allowed = ", ".join(engine.value for engine in Engine)
            raise ArgumentError(f"engine must be one of {allowed}, got {self.engine!r}") from None
        if self.store is not None:
            object.__setattr__(self, "store", Path(self.store))
        if not isinstance(self.reports, ReportFiles):
            raise ArgumentError(f"reports must be a ReportFiles, got {type(self.reports).__name__}")
        if self.jobs < 1:
            raise ArgumentError(f"jobs must be at least 1, got {self.jobs}")
        if self.timeout is not None and self.timeout <= 0:
            raise ArgumentError(f"timeout must be positive, got {self.timeout}")
        if self.memory_mb is not None and self.memory_mb < 64:
            raise ArgumentError(f"memory_mb must be at least 64 MiB, got {self.memory_mb}")
        if self.scheduler is not None and self.engine is not Engine.DASK:
            raise ArgumentError("a scheduler address needs the dask engine")
