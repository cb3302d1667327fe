"""Isolated worker processes for a scan: one file at a time each, with time and memory limits.

Each worker is a fresh ``python -m provenance.batch.worker`` process (not a fork: a fork inherits
the parent's threads and locks). The parent hands a worker one path, waits for its report, and
hands it the next. A worker that runs past the time limit, or whose resident memory passes the
memory limit, is killed; one that dies (a crash inside FFmpeg, OpenCV or the C2PA library) is
noticed when its pipe closes. Either way its file gets an error report saying what happened, a
fresh worker takes its place, and the scan goes on: nothing else is lost.

The resident size is read from ``/proc`` (Linux) every quarter second; elsewhere only the
worker's own data-segment limit applies (see :mod:`provenance.batch.worker`).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.batch.settings import ScanSettings
from provenance.report import CheckError, Report

__all__ = ["Outcome", "ScanError", "Task", "WorkerPool", "child_environment"]

_POLL_SECONDS = 0.25
_START_SECONDS = 120.0  # a worker that cannot import and load trust in this time is broken


class ScanError(RuntimeError):
    """The scan itself cannot go on (unusable settings, workers that cannot start)."""


@dataclass(frozen=True)
class Task:
    """One file to check; ``id`` is the caller's."""

    id: int
    path: str


@dataclass(frozen=True)
class Outcome:
    """A finished file: its report, and ``stopped`` when the worker had to be stopped."""

    task: Task
    report: Report
    stopped: str | None = None
    """``timeout``, ``memory`` or ``crashed`` when the check did not finish; else None."""


@dataclass
class _Worker:
    process: subprocess.Popen[str]
    task: Task | None = None
    started: float = 0.0


