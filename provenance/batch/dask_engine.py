"""The Dask engine: the scan's per-file job on a Dask cluster, results streamed back.

Each task is :func:`isolated_check`: on the Dask worker it hands the file to a one-process
:class:`~provenance.batch.pool.WorkerPool` kept by each Dask worker thread, so a file
that crashes a native library, runs past the time limit or over the memory limit costs only its
own result there too, and the Dask worker survives. The driver keeps a bounded number of tasks
in flight (four per Dask worker thread), so a scan of millions of files does not build a
million futures. Workers need the same provenance-checker version, and must see the files at
the same paths (a shared mount); trust material is loaded on each worker from the settings.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from provenance.batch.pool import Outcome, ScanError, Task, WorkerPool
from provenance.batch.settings import ScanSettings
from provenance.report import CheckError, Report

if TYPE_CHECKING:
    from provenance.batch.engine import ScanOptions

__all__ = ["isolated_check", "run_dask"]

#: Seconds to wait for an existing scheduler before giving up.
CONNECT_SECONDS = 30.0

_THREAD = threading.local()  # each Dask worker thread keeps its own isolated process


def _pool(settings_json: str, timeout: float | None, memory_mb: int | None) -> WorkerPool:
    pools: dict[tuple[str, float | None, int | None], WorkerPool] | None = getattr(
        _THREAD, "pools", None
    )
    if pools is None:
        pools = _THREAD.pools = {}
    key = (settings_json, timeout, memory_mb)
    pool = pools.get(key)
    if pool is None:
        pool = WorkerPool(
            ScanSettings.from_json(settings_json), jobs=1, timeout=timeout, memory_mb=memory_mb
        )
        pools[key] = pool
        atexit.register(pool.close)
    return pool


def isolated_check(
    number: int, path: str, settings_json: str, timeout: float | None, memory_mb: int | None
) -> tuple[dict[str, Any], str | None]:
    """Run on a Dask worker: check one file in an isolated process; (report dict, stopped).

    Each Dask worker thread has its own isolated process, so a Dask worker with N threads
    checks N files at a time.
    """
    [outcome] = _pool(settings_json, timeout, memory_mb).run([Task(number, path)])
    return outcome.report.to_dict(), outcome.stopped


def run_dask(settings: ScanSettings, opts: ScanOptions, tasks: Iterable[Task]) -> Iterator[Outcome]:
    """Run the tasks on a Dask cluster; yields outcomes as they complete."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ScanError(
            "the dask engine needs Dask: pip install 'provenance-checker[cluster]'"
        ) from None
    cluster = None
    try:
        if opts.scheduler is None:
            cluster = LocalCluster(
                n_workers=opts.jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            client = Client(opts.scheduler, timeout=CONNECT_SECONDS)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ScanError(
            f"cannot reach the Dask scheduler at {opts.scheduler}: {exc}. Check the address "
            "(tcp://host:8786) and that the scheduler is running."
        ) from None
    settings_json = settings.to_json()
    try:
        threads = max(1, sum(client.nthreads().values()))
        window = 4 * threads
        pending = iter(tasks)
        by_future: dict[Any, Task] = {}

        def submit(task: Task) -> Any:
            future = client.submit(
                isolated_check,
                task.id,
                task.path,
                settings_json,
                opts.timeout,
                opts.memory_mb,
                pure=False,
                key=f"provenance-check-{task.id}-{abs(hash(task.path))}",
            )
            by_future[future] = task
            return future

        futures = as_completed(
            [submit(task) for task, _ in zip(pending, range(window), strict=False)]
        )
        for future in futures:
            task = by_future.pop(future)
            yield _outcome(task, future)
            following = next(pending, None)
            if following is not None:
                futures.add(submit(following))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _outcome(task: Task, future: Any) -> Outcome:
    from provenance.check import failed_report

    try:
        report, stopped = future.result()
        return Outcome(task, Report.from_dict(report), stopped)
    except Exception as exc:  # the Dask worker itself died (KilledWorker) or the task failed
        error = CheckError(
            "scan",
            "crashed",
            f"{task.path}: the Dask task failed ({type(exc).__name__}: {exc}); other files "
            "are not affected.",
        )
        return Outcome(
            task,
            failed_report(task.path, error, why="The check did not finish on the cluster."),
            "crashed",
        )
