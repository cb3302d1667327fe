"""The read-ahead thread between the frame sampler and the detectors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from provenance.media.prefetch import prefetched


def test_items_arrive_in_order_and_the_producer_runs_ahead() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for number in range(50):
            produced.append(number)
            yield number

    stream = prefetched(source(), depth=3)
    assert next(stream) == 0
    time.sleep(0.2)
    assert 3 <= len(produced) <= 5  # bounded: depth items buffered, one in hand
    assert [0, *stream] == list(range(50))


def test_an_error_while_producing_is_raised_where_it_happened() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk went away")

    stream = prefetched(source())
    assert next(stream) == 1
    assert next(stream) == 2
    with pytest.raises(OSError, match="disk went away"):
        next(stream)


def test_closing_early_stops_the_producer() -> None:
    produced: list[int] = []

    def endless() -> Iterator[int]:
        number = 0
        while True:
            produced.append(number)
            yield number
            number += 1

    before = threading.active_count()
    stream = prefetched(endless(), depth=2)
    assert next(stream) == 0
    stream.close()
    time.sleep(0.3)
    count = len(produced)
    time.sleep(0.2)
    assert len(produced) == count  # no longer producing
    assert threading.active_count() == before
    with pytest.raises(ValueError, match="depth"):
        next(prefetched([], depth=0))
