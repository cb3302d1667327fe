"""A fixed number of checks at a time, across processes: the web page's queue.

Each slot is a lock file (``slot-N.lock``) in one folder, taken with ``flock``: every server
process (and every session thread in it) that shares the folder shares the slots, and a slot
is given back however its holder ends, even killed. A caller that finds every slot taken
waits, polling, and hears about it first, so a page can say "busy, yours is next" instead of
starting one more check than the machine holds.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from provenance.errors import ArgumentError, ProvenanceError

__all__ = ["BusyError", "CheckSlots", "default_slot_folder"]

_POLL_SECONDS = 0.2


class BusyError(ProvenanceError):
    """Every slot stayed taken for as long as the caller would wait."""


def default_slot_folder() -> Path:
    """This user's slot folder in the temporary directory."""
    return Path(tempfile.gettempdir()) / f"provenance-checks-{os.getuid()}"


class CheckSlots:
    """``count`` slots in ``folder`` (made if missing, mode 0700).

    Raises
    ------
    ArgumentError
        ``count`` is below 1.
    """

    def __init__(self, count: int, folder: Path | None = None) -> None:
        if count < 1:
            raise ArgumentError(f"the number of checks at a time must be at least 1, got {count}")
        self.count = count
        self.folder = folder if folder is not None else default_slot_folder()

    @contextlib.contextmanager
    def take(
        self, *, wait_seconds: float, on_wait: Callable[[], None] | None = None
    ) -> Iterator[int]:
        """Hold a free slot (its number) for the ``with`` block. When none is free,
        ``on_wait`` is called once and the caller waits up to ``wait_seconds``.

        Raises
        ------
        BusyError
            No slot came free in time.
        """
        import fcntl

        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_seconds
        told = False
        while True:
            for number in range(self.count):
                handle = open(self.folder / f"slot-{number}.lock", "a+b")  # noqa: SIM115
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                try:
                    yield number
                finally:
                    handle.close()  # closing gives the lock back
                return
            if time.monotonic() >= deadline:
                raise BusyError(
                    f"all {self.count} checks at a time are taken and none came free in "
                    f"{wait_seconds:.0f} s"
                )
            if not told and on_wait is not None:
                on_wait()
                told = True
            time.sleep(_POLL_SECONDS)
