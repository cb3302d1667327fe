"""Re-encode a clip while changing its luma frame by frame (used to embed watermarks).

Frames are decoded, converted to 8-bit 4:2:0, their Y plane is handed to a callback, and the
result is encoded with libx264. Everything else a player uses to show the clip is kept: the
samples stay in their own range (full-range phone clips are not squeezed to 16-235) and the
output carries the source's range, matrix, primaries and transfer tags, its display matrix
(rotation), frame rate and every frame's timestamp (variable frame rates included). Audio
streams are copied without re-encoding. Memory stays bounded: one frame at a time.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from provenance.errors import ArgumentError, MediaError
from provenance.media.frame import side_data_of

if TYPE_CHECKING:
    from av.packet import Packet
    from av.stream import Stream
    from av.video.frame import VideoFrame
    from av.video.plane import VideoPlane
    from av.video.stream import VideoStream

__all__ = ["LumaTransform", "rewrite_luma"]

#: Called with (Y plane (H, W) uint8, frame index); returns the new Y plane, same shape/dtype.
LumaTransform = Callable[[np.ndarray, int], np.ndarray]

# FFmpeg's AVColorRange / AVColorSpace values (libavutil/pixfmt.h).
_RANGE_LIMITED = 1
_RANGE_FULL = 2
_COLORSPACE_SMPTE170M = 6


@dataclass(frozen=True)
class _Presentation:
    """What a player reads, besides the samples, to show the frames: kept on the output."""

    color_range: int
    colorspace: int
    color_primaries: int
    color_trc: int
    display_matrix: tuple[int, ...] | None
    """FFmpeg's 3x3 display matrix (rotation and flips), or None when the clip has none."""
    rotate_tag: float | None
    """A ``rotate`` stream tag (clockwise degrees), used when there is no display matrix."""
    rgb_source: bool
    """The frames are RGB: they are converted to BT.601 YUV, and tagged so."""


def rewrite_luma(
    source: Path,
    destination: Path,
    transform: LumaTransform,
    *,
    crf: int = 18,
    preset: str = "medium",
) -> int:
    """Write ``destination`` with every frame's luma replaced by ``transform``'s result.

    Parameters
    ----------
    source, destination
        Input clip and output path (its suffix picks the container: .mp4, .mov, .mkv, ...).
    transform
        The luma change; must return a uint8 array of the same shape. It sees the coded Y
        samples in the clip's own range (0-255 for full-range clips, 16-235 otherwise).
    crf, preset
        libx264 quality (0-51, lower is better) and speed preset.

    Returns
    -------
    int
        The number of frames written.

    Raises
    ------
    MediaError
        The source has no decodable video stream or cannot be written as asked; a partly
        written destination is removed.
    """
    if not 0 <= crf <= 51:
        raise ArgumentError(f"crf must be in 0..51, got {crf}")
    if destination.resolve() == source.resolve():
        raise ArgumentError("the destination must differ from the source (it would be overwritten)")
    try:
        written = _rewrite(source, destination, transform, crf=crf, preset=preset)
    except BaseException:
        destination.unlink(missing_ok=True)
        raise
    if written == 0:
        destination.unlink(missing_ok=True)
        raise MediaError(
            f"{source.name}: no video frame could be decoded; check that the file plays, "
            "or re-export it."
        )
    return written


def _rewrite(
    source: Path, destination: Path, transform: LumaTransform, *, crf: int, preset: str
) -> int:
    import av

    from provenance.media.probe import best_video_stream

    written = 0
    try:
        with av.open(str(source)) as inp, av.open(str(destination), mode="w") as out:
            video_in = best_video_stream(inp)
            if video_in is None:
                raise MediaError(f"{source.name}: has no video stream to mark; give a video clip.")
            video_in.thread_type = "AUTO"
            time_base = video_in.time_base or Fraction(1, 90000)
            rate = video_in.average_rate or video_in.guessed_rate or Fraction(25)
            video_out = out.add_stream("libx264", rate=rate)
            video_out.time_base = time_base
            video_out.codec_context.time_base = time_base
            video_out.width = video_in.codec_context.width // 2 * 2
            video_out.height = video_in.codec_context.height // 2 * 2
            video_out.pix_fmt = "yuv420p"
            video_out.thread_type = "FRAME"
            video_out.options = {"crf": str(crf), "preset": preset}
            try:
                audio_map = {
                    stream.index: out.add_stream_from_template(stream)
                    for stream in inp.streams.audio
                }
            except ValueError as exc:  # PyAV: the container cannot hold this audio codec
                raise MediaError(
                    f"{source.name}: its audio cannot be copied into {destination.name} ({exc}); "
                    "write to .mkv, which holds most audio codecs."
                ) from None
            # Audio met before the first video frame waits: the video stream's tags (range,
            # rotation) come from that frame and must be set before the header is written.
            waiting: list[Packet[Stream]] | None = []
            shown: _Presentation | None = None
            timing = _Timing(video_out, rate, time_base)
            for packet in inp.demux(video_in, *[inp.streams[i] for i in audio_map]):
                if packet.stream.index in audio_map:
                    if packet.dts is None:
                        continue
                    packet.stream = audio_map[packet.stream.index]
                    if waiting is None:
                        out.mux(packet)
                    else:
                        waiting.append(packet)
                    continue
                for frame in packet.decode():
                    if not isinstance(frame, av.VideoFrame):
                        continue
                    if shown is None:
                        shown = _presentation_of(frame, video_in.metadata)
                        _tag_stream(video_out, shown)
                        out.mux(waiting or [])
                        waiting = None
                    marked = _marked_frame(frame, video_out, shown, transform, written)
                    out.mux(timing.encode(marked, frame))
                    written += 1
            end = None
            if video_in.duration is not None:
                end = (video_in.start_time or 0) + video_in.duration
            out.mux(timing.finish(end))
    except av.error.FFmpegError as exc:
        raise MediaError(
            f"{source.name}: cannot be re-encoded to {destination.name} ({exc}); check that "
            "the clip plays, or write to .mkv, which holds most audio codecs."
        ) from exc
    return written


