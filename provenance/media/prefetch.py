"""Read ahead of the consumer in a thread: decoding overlaps the analysis of earlier frames.

The frame sampler decodes H.264 on one core when it must read exact quantisers (slice
threading; see :mod:`provenance.media.frames`), while the detectors' numpy and OpenCV work
releases the interpreter lock too, so a bounded read-ahead of a couple of frames lets the two
run side by side on two cores. Memory stays bounded by ``depth`` items.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

from provenance.errors import ArgumentError

__all__ = ["prefetched"]

T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order, produced by a background thread up to ``depth`` ahead.

    An exception raised while producing is re-raised here, at the point it occurred. Closing
    the returned generator early stops the producer after the item it is working on.
    """
    if depth < 1:
        raise ArgumentError(f"depth must be at least 1, got {depth}")
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            buffer.put(_Failure(exc))

    worker = threading.Thread(target=produce, name="provenance-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full buffer
            try:
                buffer.get_nowait()
            except queue.Empty:
                worker.join(0.05)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
