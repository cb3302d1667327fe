"""Long synthetic H.264 clips for the benchmarks, made quickly: one 10 s segment is encoded,
then copied end to end (packets re-timed, no re-encode) up to the length wanted.

Decoding cost per frame is what the benchmarks measure, so a clip made of repeated segments
is as good as one encoded whole: each copy starts with an IDR frame, key frames keep the
encoder's default spacing, and a 60-minute 4K clip takes a minute to make instead of hours.

    python benchmarks/_clips.py 1080 1800      # benchmarks/_work/clips/1080p30_1800s.mp4
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

__all__ = ["CLIPS", "SIZES", "long_clip", "segment"]

CLIPS = Path(__file__).resolve().parent / "_work" / "clips"
#: Frame sizes by their height.
SIZES = {720: (1280, 720), 1080: (1920, 1080), 2160: (3840, 2160)}
FPS = 30
SEGMENT_SECONDS = 10
_ONE_SLICE = "_1slice"


def segment(height: int, *, crf: int = 23, one_slice: bool = False, folder: Path = CLIPS) -> Path:
    """A 10 s textured clip panning 2 px a frame, libx264 (medium; veryfast for 4K), default
    GOP (key frames every 250 frames).

    PyAV's encoder threads by slices, so each frame has several; ``one_slice`` threads it by
    frames, as the ffmpeg command and most cameras and platforms do: one slice a frame, which a
    slice-threaded decoder (the check's, for exact quantisers) decodes on one core."""
    width, height = SIZES[height]
    path = folder / f"segment_{height}p30_crf{crf}{_ONE_SLICE if one_slice else ''}.mp4"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(height + crf)
    coarse = rng.integers(0, 255, (height // 20, width // 20, 3), dtype=np.uint8)
    frames = SEGMENT_SECONDS * FPS
    base = cv2.resize(coarse, (width + 2 * frames, height + frames), interpolation=cv2.INTER_CUBIC)
    noise = np.asarray(rng.normal(0.0, 16.0, base.shape), dtype=np.float32)
    picture = np.clip(base + cv2.GaussianBlur(noise, (0, 0), 1.0), 0, 255).astype(np.uint8)
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        preset = "veryfast" if height > 1080 else "medium"
        stream.options = {"crf": str(crf), "preset": preset}
        if one_slice:
            stream.thread_type = "FRAME"
        for index in range(frames):
            x, y = index * 2, index
            crop = np.ascontiguousarray(picture[y : y + height, x : x + width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(crop, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    partial.rename(path)
    return path


def long_clip(
    height: int, seconds: int, *, crf: int = 23, one_slice: bool = False, folder: Path = CLIPS
) -> Path:
    """``seconds`` (a multiple of 10) of :func:`segment` copied end to end, in MP4."""
    path = folder / f"{height}p30_crf{crf}{_ONE_SLICE if one_slice else ''}_{seconds}s.mp4"
    if path.is_file():
        return path
    source = segment(height, crf=crf, one_slice=one_slice, folder=folder)
    if seconds == SEGMENT_SECONDS:
        return source
    copies, rest = divmod(seconds, SEGMENT_SECONDS)
    if rest or copies < 1:
        raise ValueError(f"seconds must be a positive multiple of {SEGMENT_SECONDS}")
    partial = path.with_suffix(".partial.mp4")
    with av.open(str(source)) as original:
        in_stream = original.streams.video[0]
        packets = [packet for packet in original.demux(in_stream) if packet.size]
        time_base = in_stream.time_base
        assert time_base is not None
        span = round(SEGMENT_SECONDS / time_base)  # one segment, in stream ticks
        with av.open(str(partial), "w") as container:
            stream = container.add_stream_from_template(in_stream)
            for copy in range(copies):
                for packet in packets:
                    shift = copy * span
                    packet.pts = None if packet.pts is None else packet.pts + shift
                    packet.dts = None if packet.dts is None else packet.dts + shift
                    packet.stream = stream
                    container.mux(packet)
                    # the packet objects are reused: undo the shift for the next copy
                    packet.pts = None if packet.pts is None else packet.pts - shift
                    packet.dts = None if packet.dts is None else packet.dts - shift
    partial.rename(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("height", type=int, choices=sorted(SIZES))
    parser.add_argument("seconds", type=int)
    parser.add_argument("--crf", type=int, default=23)
    parser.add_argument("--one-slice", action="store_true", help="one slice a frame")
    args = parser.parse_args(argv)
    print(long_clip(args.height, args.seconds, crf=args.crf, one_slice=args.one_slice))
    return 0


if __name__ == "__main__":
    sys.exit(main())
