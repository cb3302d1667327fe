"""The scan driver: walk, skip what the store already knows, check the rest, store as it goes.

:func:`scan` is the library's entry point for many files (``provenance.scan``): ``provenance
check`` runs it in-process, ``provenance scan`` on isolated workers, and both render what it
yields. Engines (:class:`~provenance.batch.scan_options.Engine`):

- ``local`` (default): isolated worker processes on this machine
  (:class:`~provenance.batch.pool.WorkerPool`), with a time and memory limit per file;
- ``dask``: the same per-file job on a Dask cluster (an existing scheduler, or a LocalCluster
  started for the scan); each Dask worker runs the job in its own isolated worker process, so
  the limits and crash isolation hold there too. Results stream back to this process, which is
  the only one that writes the store: Dask workers only need to read the paths.
- ``inline``: in this process, one file at a time (no isolation).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.batch.scan_options import Engine, ReportFiles, ScanOptions
from provenance.batch.walk import WalkOptions, iter_media_files
from provenance.errors import ArgumentError, ScanError
from provenance.options import CheckOptions
from provenance.report import CheckError, Report, printable
from provenance.watermark.keys import key_fingerprint

if TYPE_CHECKING:
    from provenance.batch.pool import Outcome, Task, WorkerPool
    from provenance.batch.store import FileState, ResultStore

# The worker pool and the results store load only when a scan uses them, so that
# ``provenance check`` (in this process, without a store) starts no faster than it must.

__all__ = ["Interrupted", "ScanItem", "interrupted_scan", "scan"]


@dataclass(frozen=True)
class ScanItem:
    """One file of a scan: its report and where the report came from."""

    path: str
    report: Report
    cached: bool = False
    """True when the report came from the store (the file had not changed)."""
    stopped: str | None = None
    """``timeout``, ``memory``, ``crashed`` or ``failed`` when its check did not finish."""


def scan(
    paths: Iterable[str | os.PathLike[str]],
    options: CheckOptions | None = None,
    run: ScanOptions | None = None,
    *,
    on_planned: Callable[[int], None] | None = None,
    on_wait: Callable[[Path], None] | None = None,
    on_started: Callable[[], None] | None = None,
) -> Iterator[ScanItem]:
    """Check every media file under ``paths``; yields one :class:`ScanItem` per file.

    Files are yielded as they finish (in walk order with the inline engine). With a store,
    unchanged files already checked under the same options are yielded from it (``cached``),
    each result is committed as it arrives, and the scan is recorded (paths, walk and public
    options, and the report files the caller will write, ``run.reports``) so that an
    interrupted one can be resumed (:func:`interrupted_scan`). A scan that finishes also
    finishes the interrupted scans of the same paths and options it completes.

    Parameters
    ----------
    paths
        Files and folders (folders are walked, see :class:`WalkOptions`).
    options
        What to check with (default :class:`CheckOptions`); every worker gets the same.
    run
        How to run (default :class:`ScanOptions`).
    on_planned
        Called once with the number of files, after the walk.
    on_wait
        Called with the store's path when another scan is using the store: this one waits
        for it to finish, then reuses what it stored instead of checking those files again.
    on_started
        Called once the engine has started on the files to check (the local engine's
        workers are running: forking them needs this process to have one thread until
        then). A caller can then prepare its output, in a thread, while they check: the
        command line loads its renderer this way.

    Raises
    ------
    TrustListError
        The options' trust material cannot be used (it would make every result wrong).
    ScanError
        The scan cannot run: options that name one file's material (a sidecar, fragments)
        for several files, a store that cannot be used, workers that cannot start, a
        scheduler that cannot be reached, or nothing to scan (a folder without media, or
        filters that leave no file).
    """
    if options is not None and not isinstance(options, CheckOptions):
        raise ArgumentError(
            f"scan(paths, options, run): options must be a CheckOptions, got "
            f"{type(options).__name__} (how the scan runs goes in run=ScanOptions(...))"
        )
    if run is not None and not isinstance(run, ScanOptions):
        raise ArgumentError(
            f"scan(paths, options, run): run must be a ScanOptions, got {type(run).__name__}"
        )
    opts = (options or CheckOptions()).with_trust()
    how = run or ScanOptions()
    assert opts.trust is not None
    fingerprint = opts.fingerprint(opts.trust) if how.store is not None else ""
    given = [str(path) for path in paths]
    files = [str(path) for path in iter_media_files(given, how.walk)]
    if how.nothing_is_error:
        _refuse_nothing_to_scan(given, files, how.walk)
    if opts.describes_one_file and len(files) != 1:
        raise ScanError(
            f"--sidecar and --fragment belong to one file, and {len(files)} files were given; "
            "check that file on its own"
        )
    store = _open_store(how.store) if how.store is not None else None
    try:
        if store is not None:  # one scan at a time per store: the next one reuses its work
            store.take(on_wait)
        scan_id = 0
        todo: list[tuple[str, FileState | None]] = [(path, None) for path in files]
        cached: list[ScanItem] = []
        if store is not None:
            inputs = {
                "paths": given,
                "cwd": os.getcwd(),  # relative paths are resumed from any folder
                "walk": how.walk.to_dict(),
                "reports": how.reports.to_dict(),
            }
            scan_id = store.start_scan(fingerprint, opts.public(), inputs)
            cached, todo = _from_store(store, scan_id, files, fingerprint, how)
        if on_planned is not None:
            on_planned(len(files))
        yield from cached
        states = dict(todo)
        for path, report, stopped in _run(opts, how, [path for path, _ in todo], on_started):
            if store is not None:
                store.put(scan_id, states.get(path), path, fingerprint, report)
            yield ScanItem(path, report, stopped=stopped)
        if store is not None:
            store.finish_scan(scan_id)
    finally:
        if store is not None:
            store.close()


def _refuse_nothing_to_scan(given: Sequence[str], files: Sequence[str], walk: WalkOptions) -> None:
    """A folder with no media, or a walk that finds nothing, stops the scan before it starts:
    a nightly scan of an unmounted share or an emptied folder must not end "0 files, exit 0"
    (files named one by one still get their own error records)."""
    empty = [path for path in files if os.path.isdir(path) and os.access(path, os.R_OK | os.X_OK)]
    if empty:
        where = ", ".join(empty[:3]) + (f" and {len(empty) - 3} more" if len(empty) > 3 else "")
        raise ScanError(
            f"nothing to scan in {where}: no media file there (is the folder right, and the "
            "share mounted?)"
        )
    if not files:
        filters = " and ".join(
            f"--{name} {' '.join(patterns)}"
            for name, patterns in (("include", walk.include), ("exclude", walk.exclude))
            if patterns
        )
        raise ScanError(
            f"nothing to scan: no media file under {', '.join(given) or 'the paths given'}"
            + (f" passes {filters}" if filters else "")
        )


def _open_store(path: Path) -> ResultStore:
    from provenance.batch.store import ResultStore

    return ResultStore(path)


def _from_store(
    store: ResultStore, scan_id: int, files: Sequence[str], fingerprint: str, how: ScanOptions
) -> tuple[list[ScanItem], list[tuple[str, FileState | None]]]:
    """The files whose stored result still holds (recorded as met by this scan), and the rest
    to check, each with its ``stat`` state."""
    from provenance.batch.store import file_state, is_failed

    cached: list[ScanItem] = []
    todo: list[tuple[str, FileState | None]] = []
    for path in files:
        state = file_state(path)
        if state is not None and not how.rescan:
            stored = store.lookup(state, fingerprint)
            if stored is not None and not (how.retry_errors and is_failed(stored)):
                store.add_to_scan(scan_id, path, state, stored)
                cached.append(
                    ScanItem(path, dataclasses.replace(stored, path=printable(path)), cached=True)
                )
                continue
        todo.append((path, state))
    return cached, todo


def _run(
    options: CheckOptions,
    how: ScanOptions,
    paths: list[str],
    on_started: Callable[[], None] | None = None,
) -> Iterator[tuple[str, Report, str | None]]:
    """(path, report, stopped) for every path, as the engine finishes them."""
    if not paths:
        return
    if how.engine is Engine.INLINE:
        if on_started is not None:
            on_started()
        yield from _run_inline(options, paths)
        return
    from provenance.batch.check_job import check_job, report_of
    from provenance.batch.pool import Task, WorkerPool

    tasks = (Task(number, {"path": path}) for number, path in enumerate(paths))
    outcomes: Iterable[Outcome]
    if how.engine is Engine.DASK:
        from provenance.batch.dask_engine import run_dask

        outcomes = run_dask(options, how, tasks)
        if on_started is not None:
            on_started()
    else:
        pool = WorkerPool(
            check_job(options),
            jobs=min(how.jobs, len(paths)),
            timeout=how.timeout,
            memory_mb=how.memory_mb,
        )
        outcomes = _closing(pool, tasks, on_started)
    for outcome in outcomes:
        path = str(outcome.task.payload["path"])
        yield path, report_of(outcome, path), outcome.stopped


def _closing(
    pool: WorkerPool, tasks: Iterable[Task], on_started: Callable[[], None] | None
) -> Iterator[Outcome]:
    with pool:
        yield from pool.run(tasks, on_started=on_started)


def _run_inline(options: CheckOptions, paths: Sequence[str]) -> Iterator[tuple[str, Report, None]]:
    from provenance.check import check, failed_report

    for path in paths:
        try:
            report = check(path, options)
        except MemoryError:
            error = CheckError("scan", "memory", f"{path}: the check ran out of memory.")
            report = failed_report(path, error, why="The check did not finish.")
        yield path, report, None


# --------------------------------------------------------------------------- resume


@dataclass(frozen=True)
class Interrupted:
    """What a store remembers of its last interrupted scan: enough to run it again."""

    paths: list[str]
    options: CheckOptions
    walk: WalkOptions
    started_at: str
    reports: ReportFiles = dataclasses.field(default_factory=ReportFiles)
    """The report files its command named (none for a scan recorded before they were)."""


def interrupted_scan(store: str | os.PathLike[str], keys: Sequence[str] = ()) -> Interrupted:
    """The paths, walk, options and report files of the store's last interrupted scan.

    Keys are never stored: give the same keys the scan used (checked by fingerprint).

    Raises
    ------
    ScanError
        No store, nothing to resume, other keys, or a scan recorded by another version.
    """
    location = Path(store)
    if not location.is_file():
        raise ScanError(f"{location}: no results store to resume from (see --store)")
    with _open_store(location) as results:
        record = results.last_unfinished()
    if record is None:
        raise ScanError(f"{location}: every recorded scan finished; nothing to resume")
    public: dict[str, Any] = dict(record.options)
    try:
        watermarks = dict(public["watermarks"])
        wanted = sorted(watermarks["keys"])
        if sorted(key_fingerprint(key) for key in keys) != wanted:
            raise ScanError(
                f"the interrupted scan used {len(wanted)} keyed-mark key(s) "
                f"({', '.join(wanted) or 'none'}); give the same keys with --key-file"
            )
        options = CheckOptions.from_dict({**public, "watermarks": {**watermarks, "keys": keys}})
        walk = WalkOptions.from_dict(record.inputs.get("walk", {}))
        reports = ReportFiles.from_dict(record.inputs.get("reports") or {})
        paths = record.inputs.get("paths", [])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ScanError(
            f"{location}: its interrupted scan was recorded by another version of "
            f"provenance-checker ({exc}); run that scan again without --resume"
        ) from exc
    cwd = record.inputs.get("cwd")
    if not (isinstance(paths, list) and all(isinstance(path, str) for path in paths)) or not (
        cwd is None or isinstance(cwd, str)
    ):
        raise ScanError(
            f"{location}: its interrupted scan's paths are damaged ({paths!r}); run that scan "
            "again without --resume"
        )
    # relative paths as they were meant where the scan ran (stores from before the folder
    # was recorded: from here)
    paths = [os.path.join(cwd, path) for path in paths] if cwd else list(paths)
    return Interrupted(paths, options, walk, record.started_at, reports)
