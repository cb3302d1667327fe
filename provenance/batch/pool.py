"""Isolated worker processes, one task at a time each, with time and memory limits.

The one worker pool of the project: ``provenance scan`` runs its checks on it (locally and on
each Dask worker), and the corpus builder and the evaluator in ``datasets/`` run their tasks
on it. What runs is a :class:`Job`: a function named ``module:function`` that each worker calls
once with the job's setup data and that returns the handler for the tasks; tasks and results
are plain JSON data.

Each worker is a fork of the parent when the parent has a single thread (a fork starts at
once; see :mod:`provenance.batch.forked`), else a fresh ``python -m provenance.batch.worker``
process (a fork would inherit other threads' locks). The parent hands a worker one task,
waits for its result, and hands it the next. A worker that runs past the time limit, or whose resident
memory passes the memory limit, is killed; one that dies (a crash inside FFmpeg, OpenCV or the
C2PA library) is noticed when its pipe closes. Either way its task gets an :class:`Outcome`
saying what happened, a fresh worker takes its place, and the run goes on: nothing else is
lost.

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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.batch.forked import ForkedProcess, can_fork
from provenance.errors import ArgumentError, ScanError

__all__ = ["Job", "Outcome", "Stopped", "Task", "WorkerPool", "child_environment"]

_POLL_SECONDS = 0.25
_START_SECONDS = 120.0  # a worker that cannot import and set up in this time is broken


@dataclass(frozen=True)
class Job:
    """What the workers run: ``target`` (``"module:function"``) is called once per worker
    with ``setup`` and returns the handler, called with each task's payload."""

    target: str
    setup: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One unit of work; ``id`` is the caller's, ``payload`` plain JSON data."""

    id: int
    payload: Mapping[str, Any]


class Stopped:
    """Why a task has no result (the values of :attr:`Outcome.stopped`)."""

    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """A finished task: the handler's result, or why there is none."""

    task: Task
    result: Mapping[str, Any] | None
    stopped: str | None = None
    """A :class:`Stopped` value when the task did not finish; else None."""
    message: str | None = None
    """What happened, when ``stopped`` (a sentence without advice: callers add their own)."""
    elapsed_seconds: float = 0.0


@dataclass
class _Worker:
    process: subprocess.Popen[str] | ForkedProcess
    task: Task | None = None
    started: float = 0.0


