"""The scan's per-file job: check one path on a worker, and the report of a file whose worker
gave none.

:func:`start` runs in each worker process (local, or under a Dask worker) with the scan's
:class:`~provenance.options.CheckOptions` as plain data; :func:`report_of` turns a pool
:class:`~provenance.batch.pool.Outcome` back into a :class:`~provenance.report.Report`, so a file
whose check ran out of time or memory, or crashed its worker, still has one report saying so.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provenance.batch.pool import Job, Outcome, Stopped
from provenance.options import CheckOptions
from provenance.report import CheckError, Report

__all__ = ["check_job", "report_of", "start"]

_ADVICE = {
    Stopped.TIMEOUT: " (raise --timeout for very long clips, or lower --sampling).",
    Stopped.MEMORY: " (raise --memory-limit if the machine has room).",
    Stopped.CRASHED: (
        ", probably a crash in a native library (FFmpeg, OpenCV or C2PA) on this file's "
        "content. Other files are not affected; report the file to the provenance-checker "
        "maintainers if it is valid media."
    ),
}


def check_job(options: CheckOptions) -> Job:
    """The worker-pool job that checks files with ``options`` (keys travel with it)."""
    return Job("provenance.batch.check_job:start", {"options": options.to_dict()})


def start(setup: Mapping[str, Any]) -> Any:
    """In a worker: load the options and trust material once; return the per-file handler."""
    from provenance.check import check

    options = CheckOptions.from_dict(setup["options"]).with_trust()
    if not options.credentials_only:  # OpenCV is only loaded for the frames
        import cv2

        cv2.setNumThreads(1)  # one file per process: no thread pool per worker

    def handle(payload: Mapping[str, Any]) -> dict[str, Any]:
        return {"report": check(payload["path"], options).to_dict()}

    return handle


def report_of(outcome: Outcome, path: str) -> Report:
    """The file's report from its worker, or a failed report saying why there is none."""
    from provenance.check import failed_report

    if outcome.result is not None:
        return Report.from_dict(outcome.result["report"])
    stopped = outcome.stopped or Stopped.FAILED
    if stopped == Stopped.FAILED:
        message = f"the check failed: {outcome.message}"
        message += "" if message.endswith(".") else "."
    else:
        message = f"the check was stopped: {outcome.message}{_ADVICE.get(stopped, '.')}"
    return failed_report(
        path,
        CheckError("scan", stopped, f"{path}: {message}"),
        why="The check did not finish, so nothing was concluded about this file.",
        elapsed_seconds=outcome.elapsed_seconds,
    )
