"""Where EVENLY sampling seeks: the container's key-frame index, whether a seek saves
decoding, and the frame count of a stream that states none.

Measured here: an exact seek costs about as much as decoding up to one GOP, so
:class:`~provenance.media.frames.FrameSampler` seeks only when that skips real work.
"""

from __future__ import annotations

import bisect
import math
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.media.probe import best_video_stream, open_container

if TYPE_CHECKING:
    from fractions import Fraction

    from av.video.stream import VideoStream

__all__ = ["count_video_packets", "keyframe_index", "should_seek"]

#: EVENLY seeks to a target only when that skips at least this much decoding (measured here: an
# exact seek costs about as much as decoding up to one GOP, so short hops decode straight on).
_MIN_SEEK_SAVING_SECONDS = 1.0
#: ... and, when the container has no index to tell where key frames are, only when the target
# is this far ahead (GOPs are rarely longer than 10 s).
_BLIND_SEEK_GAP_SECONDS = 10.0


def should_seek(
    current: int, target: int, fps: float | None, keyframes: tuple[list[float], float]
) -> bool:
    """Whether seeking to ``target`` saves decoding compared with decoding on to it."""
    if fps is None or target <= current + 1:
        return False
    target_time = target / fps
    current_time = max(current, 0) / fps
    keyframe_times, indexed_until = keyframes
    if keyframe_times:
        # Seeking lands on the last key frame at or before the target: worth it when that
        # comes well after the current position (it skips real decoding work).
        position = bisect.bisect_right(keyframe_times, target_time + 0.5 / fps) - 1
        keyframe_time = keyframe_times[position] if position >= 0 else 0.0
        if keyframe_time - current_time >= _MIN_SEEK_SAVING_SECONDS:
            return True
        if indexed_until + _MIN_SEEK_SAVING_SECONDS >= target_time:
            return False  # the index reaches the target: no key frame worth seeking to
    # No index, or one that stops short of the target (Matroska loads its cues lazily).
    return target_time - current_time >= _BLIND_SEEK_GAP_SECONDS


def keyframe_index(
    stream: VideoStream, start: int, time_base: Fraction | None
) -> tuple[list[float], float]:
    """Key frame times (s from the start) in the container's index, and how far the index
    reaches; ``([], -inf)`` without one. Matroska loads its index (cues) lazily, so a
    partial index only counts up to where it reaches.

    MP4 indexes decode times, which lag presentation times by the encoder's reordering delay
    when there are B frames (libx264: 2 frames); the first entry is the first frame, shown at
    ``start``, so its lag is added back to every entry. Without that, a key frame's index
    would point 2 frames early, at a P frame."""
    entries = stream.index_entries
    if time_base is None or len(entries) < 2:
        return [], -math.inf
    lag = max(0, start - entries[0].timestamp) if entries[0].is_keyframe else 0
    # integer ticks, converted once: a 30-minute clip indexes 54,000 frames, and rational
    # arithmetic on each took 0.15 s per call
    keys: list[int] = []
    last = None
    for entry in entries:
        ticks = entry.timestamp
        if last is None or ticks > last:
            last = ticks
        if entry.is_keyframe:
            keys.append(ticks)
    seconds = float(time_base)
    times = sorted((ticks + lag - start) * seconds for ticks in keys)
    return times, (last + lag - start) * seconds if last is not None else -math.inf


def count_video_packets(path: Path) -> int:
    """Frame count of a stream that states none: count its packets (demux only, no decode).

    Opens the file on its own, so a caller's opening stays where it is.
    """
    import av

    count = 0
    try:
        with open_container(path) as container:
            stream = best_video_stream(container)
            if stream is None:
                return 0
            for packet in container.demux(stream):
                count += 1 if packet.size else 0
    except av.error.FFmpegError:
        pass  # count what could be read
    return count