def child_environment(python_path: Sequence[str | os.PathLike[str]] = ()) -> dict[str, str]:
    """This environment, with this package's folder (and ``python_path``) first on
    ``PYTHONPATH``.

    For fresh Python processes that must import the same ``provenance`` as their parent, even
    from a source checkout that is not installed.
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    entries = [package_root, *(str(entry) for entry in python_path)]
    if env.get("PYTHONPATH"):
        entries.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(entries))
    return env


def _reply(line: str) -> dict[str, Any]:
    """One protocol line from a worker, or :class:`ScanError` for anything else."""
    try:
        reply = json.loads(line)
    except json.JSONDecodeError:
        reply = None
    if not isinstance(reply, dict):
        raise ScanError(f"worker protocol error: unexpected output {line[:200]!r}")
    return reply


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
    """Run a :class:`Job`'s tasks in ``jobs`` isolated worker processes.

    Parameters
    ----------
    job
        What the workers run.
    jobs
        Worker processes (at least 1).
    timeout
        Seconds one task may take (None: no limit).
    memory_mb
        Resident memory one worker may use, in MiB (None: no limit).
    python_path
        Folders the workers need on ``PYTHONPATH`` besides this package's (e.g. the
        repository root for ``datasets``).
    show_errors
        Let the workers' standard error through (warnings, tracebacks of a native crash);
        off by default, for a scan whose own output must stay readable.
    fork
        Start workers by forking this process (True), as fresh interpreters (False), or by
        forking whenever this process has a single thread (None, the default).

    Raises
    ------
    ScanError
        From :meth:`run`: a worker cannot start or its job's setup fails.
    """

    def __init__(
        self,
        job: Job,
        *,
        jobs: int,
        timeout: float | None = None,
        memory_mb: int | None = None,
        python_path: Sequence[str | os.PathLike[str]] = (),
        show_errors: bool = False,
        fork: bool | None = None,
    ) -> None:
        if jobs < 1:
            raise ArgumentError(f"jobs must be at least 1, got {jobs}")
        self.job = job
        self.jobs = jobs
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.show_errors = show_errors
        self.fork = fork
        self.restarts = 0
        self._python_path = [str(entry) for entry in python_path]
        self._env = child_environment(python_path)
        self._env.setdefault("OMP_NUM_THREADS", "1")  # one task per process: no thread pools
        self._hello = json.dumps(
            {"job": job.target, "setup": dict(job.setup), "memory_mb": memory_mb}
        )
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
        process: subprocess.Popen[str] | ForkedProcess
        try:
            if self.fork or (self.fork is None and can_fork()):
                process = ForkedProcess(
                    environment=self._env,
                    python_path=self._python_path,
                    show_errors=self.show_errors,
                    close=self._descriptors(),
                )
            else:
                process = self._fresh()
        except OSError as exc:  # no such interpreter, too many processes, out of memory
            raise ScanError(
                f"cannot start a worker process ({exc.strerror or exc}); check the system's "
                "process and memory limits, or run with fewer --jobs"
            ) from exc
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(self._hello + "\n")
        process.stdin.flush()
        worker = _Worker(process)
        self._selector.register(process.stdout, selectors.EVENT_READ, worker)
        return worker

    def _descriptors(self) -> list[int]:
        """The pool's own descriptors: the workers' pipes and the selector's."""
        streams = [(w.process.stdin, w.process.stdout) for w in self._workers]
        found = [s.fileno() for pair in streams for s in pair if s is not None and not s.closed]
        with contextlib.suppress(AttributeError, ValueError, OSError):
            found.append(self._selector.fileno())
        return found

    def _fresh(self) -> subprocess.Popen[str]:
        """A worker in a fresh interpreter."""
        return subprocess.Popen(
            [sys.executable, "-m", "provenance.batch.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=None if self.show_errors else subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            env=self._env,
        )

    def _await_ready(self, worker: _Worker) -> None:
        stdout = worker.process.stdout
        assert stdout is not None
        readable, _, _ = select.select([stdout], [], [], _START_SECONDS)
        line = stdout.readline() if readable else ""
        reply = _reply(line) if line.strip() else {}
        if reply.get("ready"):
            return
        self._stop(worker, kill=True)
        if "fatal" in reply:
            raise ScanError(f"the workers cannot set up {self.job.target}: {reply['fatal']}")
        raise ScanError(
            "a worker process did not start ("
            + _signal_name(worker.process.returncode)
            + "); check that `python -m provenance.batch.worker` runs in this environment"
        )

    def _stop(self, worker: _Worker, *, kill: bool) -> None:
        process = worker.process
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(process.stdout)  # type: ignore[arg-type]
        if kill and process.poll() is None:
            process.kill()
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
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

    def run(
        self, tasks: Iterable[Task], *, on_started: Callable[[], None] | None = None
    ) -> Iterator[Outcome]:
        """Run every task; yields one :class:`Outcome` per task, as they finish.

        ``on_started`` is called once the workers run (before their set-up is awaited):
        from then on this process may start threads of its own.
        """
        spawned = not self._workers
        if spawned:
            for _ in range(self.jobs):  # one by one: each fork closes the earlier pipes
                self._workers.append(self._spawn())
        if on_started is not None:
            on_started()
        if spawned:
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
            request = {"id": task.id, "payload": dict(task.payload)}
            try:
                worker.process.stdin.write(json.dumps(request) + "\n")
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
                feed_idle()  # the worker's next task first: it checks while the caller stores
                yield outcome
            for outcome in self._enforce_limits():
                feed_idle()
                yield outcome

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
            outcome = self._stopped(
                task, Stopped.CRASHED, f"its worker process died ({how})", worker
            )
            self._replace(worker)
            return outcome
        reply = _reply(line)
        elapsed = time.monotonic() - worker.started
        worker.task = None
        if task is None or reply.get("id") != task.id:
            raise ScanError(f"worker protocol error: unexpected reply {line[:200]!r}")
        if "result" in reply:
            return Outcome(task, reply["result"], elapsed_seconds=elapsed)
        if reply.get("memory"):
            return Outcome(task, None, Stopped.MEMORY, "it ran out of memory", elapsed)
        return Outcome(task, None, Stopped.FAILED, str(reply.get("failed")), elapsed)

    def _enforce_limits(self) -> list[Outcome]:
        outcomes = []
        now = time.monotonic()
        for worker in list(self._workers):
            task = worker.task
            if task is None:
                continue
            if self.timeout is not None and now - worker.started > self.timeout:
                message = f"it ran over the {self.timeout:g} s time limit"
                outcomes.append(self._stopped(task, Stopped.TIMEOUT, message, worker))
                self._replace(worker)
                continue
            if self.memory_mb is not None:
                rss = _rss_mb(worker.process.pid)
                if rss is not None and rss > self.memory_mb:
                    message = f"it used {rss:.0f} MiB, over the {self.memory_mb} MiB limit"
                    outcomes.append(self._stopped(task, Stopped.MEMORY, message, worker))
                    self._replace(worker)
        return outcomes

    @staticmethod
    def _stopped(task: Task, why: str, message: str, worker: _Worker) -> Outcome:
        return Outcome(task, None, why, message, time.monotonic() - worker.started)
