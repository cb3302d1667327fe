"""Which frames of a clip the targeted sampling modes read: ``evenly:N`` and the default, ``auto``.

Evenly spaced frames
--------------------
EVENLY aims at the frame indices ``round(i * (count - 1) / (n - 1))`` (first to last frame,
see :func:`~provenance.media.sampling.evenly_spaced_indices`), with ``count`` the stream's
stated frame count or ``round(duration * fps)``; when neither is known the video packets are
counted first (a demux pass without decoding, about 5 ms per second of 1080p).

The default: ``auto``
---------------------
Generators mark every frame, but a lossy writer keeps the mark best in the frames it codes on
their own: the I-frames (libx264 CRF 25 and OpenCV's MPEG-4 Part 2 writer keep the dwtDct mark
of SVD clips in I-frames, much less in P and B frames). ``auto`` therefore reads:

* the whole clip when it is short: at most :data:`AUTO_WHOLE_PIXELS` pixels in all its
  frames together (30 frames at SVD's 1024 x 576, 57 at 640 x 480, 8 of 1080p), which holds
  what SVD writes (14 frames, SVD-XT 25) and costs at most about 4 times ``evenly:8`` (every
  frame read costs each active detector; a 2.5 s 480p clip read whole took 9 times as long
  with the keyed mark and two keys);
* otherwise every key frame the container knows (its index, or a demux pass without decoding
  when it has none), at most :data:`AUTO_MAX_KEYFRAMES` of them evenly chosen when there are
  more, plus ``n`` (8) evenly spaced frames.

Key frames are found from packet flags: an I-frame that is not flagged as a key frame (open
GOPs) is read only when it is one of the evenly spaced frames.

Both targeted modes decode straight on and seek only when that skips real work (see
:mod:`provenance.media.seeking`): a seek goes to the key frame at or before the target and
decodes forward to it, so a frame is exact (the same pixels as a full decode). On the way, the
decoder drops the pictures no other refers to (H.264 and HEVC B-frames, about half a stream)
that lie before the next target; indices stay counted right (:class:`_Unneeded`).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from provenance.media.frame import SampledFrame
from provenance.media.sampling import Sampling, evenly_spaced_indices
from provenance.media.seeking import count_video_packets, keyframe_index, should_seek

if TYPE_CHECKING:
    from fractions import Fraction

    from av.container import InputContainer
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

__all__ = [
    "AUTO_MAX_KEYFRAMES",
    "AUTO_WHOLE_PIXELS",
    "TargetedReads",
    "auto_targets",
    "keyframe_survey",
    "thinned",
]

#: ``auto`` reads a clip whole when all its frames hold at most this many pixels together.
AUTO_WHOLE_PIXELS: Final = 1024 * 576 * 30
#: ``auto`` reads at most this many key frames of a longer clip (evenly chosen among them).
AUTO_MAX_KEYFRAMES: Final = 32

# When a seek lands after its target (a poor index), seek again this much earlier, doubling.
_SEEK_BACKOFF_SECONDS = 1.0


def thinned(items: Sequence[int], most: int) -> list[int]:
    """At most ``most`` of ``items``, evenly chosen (first and last kept)."""
    if len(items) <= most:
        return list(items)
    return [items[i] for i in evenly_spaced_indices(len(items), most)]


def auto_targets(
    total: int,
    width: int,
    height: int,
    evenly: int,
    keyframe_indices: Sequence[int],
) -> tuple[int, ...] | None:
    """The frame indices ``auto`` reads from a clip of ``total`` frames, or None to read it all.

    ``keyframe_indices`` are the key frames' positions (any order, duplicates allowed).
    """
    if total * max(width, 1) * max(height, 1) <= AUTO_WHOLE_PIXELS:
        return None
    keys = sorted({index for index in keyframe_indices if 0 <= index < total})
    chosen = set(evenly_spaced_indices(total, evenly)) | set(thinned(keys, AUTO_MAX_KEYFRAMES))
    return tuple(sorted(chosen))


def keyframe_survey(path: Path) -> tuple[int, list[float]]:
    """Packets and key-frame times (s from the stream's start) of the best video stream, by
    a demux pass without decoding (about 5 ms per second of 1080p). Opens the file on its
    own, so a caller's opening stays where it is."""
    import av

    from provenance.media.probe import best_video_stream, open_container

    packets = 0
    times: list[float] = []
    try:
        with open_container(path) as container:
            stream = best_video_stream(container)
            if stream is None:
                return 0, []
            start = stream.start_time or 0
            time_base = stream.time_base
            for packet in container.demux(stream):
                if not packet.size:
                    continue
                packets += 1
                if packet.is_keyframe and packet.pts is not None and time_base is not None:
                    times.append(float((packet.pts - start) * time_base))
    except av.error.FFmpegError:
        pass  # what could be read
    return packets, sorted(times)


#: Decoders that drop exactly the pictures no other refers to (skip_frame NONREF), one picture
#: a packet. Not MPEG-4 Part 2: AVI packs two of its pictures in one packet.
DROPPING_CODECS = frozenset({"h264", "hevc"})


class _Unneeded:
    """Which pictures the decoder may drop on the way to the next target: those placed before
    it that no other picture refers to (the decoder keeps the rest), B-frames mostly.

    After a seek, indices come from timestamps, so a dropped picture changes nothing. While
    indices are counted from the start, each picture that comes out is counted after those
    dropped before it: the timestamps of the packets the decoder was let drop are kept until
    a later picture comes out (output is in timestamp order; a kept picture comes out with its
    own timestamp). A picture is let drop only when its timestamp places it over
    ``_MARGIN`` frames before the target, corrected by how far counting and timestamps
    disagreed at the last picture out (variable frame rates)."""

    _MARGIN = 2

    def __init__(self, index_of: Callable[[int | None], int | None], pending: deque[int]):
        self._index_of = index_of
        self._pending = pending
        self.counting = True  # indices are counted while decoding from the start (no seek yet)
        self._offset = 0  # counted index minus timestamp index, at the last picture out
        self._let_drop: list[int] = []  # a heap of timestamps

    def needed(self, pts: int | None) -> bool:
        index = self._index_of(pts)
        if index is None or pts is None or not self._pending:
            return True
        if not self.counting:
            return index >= self._pending[0]
        if index + self._offset >= self._pending[0] - self._MARGIN:
            return True
        heapq.heappush(self._let_drop, pts)
        return False

    def dropped_before(self, pts: int | None) -> int:
        """How many pictures let drop lie before the one with ``pts`` (and are gone)."""
        dropped = 0
        while pts is not None and self._let_drop and self._let_drop[0] <= pts:
            dropped += heapq.heappop(self._let_drop) < pts
        return dropped

    def came_out(self, pts: int | None, counted: int) -> None:
        index = self._index_of(pts)
        if index is not None:
            self._offset = counted - index


class TargetedReads:
    """The targeted modes of :class:`~provenance.media.frames.FrameSampler` (its base class):
    choosing the frame indices and reaching them, seeking where that saves work."""

    path: Path
    sampling: Sampling
    fps: float | None
    expected_frames: int | None
    expected_frames_estimated: bool
    frames_reached: int
    seeks: int
    target_indices: tuple[int, ...]
    _start: int
    _time_base: Fraction | None
    _reached_end: bool
    _index_memo: tuple[int, tuple[list[float], float]] | None = None

    if TYPE_CHECKING:  # provided by FrameSampler

        def _decoded(
            self,
            container: InputContainer,
            stream: VideoStream,
            *,
            keyframes_only: bool = False,
            needed: Callable[[int | None], bool] | None = None,
        ) -> Generator[VideoFrame, None, None]: ...

        def _first_index(self, frame: VideoFrame) -> int: ...

        def _index_from_pts(self, pts: int | None) -> int | None: ...

        def _sample(self, frame: VideoFrame, index: int) -> SampledFrame: ...

    def _keyframe_index(self, stream: VideoStream) -> tuple[list[float], float]:
        """:func:`keyframe_index`, read again only when the index has grown (Matroska loads
        its cues as seeks reach them; an MP4 index is whole from the start)."""
        size = len(stream.index_entries)
        if self._index_memo is None or self._index_memo[0] != size:
            self._index_memo = (size, keyframe_index(stream, self._start, self._time_base))
        return self._index_memo[1]

    def _evenly_targets(self) -> tuple[int, ...]:
        total = self.expected_frames
        if total is None:
            total = count_video_packets(self.path)
            self.expected_frames, self.expected_frames_estimated = total, True
        return evenly_spaced_indices(total, self.sampling.n)

    def _auto_targets(self, stream: VideoStream) -> tuple[int, ...] | None:
        """AUTO's frame indices, or None to read the whole clip."""
        total = self.expected_frames
        times, indexed_until = self._keyframe_index(stream)
        duration = total / self.fps if total is not None and self.fps else None
        if total is None or duration is None or indexed_until + 1.0 < duration:
            packets, times = keyframe_survey(self.path)  # no index, or a partial one
            if total is None:
                total = packets
                self.expected_frames, self.expected_frames_estimated = total, True
        fps = self.fps or 0.0
        width, height = stream.codec_context.width, stream.codec_context.height
        return auto_targets(total, width, height, self.sampling.n, [round(t * fps) for t in times])

    def _targeted(
        self, container: InputContainer, stream: VideoStream, targets: tuple[int, ...]
    ) -> Iterator[SampledFrame]:
        self.target_indices = targets
        pending = deque(targets)
        fps = self.fps if self._time_base is not None else None
        keyframes = self._keyframe_index(stream)
        unneeded = _Unneeded(self._index_from_pts, pending)
        needed = unneeded.needed if stream.codec_context.name in DROPPING_CODECS else None
        frames = self._decoded(container, stream, needed=needed)
        try:
            next_index: int | None = None
            current = -1  # index of the last frame decoded
            held: tuple[VideoFrame, int] | None = None  # last decoded frame, not yielded
            last_seek_target = -1
            retry: tuple[int, float] | None = None  # (target, back-off) while checking a seek
            while pending:
                target = pending[0]
                if (
                    fps is not None
                    and target != last_seek_target
                    and should_seek(current, target, self.fps, keyframes)
                ):
                    last_seek_target, retry = target, (target, 0.0)
                    unneeded.counting = False
                    frames = self._restart(frames, container, stream, target / fps, needed=needed)
                    keyframes = self._keyframe_index(stream)  # seeking may load more index
                    held = None
                frame = next(frames, None)
                index: int | None = None
                if frame is not None:
                    if unneeded.counting:
                        if next_index is None:
                            index = self._first_index(frame)  # its timestamp places it
                            unneeded.dropped_before(frame.pts)  # ... after any let drop
                        else:  # the pictures the decoder dropped were there all the same
                            index = next_index + unneeded.dropped_before(frame.pts)
                        unneeded.came_out(frame.pts, index)
                        next_index = index + 1
                    else:
                        index = self._index_from_pts(frame.pts)
                        if index is None:  # no timestamp after a seek: assume frames follow
                            index = current + 1
                if retry is not None:
                    aimed, backoff = retry
                    retry = None
                    overshot = index is None or index > aimed
                    if overshot and fps is not None and backoff < math.inf:
                        # The seek landed after its target or at the end (an imprecise
                        # index, e.g. MPEG-TS): go back further, doubling, in the end from
                        # the very start.
                        backoff = backoff * 2 if backoff else _SEEK_BACKOFF_SECONDS
                        seconds = aimed / fps - backoff
                        if seconds <= 0:
                            seconds, backoff = 0.0, math.inf
                        retry = (aimed, backoff)
                        frames = self._restart(frames, container, stream, seconds, needed=needed)
                        current = -1
                        continue
                if frame is None or index is None:
                    break
                current = index
                self.frames_reached = max(self.frames_reached, index + 1)
                if index < target:
                    held = (frame, index)
                    continue
                held = None
                while pending and pending[0] <= index:
                    pending.popleft()
                yield self._sample(frame, index)
            if pending and held is not None:
                # The stream ended before the last target (its stated length was too long,
                # or it is cut short): the last frame is the nearest one.
                frame, index = held
                held = None
                yield self._sample(frame, index)
            if not pending:
                self._reached_end = True  # every target was met: the stream is long enough
        finally:
            frames.close()

    def _restart(
        self,
        frames: Generator[VideoFrame, None, None],
        container: InputContainer,
        stream: VideoStream,
        seconds: float,
        *,
        needed: Callable[[int | None], bool] | None = None,
    ) -> Generator[VideoFrame, None, None]:
        """Seek to the key frame at or before ``seconds`` and decode afresh from there
        (``needed``: as for :meth:`_decoded`)."""
        frames.close()
        time_base = self._time_base
        if time_base is not None:
            offset = self._start + max(0, math.floor(seconds / time_base))
            container.seek(offset, stream=stream, backward=True)
            stream.codec_context.flush_buffers()
            self.seeks += 1
        return self._decoded(container, stream, needed=needed)