def child_environment() -> dict[str, str]:
    """This environment, with this package's folder first on ``PYTHONPATH``.

    For fresh Python processes that must import the same ``provenance`` as their parent, even
    from a source checkout that is not installed.
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    return env


def _rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MiB (Linux), or None where it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _signal_name(returncode: int | None) -> str:
    if returncode is None or returncode >= 0:
        return f"exit status {returncode}"
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


class WorkerPool:
    """Run checks in ``jobs`` isolated worker processes.

    Parameters
    ----------
    settings
        What to check with; sent to every worker.
    jobs
        Worker processes (at least 1).
    timeout
        Seconds one file may take (None: no limit).
    memory_mb
        Resident memory one worker may use, in MiB (None: no limit).
    """

    def __init__(
        self,
        settings: ScanSettings,
        *,
        jobs: int,
        timeout: float | None = None,
        memory_mb: int | None = None,
    ) -> None:
        # the limits come from ScanOptions, which validates them
        self.settings = settings
        self.jobs = jobs
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.restarts = 0
        self._env = child_environment()
        self._env.setdefault("OMP_NUM_THREADS", "1")  # one file per process: no thread pools
        self._hello = json.dumps({"settings": settings.to_json(), "memory_mb": memory_mb})
        self._workers: list[_Worker] = []
        self._selector = selectors.DefaultSelector()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (those still busy are killed)."""
        for worker in self._workers:
            self._stop(worker, kill=worker.task is not None)
        self._workers.clear()
        self._selector.close()

    def _spawn(self) -> _Worker:
        process = subprocess.Popen(
            [sys.executable, "-m", "provenance.batch.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env=self._env,
        )
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(self._hello + "\n")
        process.stdin.flush()
        worker = _Worker(process)
        self._selector.register(process.stdout, selectors.EVENT_READ, worker)
        return worker

    def _await_ready(self, worker: _Worker) -> None:
        stdout = worker.process.stdout
        assert stdout is not None
        readable, _, _ = select.select([stdout], [], [], _START_SECONDS)
        line = stdout.readline() if readable else ""
        reply: dict[str, Any] = json.loads(line) if line.strip() else {}
        if reply.get("ready"):
            return
        self._stop(worker, kill=True)
        if "fatal" in reply:
            raise ScanError(f"the scan's check settings cannot be used: {reply['fatal']}")
        raise ScanError(
            "a scan worker process did not start ("
            + _signal_name(worker.process.returncode)
            + "); check that `python -m provenance.batch.worker` runs in this environment"
        )

    def _stop(self, worker: _Worker, *, kill: bool) -> None:
        process = worker.process
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(process.stdout)  # type: ignore[arg-type]
        if kill and process.poll() is None:
            process.kill()
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _replace(self, worker: _Worker) -> _Worker:
        self._stop(worker, kill=True)
        self.restarts += 1
        fresh = self._spawn()
        self._await_ready(fresh)
        self._workers[self._workers.index(worker)] = fresh
        return fresh

    # ------------------------------------------------------------------ running

    def run(self, tasks: Iterable[Task]) -> Iterator[Outcome]:
        """Check every task's file; yields one :class:`Outcome` per task, as they finish."""
        if not self._workers:
            self._workers = [self._spawn() for _ in range(self.jobs)]
            for worker in self._workers:
                self._await_ready(worker)
        pending = iter(tasks)
        exhausted = False

        def feed(worker: _Worker) -> None:
            nonlocal exhausted
            if exhausted:
                return
            task = next(pending, None)
            if task is None:
                exhausted = True
                return
            worker.task, worker.started = task, time.monotonic()
            assert worker.process.stdin is not None
            try:
                worker.process.stdin.write(json.dumps({"id": task.id, "path": task.path}) + "\n")
                worker.process.stdin.flush()
            except OSError:
                pass  # the worker died: its closed pipe is noticed below

        def feed_idle() -> None:  # a replaced worker's successor is idle too
            for worker in self._workers:
                if worker.task is None:
                    feed(worker)

        feed_idle()
        while any(worker.task is not None for worker in self._workers):
            for key, _events in self._selector.select(timeout=_POLL_SECONDS):
                outcome = self._receive(key.data)
                if outcome is None:
                    continue
                yield outcome
                feed_idle()
            for outcome in self._enforce_limits():
                yield outcome
                feed_idle()

    def _receive(self, worker: _Worker) -> Outcome | None:
        assert worker.process.stdout is not None
        line = worker.process.stdout.readline()
        task = worker.task
        if not line:  # the pipe closed: the worker died
            worker.process.wait()
            how = _signal_name(worker.process.returncode)
            if task is None:
                self._replace(worker)
                return None
            outcome = self._failed(
                task,
                "crashed",
                f"the worker checking this file died ({how}), probably a crash in a native "
                "library (FFmpeg, OpenCV or C2PA) on this file's content. Other files are "
                "not affected; report the file to the provenance-checker maintainers if it "
                "is valid media.",
                worker,
            )
            self._replace(worker)
            return outcome
        reply = json.loads(line)
        worker.task = None
        if task is None or reply.get("id") != task.id:
            raise ScanError(f"scan worker protocol error: unexpected reply {line[:200]!r}")
        if "report" in reply:
            return Outcome(task, Report.from_dict(reply["report"]))
        if reply.get("memory"):
            return self._failed(
                task,
                "memory",
                "the check ran out of memory for this file (raise --memory-limit if the "
                "machine has room).",
                None,
            )
        return self._failed(task, "failed", f"the check failed: {reply.get('failed')}", None)

    def _enforce_limits(self) -> list[Outcome]:
        outcomes = []
        now = time.monotonic()
        for worker in list(self._workers):
            task = worker.task
            if task is None:
                continue
            if self.timeout is not None and now - worker.started > self.timeout:
                outcomes.append(
                    self._failed(
                        task,
                        "timeout",
                        f"the check took longer than the {self.timeout:g} s limit and was "
                        "stopped (raise --timeout for very long clips, or lower --sampling).",
                        worker,
                    )
                )
                self._replace(worker)
                continue
            if self.memory_mb is not None:
                rss = _rss_mb(worker.process.pid)
                if rss is not None and rss > self.memory_mb:
                    outcomes.append(
                        self._failed(
                            task,
                            "memory",
                            f"the check used {rss:.0f} MiB, over the {self.memory_mb} MiB limit, "
                            "and was stopped (raise --memory-limit if the machine has room).",
                            worker,
                        )
                    )
                    self._replace(worker)
        return outcomes

    def _failed(self, task: Task, code: str, message: str, worker: _Worker | None) -> Outcome:
        from provenance.check import failed_report

        elapsed = time.monotonic() - worker.started if worker is not None else 0.0
        error = CheckError("scan", code, f"{task.path}: {message}")
        report = failed_report(
            task.path,
            error,
            why="The check did not finish, so nothing was concluded about this file.",
            elapsed_seconds=elapsed,
        )
        return Outcome(task, report, stopped=code)
