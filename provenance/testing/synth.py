"""Deterministic synthetic clips and images, for the sample corpus, tests and benchmarks.

Clips are written with PyAV (OpenCV wheels cannot write H.264); images with OpenCV.
"""

from __future__ import annotations

import typing
from fractions import Fraction
from pathlib import Path

import numpy as np

from provenance.errors import ArgumentError

__all__ = [
    "CONTAINER_CODECS",
    "reencode",
    "smooth_frame",
    "synthetic_frame",
    "write_clip",
    "write_image",
]

#: Container (file suffix) -> (video codec, pixel format, audio codec or None) written here.
CONTAINER_CODECS: dict[str, tuple[str, str, str | None]] = {
    ".mp4": ("libx264", "yuv420p", "aac"),
    ".m4v": ("libx264", "yuv420p", "aac"),
    ".mov": ("libx264", "yuv420p", "aac"),
    ".mkv": ("libx264", "yuv420p", "aac"),
    ".avi": ("mpeg4", "yuv420p", "mp3"),
    ".webm": ("libvpx-vp9", "yuv420p", "libopus"),
    ".ts": ("libx264", "yuv420p", "aac"),
}


def synthetic_frame(index: int, *, width: int, height: int, seed: int = 0) -> np.ndarray:
    """Return one RGB frame (H, W, 3) uint8: a moving gradient with seeded texture."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 64, size=(height, width, 1), dtype=np.int16)
    ys = np.arange(height, dtype=np.int16)[:, None, None]
    xs = np.arange(width, dtype=np.int16)[None, :, None]
    shift = np.array([0, 85, 170], dtype=np.int16)[None, None, :]
    frame = (xs * 2 + ys + index * 4 + shift + base) % 256
    return frame.astype(np.uint8)


def smooth_frame(index: int, *, width: int, height: int, seed: int = 0) -> np.ndarray:
    """Return one RGB frame (H, W, 3) uint8 of smooth rendered-looking content: a colour
    gradient and soft blobs drifting across it (as many generated clips look)."""
    rng = np.random.default_rng(seed)
    ys = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    xs = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    colour_a, colour_b = rng.uniform(40, 215, (2, 3)).astype(np.float32)
    t = 0.5 + 0.5 * (xs - 0.5 + index * 0.004) + 0.3 * (ys - 0.5)
    frame = colour_a * (1 - t) + colour_b * t
    for _ in range(3):
        centre = rng.uniform(0.2, 0.8, 2) + rng.uniform(-0.004, 0.004, 2) * index
        tint = rng.uniform(-60, 60, 3).astype(np.float32)
        radius = rng.uniform(0.12, 0.3)
        weight = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * radius**2))
        frame = frame + weight * tint
    result: np.ndarray = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return result


def write_clip(
    path: str | Path,
    *,
    seconds: float = 1.0,
    fps: int = 24,
    width: int = 320,
    height: int = 240,
    seed: int = 0,
    audio: bool = False,
    codec: str | None = None,
    content: str = "pattern",
) -> Path:
    """Write a short synthetic clip; the container follows the file suffix.

    Parameters
    ----------
    path
        Destination; its suffix picks the container (see :data:`CONTAINER_CODECS`).
    seconds, fps, width, height
        Clip geometry. ``width`` and ``height`` must be even (4:2:0 chroma).
    seed
        Seed of the texture, so that two clips with different seeds differ.
    audio
        Add a sine-tone audio track.
    codec
        Override the video codec.
    content
        ``pattern`` (:func:`synthetic_frame`: a moving gradient with fine texture) or
        ``smooth`` (:func:`smooth_frame`).
    """
    import av  # PyAV is imported lazily: importing the package stays light

    destination = Path(path)
    suffix = destination.suffix.lower()
    if suffix not in CONTAINER_CODECS:
        raise ArgumentError(
            f"write_clip: unsupported suffix {suffix!r}; use one of {sorted(CONTAINER_CODECS)}"
        )
    if width % 2 or height % 2 or width <= 0 or height <= 0:
        raise ArgumentError(
            f"write_clip: width and height must be positive and even, got {width}x{height}"
        )
    if seconds <= 0 or fps <= 0:
        raise ArgumentError("write_clip: seconds and fps must be positive")
    frames_of = {"pattern": synthetic_frame, "smooth": smooth_frame}
    if content not in frames_of:
        raise ArgumentError(f"write_clip: content must be one of {sorted(frames_of)}")
    make_frame = frames_of[content]
    video_codec, pixel_format, audio_codec = CONTAINER_CODECS[suffix]
    frame_count = max(1, round(seconds * fps))
    with av.open(str(destination), mode="w") as container:
        stream = typing.cast(
            "av.video.stream.VideoStream", container.add_stream(codec or video_codec, rate=fps)
        )
        stream.width = width
        stream.height = height
        stream.pix_fmt = pixel_format
        # FRAME threading: the default SLICE threading writes atypical multi-slice streams.
        stream.thread_type = "FRAME"
        audio_stream = None
        if audio and audio_codec is not None:
            audio_stream = container.add_stream(audio_codec, rate=48000)
        for index in range(frame_count):
            rgb = make_frame(index, width=width, height=height, seed=seed)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio_stream is not None:
            _write_tone(av, audio_stream, container, seconds)
    return destination


def _write_tone(av: object, audio_stream: object, container: object, seconds: float) -> None:
    import av as _av

    stream = audio_stream
    assert isinstance(stream, _av.audio.stream.AudioStream)
    assert isinstance(container, _av.container.OutputContainer)
    rate = 48000
    frame_size = stream.codec_context.frame_size or 1024
    total = int(seconds * rate)
    t = np.arange(total, dtype=np.float32) / rate
    samples = (0.2 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    layout = "stereo" if stream.codec_context.layout.nb_channels == 2 else "mono"
    channels = 2 if layout == "stereo" else 1
    fmt = stream.codec_context.format.name
    pts = 0
    for start in range(0, total, frame_size):
        chunk = samples[start : start + frame_size]
        if chunk.size < frame_size:
            chunk = np.pad(chunk, (0, frame_size - chunk.size))
        planar = fmt.endswith("p")
        data = np.tile(chunk, (channels, 1)) if planar else np.repeat(chunk, channels)[None, :]
        frame = _av.AudioFrame.from_ndarray(_as_sample_format(data, fmt), format=fmt, layout=layout)
        frame.sample_rate = rate
        frame.pts = pts
        frame.time_base = Fraction(1, rate)
        pts += frame_size
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def _as_sample_format(data: np.ndarray, fmt: str) -> np.ndarray:
    """Convert float samples in [-1, 1] to the dtype an encoder's sample format wants."""
    base = fmt.rstrip("p")
    if base == "s16":
        return (data * 32767).astype(np.int16)
    if base == "s32":
        return (data * 2147483647).astype(np.int32)
    if base == "dbl":
        return data.astype(np.float64)
    return data.astype(np.float32)