class _Timing:
    """Gives each frame its source timestamp and its display time up to the next frame.

    Frames are encoded one behind the decoder, so that a variable-rate clip keeps every
    frame's length; the last frame runs to the end of the source's video stream.
    """

    def __init__(self, stream: VideoStream, rate: Fraction, time_base: Fraction) -> None:
        self._stream = stream
        self._time_base = time_base
        self._step = max(1, round(1 / (Fraction(rate) * time_base)))  # one frame, in ticks
        self._held: tuple[VideoFrame, int] | None = None  # (frame, its pts)

    def encode(self, marked: VideoFrame, decoded: VideoFrame) -> list[Packet[VideoStream]]:
        """Encode the frame held back, now that ``marked``'s time is known; hold ``marked``."""
        pts = decoded.pts
        if self._held is None:
            pts = 0 if pts is None else pts
        elif pts is None or pts <= self._held[1]:  # missing or repeated: one frame later
            pts = self._held[1] + self._step
        marked.pts = pts
        marked.time_base = self._time_base
        marked.duration = decoded.duration or self._step
        held, self._held = self._held, (marked, pts)
        if held is None:
            return []
        held[0].duration = pts - held[1]
        return self._stream.encode(held[0])

    def finish(self, end: int | None) -> list[Packet[VideoStream]]:
        """Encode the last frame (up to ``end``, the stream's end in ticks) and flush."""
        packets: list[Packet[VideoStream]] = []
        if self._held is not None:
            frame, pts = self._held
            if end is not None and end >= pts:
                frame.duration = end - pts
            packets += self._stream.encode(frame)
        return packets + self._stream.encode()


def _presentation_of(frame: VideoFrame, stream_tags: dict[str, str]) -> _Presentation:
    """The first frame's colour tags and display matrix (a ``rotate`` tag when it has none)."""
    from av.sidedata.sidedata import Type

    matrix: tuple[int, ...] | None = None
    for side in side_data_of(frame):
        if side.type is Type.DISPLAYMATRIX and len(bytes(side)) == 36:
            matrix = struct.unpack("=9i", bytes(side))
    rotate_tag: float | None = None
    with contextlib.suppress(KeyError, ValueError):
        rotate_tag = float(stream_tags["rotate"])
    rgb = frame.format.is_rgb
    if rgb:  # converted here to limited-range BT.601 YUV, like an encoder's own input
        color_range, colorspace = _RANGE_LIMITED, _COLORSPACE_SMPTE170M
    elif frame.color_range == _RANGE_FULL or frame.format.name.startswith("yuvj"):
        color_range, colorspace = _RANGE_FULL, frame.colorspace
    else:
        color_range, colorspace = frame.color_range, frame.colorspace
    return _Presentation(
        color_range=color_range,
        colorspace=colorspace,
        color_primaries=frame.color_primaries,
        color_trc=frame.color_trc,
        display_matrix=matrix,
        rotate_tag=rotate_tag,
        rgb_source=rgb,
    )


def _tag_stream(stream: VideoStream, shown: _Presentation) -> None:
    """Tag the output stream so players show it as they showed the source."""
    stream.color_range = shown.color_range
    stream.colorspace = shown.colorspace
    stream.color_primaries = shown.color_primaries
    stream.color_trc = shown.color_trc
    if shown.display_matrix is not None:
        stream.set_display_matrix(shown.display_matrix)
    elif shown.rotate_tag is not None:  # FFmpeg's muxers write rotation only as a matrix
        stream.set_display_rotation(-shown.rotate_tag)  # takes counter-clockwise degrees


def _marked_frame(
    frame: VideoFrame,
    stream: VideoStream,
    shown: _Presentation,
    transform: LumaTransform,
    index: int,
) -> VideoFrame:
    """A new 8-bit 4:2:0 frame in the source's own range, its luma changed by ``transform``.

    Always a copy: the decoded frame's buffers may be the decoder's reference pictures, and
    writing into them would drift every later frame predicted from them.
    """
    import av
    from av.video.reformatter import ColorRange, Colorspace

    width, height = stream.width, stream.height
    if shown.rgb_source:
        yuv = frame.reformat(
            width=width,
            height=height,
            format="yuv420p",
            dst_colorspace=Colorspace.ITU601,
            dst_color_range=ColorRange.MPEG,
        )
    else:  # no range or matrix given: swscale keeps the frame's own, samples unconverted
        yuv = frame.reformat(width=width, height=height, format="yuv420p")
    marked = av.VideoFrame(width, height, "yuv420p")
    luma = np.ascontiguousarray(_plane_view(yuv.planes[0], width, height))
    changed = transform(luma, index)
    if changed.shape != luma.shape or changed.dtype != np.uint8:
        raise ArgumentError("the luma transform must return a uint8 array of the same shape")
    _plane_view(marked.planes[0], width, height)[:] = changed
    for plane in (1, 2):
        _plane_view(marked.planes[plane], width // 2, height // 2)[:] = _plane_view(
            yuv.planes[plane], width // 2, height // 2
        )
    marked.color_range = shown.color_range
    marked.colorspace = shown.colorspace
    marked.color_primaries = shown.color_primaries
    marked.color_trc = shown.color_trc
    return marked


def _plane_view(plane: VideoPlane, width: int, height: int) -> np.ndarray:
    """(height, width) uint8 view of a plane's samples, without its row padding."""
    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
    return rows[:height, :width]
