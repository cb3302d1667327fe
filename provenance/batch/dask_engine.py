"""The Dask engine: the scan's per-file job on a Dask cluster, results streamed back.

Each task is :func:`isolated_check`: on the Dask worker it hands the file to a one-process
:class:`~provenance.batch.pool.WorkerPool` kept by each Dask worker thread, running the same
job as the local engine (:func:`~provenance.batch.check_job.check_job`), so a file that crashes
a native library, runs past the time limit or over the memory limit costs only its own result
there too, and the Dask worker survives. The driver keeps a bounded number of tasks in flight
(four per Dask worker thread), so a scan of millions of files does not build a million
futures. Workers need the same provenance-checker version, and must see the files at the same
paths (a shared mount); each loads its trust material from the options.
"""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from provenance.batch.check_job import check_job
from provenance.batch.pool import Outcome, Stopped, Task, WorkerPool
from provenance.batch.scan_options import ScanOptions
from provenance.errors import ScanError
from provenance.options import CheckOptions

__all__ = ["isolated_check", "run_dask"]

#: Seconds to wait for an existing scheduler before giving up.
CONNECT_SECONDS = 30.0

_THREAD = threading.local()  # each Dask worker thread keeps its own isolated process


def _pool(options: Mapping[str, Any], timeout: float | None, memory_mb: int | None) -> WorkerPool:
    pools: dict[tuple[str, float | None, int | None], WorkerPool] | None = getattr(
        _THREAD, "pools", None
    )
    if pools is None:
        pools = _THREAD.pools = {}
    key = (json.dumps(options, sort_keys=True), timeout, memory_mb)
    pool = pools.get(key)
    if pool is None:
        job = check_job(CheckOptions.from_dict(options))
        pool = WorkerPool(job, jobs=1, timeout=timeout, memory_mb=memory_mb)
        pools[key] = pool
        atexit.register(pool.close)
    return pool


def isolated_check(
    task: Task, options: Mapping[str, Any], timeout: float | None, memory_mb: int | None
) -> Outcome:
    """Run on a Dask worker: check one file in an isolated process.

    Each Dask worker thread has its own isolated process, so a Dask worker with N threads
    checks N files at a time.
    """
    [outcome] = _pool(options, timeout, memory_mb).run([task])
    return outcome


def run_dask(options: CheckOptions, how: ScanOptions, tasks: Iterable[Task]) -> Iterator[Outcome]:
    """Run the tasks on a Dask cluster; yields outcomes as they complete."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ScanError(
            "the dask engine needs Dask: pip install 'provenance-checker[cluster]'"
        ) from None
    cluster = None
    try:
        if how.scheduler is None:
            cluster = LocalCluster(
                n_workers=how.jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = Client(cluster)
        else:
            client = Client(how.scheduler, timeout=CONNECT_SECONDS)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ScanError(
            f"cannot reach the Dask scheduler at {how.scheduler}: {exc}. Check the address "
            "(tcp://host:8786) and that the scheduler is running."
        ) from exc
    plain = options.to_dict()
    try:
        threads = max(1, sum(client.nthreads().values()))
        window = 4 * threads
        pending = iter(tasks)
        by_future: dict[Any, Task] = {}

        def submit(task: Task) -> Any:
            future = client.submit(
                isolated_check,
                task,
                plain,
                how.timeout,
                how.memory_mb,
                pure=False,
                key=f"provenance-check-{task.id}-{abs(hash(task.payload['path']))}",
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
    try:
        outcome: Outcome = future.result()
        return outcome
    except Exception as exc:  # the Dask worker itself died (KilledWorker) or the task failed
        message = (
            f"the Dask task failed on the cluster ({type(exc).__name__}: {exc}); other files "
            "are not affected"
        )
        return Outcome(task, None, Stopped.FAILED, message)