def write_image(
    path: str | Path, *, width: int = 320, height: int = 240, seed: int = 0, quality: int = 92
) -> Path:
    """Write a synthetic still image; the format follows the suffix (.jpg, .png, .webp, ...)."""
    import cv2

    destination = Path(path)
    rgb = synthetic_frame(0, width=width, height=height, seed=seed)
    params: list[int] = []
    if destination.suffix.lower() in {".jpg", ".jpeg"}:
        params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    if not cv2.imwrite(str(destination), rgb[:, :, ::-1], params):
        raise ArgumentError(f"write_image: OpenCV cannot write {destination.suffix!r} files")
    return destination


def reencode(
    source: str | Path, destination: str | Path, *, scale: float = 0.5, crf: int = 23
) -> Path:
    """What a platform does to an upload: decode, resize, re-encode as H.264 (libx264) in a
    fresh container, so no metadata (and no Content Credentials) survives."""
    import av

    destination = Path(destination)
    with av.open(str(source)) as inp, av.open(str(destination), "w") as out:
        stream_in = inp.streams.video[0]
        width = max(2, round(stream_in.width * scale / 2) * 2)
        height = max(2, round(stream_in.height * scale / 2) * 2)
        fps = stream_in.average_rate or Fraction(24)
        rate = Fraction(fps.denominator, fps.numerator)
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": str(crf)}
        stream.thread_type = "FRAME"
        for index, frame in enumerate(inp.decode(stream_in)):
            small = frame.reformat(width=width, height=height, format="yuv420p")
            small.pts = index  # counted in frames
            small.time_base = rate
            for packet in stream.encode(small):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return destination
