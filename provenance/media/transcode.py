"""Re-encode a clip while changing its luma frame by frame (used to embed watermarks).

Frames are decoded, converted to 8-bit 4:2:0, their Y plane is handed to a callback, and the
result is encoded with libx264. Audio streams are copied without re-encoding. Memory stays
bounded: one frame at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from provenance.errors import ArgumentError, MediaError

__all__ = ["LumaTransform", "rewrite_luma"]

#: Called with (Y plane (H, W) uint8, frame index); returns the new Y plane, same shape/dtype.
LumaTransform = Callable[[np.ndarray, int], np.ndarray]


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
        The luma change; must return a uint8 array of the same shape.
    crf, preset
        libx264 quality (0-51, lower is better) and speed preset.

    Returns
    -------
    int
        The number of frames written.

    Raises
    ------
    MediaError
        The source has no decodable video stream or cannot be written as asked.
    """
    import av

    if not 0 <= crf <= 51:
        raise ArgumentError(f"crf must be in 0..51, got {crf}")
    written = 0
    try:
        with av.open(str(source)) as inp, av.open(str(destination), mode="w") as out:
            if not inp.streams.video:
                raise MediaError(f"{source.name}: has no video stream to mark.")
            video_in = inp.streams.video[0]
            video_in.thread_type = "AUTO"
            rate = video_in.average_rate or video_in.guessed_rate or Fraction(25)
            video_out = out.add_stream("libx264", rate=rate)
            video_out.time_base = 1 / Fraction(rate)
            video_out.width = video_in.codec_context.width // 2 * 2
            video_out.height = video_in.codec_context.height // 2 * 2
            video_out.pix_fmt = "yuv420p"
            video_out.thread_type = "FRAME"
            video_out.options = {"crf": str(crf), "preset": preset}
            audio_map = {
                stream.index: out.add_stream_from_template(stream) for stream in inp.streams.audio
            }
            for packet in inp.demux(video_in, *[inp.streams[i] for i in audio_map]):
                if packet.stream.index in audio_map:
                    if packet.dts is None:
                        continue
                    packet.stream = audio_map[packet.stream.index]
                    out.mux(packet)
                    continue
                for frame in packet.decode():
                    if not isinstance(frame, av.VideoFrame):
                        continue
                    yuv = frame.reformat(
                        width=video_out.width, height=video_out.height, format="yuv420p"
                    )
                    plane = yuv.planes[0]
                    rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
                    luma = np.ascontiguousarray(rows[: yuv.height, : yuv.width])
                    changed = transform(luma, written)
                    if changed.shape != luma.shape or changed.dtype != np.uint8:
                        raise ArgumentError(
                            "the luma transform must return a uint8 array of the same shape"
                        )
                    rows[: yuv.height, : yuv.width] = changed
                    yuv.pts = written
                    yuv.time_base = 1 / Fraction(rate)
                    for encoded in video_out.encode(yuv):
                        out.mux(encoded)
                    written += 1
            for encoded in video_out.encode():
                out.mux(encoded)
    except av.error.FFmpegError as exc:
        raise MediaError(f"{source.name}: cannot be re-encoded ({exc}).") from exc
    if written == 0:
        raise MediaError(f"{source.name}: no video frame could be decoded.")
    return written
