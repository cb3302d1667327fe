"""Worker processes started by ``fork``, when that is safe: the cheap start of a worker.

A fresh ``python -m provenance.batch.worker`` pays for an interpreter and its imports before
its first task (about 0.2 s on a 2-core machine); one ``provenance check`` pays that on every
call. A fork starts at once, with what the parent has loaded. It is safe only in a process
with one thread (a fork copies the locks of the other threads, held for ever in the child),
so :func:`can_fork` asks the kernel how many threads there are: none of the libraries that
start thread pools (numpy's BLAS, OpenCV) has been loaded, and no Python thread runs. The
command line's ``check`` and a scan's parent before it loads them qualify; a web server or a
Dask worker does not, and gets fresh interpreters as before.

The child closes the other workers' pipes, serves the same protocol
(:func:`provenance.batch.worker.serve`) and leaves with ``os._exit``: it never runs the
parent's exit handlers or flushes the parent's buffers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["ForkedProcess", "can_fork"]

#: The child's exit status when its set-up fails before it can speak the protocol.
_BROKEN = 70


def can_fork() -> bool:
    """Whether a worker may be forked from this process: Linux, and one thread in it."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


class ForkedProcess:
    """A forked worker, with the part of :class:`subprocess.Popen` the pool uses.

    Parameters
    ----------
    environment
        The worker's environment (as a fresh worker would get it).
    python_path
        Folders the worker needs on ``sys.path`` (a fresh worker gets them on
        ``PYTHONPATH``).
    show_errors
        Keep standard error (else it goes to ``/dev/null``).
    close
        The parent's descriptors the child must not hold (the other workers' pipes: a child
        holding a sibling's request pipe would keep that sibling from seeing it close).
    """

    def __init__(
        self,
        *,
        environment: Mapping[str, str],
        python_path: Sequence[str],
        show_errors: bool,
        close: Iterable[int],
    ) -> None:
        requests_in, requests_out = os.pipe()
        replies_in, replies_out = os.pipe()
        closing = list(close)
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is written twice
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        pid = os.fork()
        if pid == 0:  # the worker
            code = _BROKEN
            try:
                os.close(requests_out)
                os.close(replies_in)
                code = _serve_in_child(
                    requests_in, replies_out, environment, python_path, show_errors, closing
                )
            finally:
                os._exit(code)
        os.close(requests_in)
        os.close(replies_out)
        self.pid = pid
        self.returncode: int | None = None
        self.stdin = os.fdopen(requests_out, "w", encoding="utf-8")
        self.stdout = os.fdopen(replies_in, encoding="utf-8")

    def poll(self) -> int | None:
        """The exit status once the worker has ended, else None (a negative signal number
        when a signal ended it, as :class:`subprocess.Popen` says)."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: its status is lost
                self.returncode = _BROKEN
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the worker to end; :class:`subprocess.TimeoutExpired` after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.0005
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return code

    def kill(self) -> None:
        """Stop the worker at once (SIGKILL)."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


def _serve_in_child(
    requests: int,
    replies: int,
    environment: Mapping[str, str],
    python_path: Sequence[str],
    show_errors: bool,
    close: Sequence[int],
) -> int:
    """The forked worker's life: its own descriptors and environment, then the protocol."""
    from provenance.batch.worker import serve

    for descriptor in close:
        with contextlib.suppress(OSError):
            os.close(descriptor)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)  # the parent's terminal is not the worker's to read
    if not show_errors:
        os.dup2(null, 2)
    os.dup2(2, 1)  # whatever else prints (a native library) goes to standard error
    os.close(null)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # the parent's handlers
        signal.signal(number, signal.SIG_DFL)  # are not the worker's: a signal ends it
    os.environ.clear()
    os.environ.update(environment)
    sys.path[:0] = [entry for entry in python_path if entry not in sys.path]
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 (lives as long as the child)
    sys.stdout = sys.stderr
    with (
        os.fdopen(requests, encoding="utf-8") as request_lines,
        os.fdopen(replies, "w", encoding="utf-8", buffering=1) as reply_lines,
    ):
        return serve(request_lines, reply_lines)
