"""The scan driver: walk, skip what the store already knows, check the rest, store as it goes.

:func:`scan` is the library entry point (``provenance.scan``); ``provenance scan`` wraps it
with progress, outputs and exit codes. Engines:

- ``local`` (default): isolated worker processes on this machine (:class:`WorkerPool`), with a
  time and memory limit per file;
- ``dask``: the same per-file job on a Dask cluster (an existing scheduler, or a LocalCluster
  started for the scan); each Dask worker runs the job in its own isolated worker process, so
  the limits and crash isolation hold there too. Results stream back to this process, which is
  the only one that writes the store: Dask workers only need to read the paths.
- ``inline``: in this process, one file at a time (no isolation; for tests and debugging).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.batch import Engine
from provenance.batch.pool import Outcome, ScanError, Task, WorkerPool
from provenance.batch.settings import ScanSettings
from provenance.batch.store import FileState, ResultStore, file_state, is_failed
from provenance.batch.walk import WalkOptions, iter_scan_paths
from provenance.report import CheckError, Report

if TYPE_CHECKING:
    from provenance.check import CheckOptions

__all__ = ["Engine", "ScanItem", "ScanOptions", "scan", "usable_cpus"]


def usable_cpus() -> int:
    """The CPUs this process may use (the default number of workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on this platform
        return os.cpu_count() or 1


@dataclass(frozen=True)
class ScanOptions:
    """How a scan runs (what it checks with is :class:`ScanSettings`).

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
        How folders are walked (:class:`WalkOptions`).
    """

    jobs: int = dataclasses.field(default_factory=usable_cpus)
    timeout: float | None = 900.0
    memory_mb: int | None = 2048
    store: Path | None = None
    retry_errors: bool = False
    rescan: bool = False
    engine: Engine = Engine.LOCAL
    scheduler: str | None = None
    walk: WalkOptions = dataclasses.field(default_factory=WalkOptions)

    def __post_init__(self) -> None:
        object.__setattr__(self, "engine", Engine(self.engine))
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, got {self.jobs}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.memory_mb is not None and self.memory_mb < 64:
            raise ValueError(f"memory_mb must be at least 64 MiB, got {self.memory_mb}")
        if self.scheduler is not None and self.engine is not Engine.DASK:
            raise ValueError("a scheduler address needs the dask engine")


@dataclass(frozen=True)
class ScanItem:
    """One file of a scan: its report and where the report came from."""

    path: str
    report: Report
    cached: bool = False
    """True when the report came from the store (the file had not changed)."""
    stopped: str | None = None
    """``timeout``, ``memory`` or ``crashed`` when the worker had to be stopped."""


def scan(
    paths: Iterable[str | os.PathLike[str]],
    settings: ScanSettings | None = None,
    options: ScanOptions | None = None,
    *,
    inputs: dict[str, Any] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> Iterator[ScanItem]:
    """Check every media file under ``paths``; yields one :class:`ScanItem` per file.

    Files are yielded as they finish (not in walk order). With a store, unchanged files already
    checked under the same settings are yielded from it (``cached``), each result is committed
    as it arrives, and the scan is recorded so that an interrupted one can be resumed.

    Parameters
    ----------
    paths
        Files and folders (folders are walked, see :class:`WalkOptions`).
    settings
        What to check with (default :class:`ScanSettings`).
    options
        How to run (default :class:`ScanOptions`).
    inputs
        What to record as this scan's inputs in the store (default: the paths).
    on_planned
        Called once with the number of files to check, after the walk.

    Raises
    ------
    ScanError
        The scan cannot run (settings unusable, workers cannot start, scheduler unreachable).
    """
    conf = settings or ScanSettings()
    opts = options or ScanOptions()
    try:
        check_options = conf.check_options()  # loads the trust material
    except Exception as exc:  # unusable trust settings would make every result wrong
        raise ScanError(f"the scan's trust settings cannot be used: {exc}") from None
    assert check_options.trust is not None
    fingerprint = conf.fingerprint(check_options.trust)
    given = [str(path) for path in paths]
    files = [str(path) for path in iter_scan_paths(given, opts.walk)]
    store = ResultStore(opts.store) if opts.store is not None else None
    try:
        scan_id = 0
        if store is not None:
            scan_id = store.start_scan(
                fingerprint,
                conf.public(),
                inputs if inputs is not None else {"paths": given},
            )
        todo: list[tuple[str, FileState | None]] = []
        cached: list[ScanItem] = []
        for path in files:
            state = file_state(path) if store is not None else None
            if store is not None and state is not None and not opts.rescan:
                stored = store.lookup(state, fingerprint)
                if stored is not None and not (opts.retry_errors and is_failed(stored)):
                    store.add_to_scan(scan_id, path, state, stored)
                    cached.append(
                        ScanItem(path, dataclasses.replace(stored, path=path), cached=True)
                    )
                    continue
            todo.append((path, state))
        if on_planned is not None:
            on_planned(len(files))
        yield from cached
        states = dict(todo)
        for outcome in _run(conf, check_options, opts, [path for path, _ in todo]):
            path = outcome.task.path
            if store is not None:
                store.put(scan_id, states.get(path), path, fingerprint, outcome.report)
            yield ScanItem(path, outcome.report, stopped=outcome.stopped)
        if store is not None:
            store.finish_scan(scan_id)
    finally:
        if store is not None:
            store.close()


def _run(
    settings: ScanSettings, check_options: CheckOptions, opts: ScanOptions, paths: list[str]
) -> Iterator[Outcome]:
    tasks = (Task(number, path) for number, path in enumerate(paths))
    if not paths:
        return
    if opts.engine is Engine.INLINE:
        yield from _run_inline(check_options, tasks)
    elif opts.engine is Engine.DASK:
        from provenance.batch.dask_engine import run_dask

        yield from run_dask(settings, opts, tasks)
    else:
        with WorkerPool(
            settings,
            jobs=min(opts.jobs, len(paths)),
            timeout=opts.timeout,
            memory_mb=opts.memory_mb,
        ) as pool:
            yield from pool.run(tasks)


def _run_inline(options: CheckOptions, tasks: Iterable[Task]) -> Iterator[Outcome]:
    from provenance.check import check, failed_report

    for task in tasks:
        try:
            report = check(task.path, options)
        except MemoryError:
            error = CheckError("scan", "memory", f"{task.path}: the check ran out of memory.")
            report = failed_report(task.path, error, why="The check did not finish.")
        yield Outcome(task, report)
