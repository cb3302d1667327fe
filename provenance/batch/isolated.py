"""One check in an isolated worker process, with a time and a memory limit.

:func:`provenance.check` runs in the caller's process, where a hostile file could hang it or
exhaust its memory. These functions run the same check in a fresh worker process of the
scan's pool (:class:`~provenance.batch.pool.WorkerPool`): past the time or memory limit, or
when a native library crashes, the worker is stopped and the report says so (verdict
``error``, with the reason), while the caller's process keeps only the report. This is what
``provenance check`` and the web page run; a platform checking files from strangers should
call it too. A worker costs a process start per call (about 0.2 s on a 2-core machine).
"""

from __future__ import annotations

import dataclasses
import os

from provenance.batch.scan_options import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, ScanOptions
from provenance.options import CheckOptions
from provenance.report import Report

__all__ = ["check_bytes_isolated", "check_isolated"]


def check_isolated(
    path: str | os.PathLike[str],
    options: CheckOptions | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
) -> Report:
    """Check one file in a worker process and return its report. Never raises for a bad file.

    Parameters
    ----------
    path, options
        As for :func:`provenance.check`.
    timeout
        Seconds the check may take (None: no limit).
    memory_mb
        Resident memory the worker may use, in MiB (None: no limit; at least 64).

    Raises
    ------
    ArgumentError
        ``timeout`` is not positive or ``memory_mb`` is below 64.
    ScanError
        The worker process cannot start (process or memory limits of the system).
    """
    from provenance.batch.check_job import check_job, report_of
    from provenance.batch.pool import Task, WorkerPool

    limits = ScanOptions(jobs=1, timeout=timeout, memory_mb=memory_mb)  # checks the values
    source = os.fspath(path)
    job = check_job(options or CheckOptions())
    with WorkerPool(job, jobs=1, timeout=limits.timeout, memory_mb=limits.memory_mb) as pool:
        outcome = next(iter(pool.run([Task(0, {"path": source})])))
    return report_of(outcome, source)


def check_bytes_isolated(
    data: bytes,
    *,
    name: str = "upload",
    options: CheckOptions | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    memory_mb: int | None = DEFAULT_MEMORY_MB,
) -> Report:
    """:func:`provenance.check_bytes` in a worker process, with :func:`check_isolated`'s
    limits. The bytes go to a private temporary file, removed afterwards; the report's
    ``path`` is ``name``."""
    from provenance.check import upload_file

    with upload_file(data, name) as temporary:
        report = check_isolated(temporary, options, timeout=timeout, memory_mb=memory_mb)
    return dataclasses.replace(report, path=name)
