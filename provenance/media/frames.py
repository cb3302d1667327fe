"""Stream decoded frames out of a clip or an image, for the watermark detectors.

:class:`FrameSampler` (and its thin strict wrapper :func:`sample_frames`) opens any container
PyAV reads (MP4, MOV, MKV, WebM, AVI, MPEG-TS, ...) or a still image and yields
:class:`SampledFrame` objects chosen by a :class:`Sampling`: key frames only, every N-th
frame, N evenly spaced frames, or all frames. Each carries the real Y plane (``luma``),
optionally a BGR copy, its presentation time and picture type.

Memory is bounded whatever the length: one decoded frame is handled at a time (plus the
decoder's own reference buffers), and every array handed out is a copy, so the decoder's
buffers are released as soon as the caller drops the frame.

Index semantics
---------------
``SampledFrame.index`` is the frame's 0-based position in presentation order among *all* the
frames of the stream, skipped ones included, so that one frame has the same index whatever the
mode. It is

* ALL, EVERY_NTH, and the targeted modes (EVENLY, AUTO) while decoding from the start:
  counted (the n-th frame the decoder outputs), starting from the first decoded frame's
  timestamp-derived position, which is 0 unless the decoder could not output the stream's
  first frames (e.g. a transport stream cut mid-GOP). Indices are then contiguous even for
  variable frame rates;
* KEYFRAMES, and the targeted modes after a seek: derived from the timestamp as
  ``round(t * fps)``, with ``t`` measured from the stream's start and ``fps`` the average rate. This equals the
  counted index for constant-frame-rate streams (almost all camera and generator output) and
  estimates it for variable frame rates. Without a timestamp or a frame rate, KEYFRAMES falls
  back to the key frame's position in decode order, which equals its presentation index for
  closed GOPs. (With skip_frame NONKEY the decoder never sees the other frames, so they cannot
  be counted.)
* 0 for an image.

Timestamps
----------
``SampledFrame.time_seconds`` is measured from the stream's first presentation time
(``stream.start_time``), so the first frame is normally at 0.0 in every container (MPEG-TS
clocks start anywhere). It is the container's own timestamp: AVI files with B-frames state
decode-order times, which then are not monotonic. None without timestamps and for images.

Targeted frames
---------------
EVENLY and AUTO (the default) aim at chosen frame indices (see
:mod:`provenance.media.frame_targets`). They decode straight on, and seek only when that
skips real work: when the container's index shows a key frame at least 1 s beyond the current
position before the next target, or, without an index, when the target is 10 s or more ahead.
If a seek lands after its target (imprecise MPEG-TS seeking) it retries further back,
doubling, in the end from the start. When the stated length is too long, the last decoded
frame stands in for the targets past the end.

Images
------
Images are decoded with OpenCV (``IMREAD_COLOR``; stored orientation, EXIF rotation not
applied, like video frames; alpha dropped; 16-bit scaled to 8) and give one frame whose
``luma`` is the BT.601 limited-range Y a video encoder would compute (:func:`~provenance.media.frame.bt601_luma`).
HEIC/AVIF and JPEG XL, which OpenCV wheels cannot read, go through FFmpeg.

Truncation
----------
Iteration never raises for a stream that stops early. :class:`FrameSampler` ends cleanly and
reports, after iteration: ``truncated`` (the stream ended clearly before the frame count its
header or duration states), ``error`` (why decoding stopped, when it broke, or that no frame
decoded at all), the counts ``frames_decoded`` / ``frames_reached`` / ``expected_frames``, and
``damaged_packets`` (packets the decoder rejected and skipped). :func:`sample_frames` yields
the same frames and then raises :class:`~provenance.errors.MediaError` naming how many frames
were decoded. A file cut short can only be recognised when its header states the full length
(MP4/MOV cannot even be opened without their index and raise at once; Matroska/WebM/AVI keep
their duration in the header; an MPEG-TS duration is estimated from the data present, so a
cut transport stream is usually not seen as truncated).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from provenance.errors import ArgumentError, MediaError
from provenance.media.frame import (
    SampledFrame,
    frame_chroma,
    frame_full_range,
    frame_luma,
    frame_mean_qp,
    read_image,
)
from provenance.media.frame_targets import TargetedReads
from provenance.media.probe import (
    IMAGE_FAMILIES_FOR_PYAV,
    best_video_stream,
    bmff_structure_problem,
    describe_error,
    is_image_type,
    open_container,
    sniff_file,
    stream_duration,
    stream_fps,
    stream_frame_count,
)
from provenance.media.sampling import Sampling, SamplingMode
from provenance.media.sniff import FileType

if TYPE_CHECKING:
    from fractions import Fraction

    from av.container import InputContainer
    from av.packet import Packet
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

__all__ = ["FrameSampler", "sample_frames"]

_CHECK_ADVICE = "Check that the file is complete and is a video or an image."


_PICTURE_TYPES = {1: "I", 2: "P", 3: "B"}


class FrameSampler(TargetedReads):
    """Iterate over sampled frames of one clip or image, and report how the stream ended.

    Parameters
    ----------
    path
        The clip or image.
    sampling
        Which frames to yield (default: key frames).
    colour
        Also give each frame's BGR pixels (costs about 1.5 ms per 1080p frame).
    chroma
        Also give each YUV video frame's chroma planes on the 4:2:0 grid
        (:attr:`SampledFrame.chroma`). With ``colour="fallback"``, BGR pixels are then only made
        for frames without them (RGB video, images).
    quantisers
        Ask the decoder to export each frame's quantisers and give their mean as
        :attr:`SampledFrame.mean_qp` (on the H.264 scale; H.264 and the MPEG-2 family only,
        None for other codecs).

    Notes
    -----
    Iterating opens the file (a ``with`` block around the container) and decodes lazily; each
    new iteration starts again from the beginning. The attributes describe the latest iteration
    and are final once it has ended:

    ``kind``
        ``"video"`` or ``"image"``; None before iteration.
    ``expected_frames`` / ``expected_frames_estimated``
        The stream's frame count from its header, or ``round(duration * fps)`` (estimated);
        None when unknown. 1 for an image.
    ``fps``
        Average frame rate; None when unknown.
    ``frames_decoded``
        Frames the decoder produced (KEYFRAMES: key frames only).
    ``frames_yielded``
        Frames handed out.
    ``frames_reached``
        How far into the stream reading got, in frames (from packet timestamps or counts).
    ``damaged_packets``
        Packets the decoder rejected as invalid data; they are skipped.
    ``seeks``
        Seeks made (EVENLY and AUTO only).
    ``target_indices``
        EVENLY and AUTO: the frame indices aimed at (see :mod:`~provenance.media.frame_targets`;
        empty when AUTO reads a short clip whole).
    ``finished``
        Iteration ran to its natural end (end of stream, all targets met, or ``max_frames``).
    ``truncated``
        The stream ended clearly before ``expected_frames`` (at least 2 % and 3 frames
        short). Only judged when reading reached the end of the stream or a targeted mode's
        last target; False otherwise (e.g. stopped by ``max_frames``).
    ``error``
        Why decoding stopped early (an FFmpeg error mid-stream), or that no frame could be
        decoded at all; None otherwise.

    One sampler serves one iteration at a time; use one per thread.

    Raises
    ------
    MediaError
        On iteration, when the file cannot be read, is not media, holds no video stream, or
        uses a codec this FFmpeg build cannot decode.
    """

    def __init__(
        self,
        path: str | Path,
        sampling: Sampling | None = None,
        *,
        colour: bool | str = False,
        chroma: bool = False,
        quantisers: bool = False,
    ) -> None:
        if sampling is None:
            sampling = Sampling()
        if not isinstance(sampling, Sampling):
            raise ArgumentError(
                f"FrameSampler: sampling must be a Sampling (see Sampling.parse), got "
                f"{type(sampling).__name__}"
            )
        self.path = Path(path)
        self.sampling = sampling
        if colour not in (True, False, "fallback"):
            raise ArgumentError(
                f"FrameSampler: colour must be True, False or 'fallback', got {colour!r}"
            )
        self.colour = colour
        self.chroma = bool(chroma)
        self.quantisers = bool(quantisers)
        self._reset()

    def _reset(self) -> None:
        self.kind: str | None = None
        self.expected_frames: int | None = None
        self.expected_frames_estimated = False
        self.fps: float | None = None
        self.frames_decoded = 0
        self.frames_yielded = 0
        self.frames_reached = 0
        self.damaged_packets = 0
        self.seeks = 0
        self.target_indices: tuple[int, ...] = ()
        self.finished = False
        self.truncated = False
        self.error: str | None = None
        # Internal decoding state.
        self._packets = 0
        self._start = 0
        self._time_base: Fraction | None = None
        self._reached_end = False
        self._key_packet_seen = False
        self._keyframe_packets: deque[tuple[int | None, int]] = deque()

    @property
    def complete(self) -> bool:
        """True when iteration finished without truncation or error."""
        return self.finished and not self.truncated and self.error is None

    def __iter__(self) -> Iterator[SampledFrame]:
        self._reset()
        name = self.path.name or str(self.path)
        file_type = sniff_file(self.path, name)
        if file_type.frameless:
            raise MediaError(f"{name}: {file_type.frameless}")
        limit = self.sampling.max_frames
        frames: Generator[SampledFrame, None, None]
        if is_image_type(file_type):
            frames = self._image_frames(name, file_type)
        else:
            self.kind = "video"
            frames = self._video_frames(name, file_type, still=False)
        try:
            for sample in frames:
                self.frames_yielded += 1
                yield sample
                if limit is not None and self.frames_yielded >= limit:
                    self.finished = True
                    return
        finally:
            frames.close()  # closes the container at once, also when the caller stops early
        self.finished = True
        if self.kind is not None and self.frames_decoded == 0 and self.error is None:
            self.error = (
                "no video frame could be decoded (the stream is empty or undecodable; an fMP4 "
                "initialisation segment alone has no frames)"
            )
        self._judge_truncation()

    # ------------------------------------------------------------------ images

    def _image_frames(self, name: str, file_type: FileType) -> Generator[SampledFrame, None, None]:
        self.kind = "image"
        self.expected_frames = 1
        frame = read_image(self.path, name, colour=bool(self.colour))
        if frame is None:
            if file_type.family in IMAGE_FAMILIES_FOR_PYAV:
                yield from self._video_frames(name, file_type, still=True)
                return
            raise MediaError(
                f"{name}: looks like a {file_type.description} but cannot be decoded; it is "
                f"probably truncated or corrupt. {_CHECK_ADVICE}"
            )
        self.frames_decoded = self.frames_reached = 1
        yield frame

    # ------------------------------------------------------------------ video

    def _video_frames(
        self, name: str, file_type: FileType, *, still: bool
    ) -> Generator[SampledFrame, None, None]:
        import av

        try:
            container = open_container(self.path, file_type)
        except av.error.FFmpegError as error:
            problem = None
            if file_type.family == "bmff":
                problem = bmff_structure_problem(self.path, self.path.stat().st_size)
            if problem is not None:
                raise MediaError(
                    f"{name}: incomplete {file_type.description}: {problem}. The download, "
                    "copy or recording was cut short: get the complete file."
                ) from error
            raise MediaError(
                f"{name}: not a readable media file ({describe_error(error)}). {_CHECK_ADVICE}"
            ) from error
        with container:
            stream = self._prepare(container, name)
            if still:
                yield from self._still(container, stream)
                return
            mode = self.sampling.mode
            if mode is SamplingMode.KEYFRAMES:
                yield from self._keyframes(container, stream)
            elif mode is SamplingMode.EVENLY:
                yield from self._targeted(container, stream, self._evenly_targets())
            elif mode is SamplingMode.AUTO:
                targets = self._auto_targets(stream)
                if targets is None:
                    yield from self._every(container, stream, 1)
                else:
                    yield from self._targeted(container, stream, targets)
            else:
                step = self.sampling.n if mode is SamplingMode.EVERY_NTH else 1
                yield from self._every(container, stream, step)

    def _prepare(self, container: InputContainer, name: str) -> VideoStream:
        stream = best_video_stream(container)
        if stream is None:
            raise MediaError(
                f"{name}: the {container.format.name} container holds no video stream, so "
                "there are no frames to sample."
            )
        if stream.codec_context is None:  # PyAV leaves it None when FFmpeg has no decoder
            raise MediaError(
                f"{name}: the video codec of stream #{stream.index} is not supported by this "
                "FFmpeg build, so its frames cannot be checked. Convert it to H.264/MP4 and "
                "retry."
            )
        if self.quantisers:
            # Frame threading hands out frames whose exported quantisers are stale: measured
            # with FFmpeg 8.1 / PyAV 18.1, 1-2 % of H.264 frames came back with an all-zero or
            # another frame's QP map, differently on every run. Slice threading exports them
            # exactly (0 mismatches in 960 frames), at the cost of decoding on one core for
            # codecs whose streams have one slice per frame.
            stream.thread_type = "SLICE"
            stream.codec_context.options = {"export_side_data": "venc_params"}
        else:
            stream.thread_type = "AUTO"
        self.fps = stream_fps(stream)
        duration = stream_duration(container, stream)
        self.expected_frames, self.expected_frames_estimated = stream_frame_count(
            stream, self.fps, duration
        )
        self._start = stream.start_time or 0
        self._time_base = stream.time_base
        return stream

    def _decoded(
        self,
        container: InputContainer,
        stream: VideoStream,
        *,
        keyframes_only: bool = False,
        needed: Callable[[int | None], bool] | None = None,
    ) -> Generator[VideoFrame, None, None]:
        """Decode the stream from the container's current position, one frame at a time.

        ``needed(pts)`` False lets the decoder drop that packet's picture when no other picture
        refers to it (skip_frame NONREF: B-frames, about half the pictures of an x264 stream
        and 40 % of its decoding time); reference pictures are decoded and yielded as ever.
        Rejected packets are counted and skipped; any other FFmpeg failure ends the iteration
        with ``error`` set. Reaching the end of the stream sets ``_reached_end``.
        """
        import av

        context = stream.codec_context
        try:
            for packet in container.demux(stream):
                self._note_packet(packet)
                if needed is not None and packet.size:
                    context.skip_frame = "DEFAULT" if needed(packet.pts) else "NONREF"
                if keyframes_only and packet.size:
                    if packet.is_keyframe:
                        self._key_packet_seen = True
                        self._keyframe_packets.append((packet.pts, self._packets - 1))
                    elif self._key_packet_seen:
                        # Never reaches the decoder: no cost beyond demuxing. (Until a key
                        # flag is seen, packets go to the decoder, which skips non-key frames
                        # itself: some muxers flag no key frames at all.)
                        continue
                try:
                    frames = stream.decode(packet)
                except av.error.InvalidDataError:
                    self.damaged_packets += 1
                    continue
                for frame in frames:
                    self.frames_decoded += 1
                    yield frame
        except av.error.FFmpegError as error:
            self.error = f"decoding stopped after {self.frames_decoded} decoded frames: {describe_error(error)}"
            return
        finally:
            if needed is not None:
                context.skip_frame = "DEFAULT"
        self._reached_end = True

    def _note_packet(self, packet: Packet[VideoStream]) -> None:
        if not packet.size:
            return  # the flush packet PyAV appends at the end of the stream
        self._packets += 1
        position = self._index_from_pts(packet.pts)
        # Packets are counted from the start until a seek; timestamps place them anywhere.
        counted = self._packets if self.seeks == 0 else 0
        self.frames_reached = max(
            self.frames_reached, counted, position + 1 if position is not None else 0
        )

    def _every(
        self, container: InputContainer, stream: VideoStream, step: int
    ) -> Iterator[SampledFrame]:
        first: int | None = None
        for count, frame in enumerate(self._decoded(container, stream)):
            if first is None:
                first = self._first_index(frame)
            index = first + count
            self.frames_reached = max(self.frames_reached, index + 1)
            if index % step == 0:
                yield self._sample(frame, index)

    def _keyframes(self, container: InputContainer, stream: VideoStream) -> Iterator[SampledFrame]:
        stream.codec_context.skip_frame = "NONKEY"
        for frame in self._decoded(container, stream, keyframes_only=True):
            packet_index = self._pop_keyframe_packet(frame.pts)
            # Some decoders (VP9) ignore skip_frame; only key packets are fed, but check anyway.
            if not frame.key_frame:
                continue
            index = self._index_from_pts(frame.pts)
            yield self._sample(frame, packet_index if index is None else index)

    def _first_index(self, frame: VideoFrame) -> int:
        """Where counting starts: the first decoded frame's place from its timestamp, normally
        0, later when the decoder could not output the first frames (a transport stream cut
        mid-GOP), so that counted and timestamp-derived indices agree."""
        index = self._index_from_pts(frame.pts)
        return index if index is not None else 0

    def _pop_keyframe_packet(self, pts: int | None) -> int:
        """Decode-order position of the key packet that produced the frame with ``pts``."""
        queue = self._keyframe_packets
        while queue:
            packet_pts, packet_index = queue.popleft()
            if pts is None or packet_pts is None or packet_pts >= pts:
                return packet_index
        return max(self._packets - 1, 0)

    def _still(self, container: InputContainer, stream: VideoStream) -> Iterator[SampledFrame]:
        self.expected_frames, self.expected_frames_estimated = 1, False
        for frame in self._decoded(container, stream):
            sample = self._sample(frame, 0)
            yield dataclasses.replace(
                sample, index=0, time_seconds=None, picture_type="I", key_frame=True
            )
            return

    # ------------------------------------------------------------------ helpers

    def _index_from_pts(self, pts: int | None) -> int | None:
        time = self._relative_time(pts)
        if time is None or self.fps is None:
            return None
        return max(0, round(time * self.fps))

    def _relative_time(self, pts: int | None) -> float | None:
        if pts is None or self._time_base is None:
            return None
        return float((pts - self._start) * self._time_base)

    def _sample(self, frame: VideoFrame, index: int) -> SampledFrame:
        import av

        try:
            luma = frame_luma(frame)
            chroma = frame_chroma(frame) if self.chroma else None
            bgr: np.ndarray | None = None
            if self.colour is True or (self.colour == "fallback" and chroma is None):
                bgr = np.asarray(frame.to_ndarray(format="bgr24"))
        except av.error.FFmpegError as error:
            name = self.path.name or str(self.path)
            raise MediaError(
                f"{name}: cannot convert a decoded {frame.format.name} frame ({describe_error(error)})."
            ) from error
        return SampledFrame(
            index=index,
            time_seconds=self._relative_time(frame.pts),
            picture_type=_PICTURE_TYPES.get(int(frame.pict_type), "?"),
            key_frame=bool(frame.key_frame),
            width=int(luma.shape[1]),
            height=int(luma.shape[0]),
            luma=luma,
            bgr=bgr,
            chroma=chroma,
            full_range=frame_full_range(frame),
            mean_qp=frame_mean_qp(frame) if self.quantisers else None,
        )

    def _judge_truncation(self) -> None:
        expected = self.expected_frames
        if self.kind != "video" or expected is None or not (self._reached_end or self.error):
            return
        # Stated lengths are approximate (durations rounded, edit lists dropping a few
        # frames): only a clear shortfall counts.
        self.truncated = expected - self.frames_reached >= _truncation_margin(expected)


def _truncation_margin(expected: int) -> int:
    """How many frames short of its stated length a stream must end to count as truncated."""
    return max(3, math.ceil(0.02 * expected))


def sample_frames(
    path: str | Path, sampling: Sampling | None = None, *, colour: bool = False
) -> Iterator[SampledFrame]:
    """Yield sampled frames of a clip or image; strict about streams that end early.

    Parameters
    ----------
    path
        The clip or image.
    sampling
        Which frames (default: key frames); see :class:`Sampling`.
    colour
        Also give each frame's BGR pixels.

    Yields
    ------
    SampledFrame
        One at a time; memory stays bounded whatever the clip's length.

    Raises
    ------
    MediaError
        The file cannot be opened or decoded; or, after the frames that could be decoded were
        yielded, the stream broke or ended clearly before its stated length. Use
        :class:`FrameSampler` to keep such partial results without an exception.
    """
    sampler = FrameSampler(path, sampling, colour=colour)
    yield from sampler
    name = sampler.path.name or str(sampler.path)
    if sampler.error is not None:
        raise MediaError(
            f"{name}: {sampler.error}; {sampler.frames_yielded} frames were sampled. The file "
            "is probably truncated or corrupt."
        )
    if sampler.truncated:
        raise MediaError(
            f"{name}: the video stream ends after {sampler.frames_reached} of "
            f"{sampler.expected_frames} frames ({sampler.frames_decoded} decoded, "
            f"{sampler.frames_yielded} sampled); the file is probably truncated (cut short)."
        )
