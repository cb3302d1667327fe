"""Media I/O: the encoder settings, decoding, the bit-exact :class:`VideoOut` writer, image
files, and the crop / scale geometry shared by the attacks.

Every encoder runs single-threaded and every container is muxed with ``fflags=+bitexact``, so
that the files depend only on the frames and the library versions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- encoders


@dataclass(frozen=True)
class Codec:
    """One encoder setting: FFmpeg encoder name, pixel format, options and file suffix."""

    encoder: str
    pix_fmt: str
    options: tuple[tuple[str, str], ...]
    suffix: str
    lossless: bool = False

    def describe(self) -> dict[str, Any]:
        return {"encoder": self.encoder, "pix_fmt": self.pix_fmt, **dict(self.options)}


def h264(crf: int) -> Codec:
    """libx264, preset medium, yuv420p, single-threaded (deterministic), in MP4."""
    return Codec(
        "libx264", "yuv420p", (("crf", str(crf)), ("preset", "medium"), ("threads", "1")), ".mp4"
    )


H265_CRF28 = Codec(
    "libx265",
    "yuv420p",
    (
        ("crf", "28"),
        ("preset", "medium"),
        ("x265-params", "pools=1:frame-threads=1:log-level=error"),
    ),
    ".mp4",
)
VP9_CRF32 = Codec(
    "libvpx-vp9",
    "yuv420p",
    (
        ("crf", "32"),
        ("b", "0"),
        ("deadline", "good"),
        ("cpu-used", "2"),
        ("row-mt", "0"),
        ("threads", "1"),
    ),
    ".webm",
)
FFV1_BGR0 = Codec("ffv1", "bgr0", (("level", "3"), ("threads", "1")), ".mkv", lossless=True)
#: Quality of every base (unmarked) clip and of every keyed-marked clip.
BASE_CODEC = h264(18)
#: zlib compression level of every PNG written.
PNG_COMPRESSION = 6


# --------------------------------------------------------------------------- media I/O


def _decode(path: Path) -> Iterator[Any]:
    """Decoded video frames of ``path`` (single-threaded decoder)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        yield from container.decode(stream)


#: A yuv420p frame as its Y (H, W), U and V (H / 2, W / 2) planes.
Planes = tuple[np.ndarray, ...]


def frame_planes(frame: Any) -> Planes:
    """Copies of the Y, U and V planes of a decoded frame, converted to yuv420p if needed."""
    yuv = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
    planes = []
    for plane in yuv.planes:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        planes.append(np.array(rows[: plane.height, : plane.width]))
    return tuple(planes)


def bgr_to_planes(bgr: np.ndarray) -> Planes:
    """BGR -> yuv420p planes with swscale (PyAV's defaults: BT.601 limited range)."""
    import av

    return frame_planes(av.VideoFrame.from_ndarray(np.ascontiguousarray(bgr), format="bgr24"))


def _filled_frame(av: Any, planes: Sequence[np.ndarray], width: int, height: int, fmt: str) -> Any:
    """A new frame holding ``planes``, its row padding filled by repeating each row's last byte.

    Encoders read the padding bytes past the picture width when the width is not a multiple
    of 16 (x264 does, for 854 or 426): left uninitialised, they make the bitstream depend on
    whatever the allocator handed out, so two builds of the same frames would differ.
    """
    frame = av.VideoFrame(width, height, fmt)
    for plane, data in zip(frame.planes, planes, strict=True):
        buffer = np.frombuffer(memoryview(plane), np.uint8)
        rows, used = data.shape
        view = buffer[: rows * plane.line_size].reshape(rows, plane.line_size)
        view[:, :used] = data
        view[:, used:] = data[:, -1:]
        buffer[rows * plane.line_size :] = 0
    return frame


class VideoOut:
    """A single-threaded, bit-exact-muxed video writer; frames get consecutive timestamps."""

    def __init__(self, path: Path, codec: Codec, width: int, height: int, rate: Fraction) -> None:
        import av

        self.path = path
        self.codec = codec
        self.rate = Fraction(rate)
        self.width = width
        self.height = height
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._av = av
        self._container = av.open(str(path), mode="w", options={"fflags": "+bitexact"})
        stream: Any = self._container.add_stream(codec.encoder, rate=self.rate)
        stream.width = width
        stream.height = height
        stream.pix_fmt = codec.pix_fmt
        stream.time_base = 1 / self.rate
        stream.options = dict(codec.options)
        stream.codec_context.thread_count = 1
        self._stream = stream

    def add(self, frame: Any) -> None:
        frame.pts = self.count
        frame.time_base = 1 / self.rate
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.count += 1

    def add_planes(self, planes: Planes) -> None:
        """Encode one yuv420p frame given as its (Y, U, V) planes."""
        if self.codec.pix_fmt != "yuv420p":
            raise ValueError(f"{self.path.name}: {self.codec.encoder} is not fed yuv420p")
        self._check(planes[0].shape)
        self.add(_filled_frame(self._av, planes, self.width, self.height, "yuv420p"))

    def add_bgr(self, bgr: np.ndarray) -> None:
        """Encode one BGR frame (converted to yuv420p by swscale, BT.601, for YUV encoders)."""
        self._check(bgr.shape[:2])
        if self.codec.pix_fmt == "yuv420p":
            self.add_planes(bgr_to_planes(bgr))
        elif self.codec.pix_fmt == "bgr0":
            packed = np.zeros((self.height, self.width, 4), np.uint8)
            packed[:, :, :3] = bgr
            flat = packed.reshape(self.height, self.width * 4)
            self.add(_filled_frame(self._av, (flat,), self.width, self.height, "bgr0"))
        else:
            raise ValueError(f"{self.path.name}: no BGR path for {self.codec.pix_fmt}")

    def _check(self, shape: tuple[int, ...]) -> None:
        if tuple(shape[:2]) != (self.height, self.width):
            raise ValueError(
                f"{self.path.name}: frame {tuple(shape[:2])} is not {self.height}x{self.width}"
            )

    def close(self) -> int:
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        return self.count


def _write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION]):
        raise OSError(f"cannot write {path}")


def _write_jpeg(path: Path, image: np.ndarray, quality: int, sampling: str) -> None:
    import cv2

    factor = {
        "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
        "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    }[sampling]
    params = [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor]
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, params):
        raise OSError(f"cannot write {path}")


def _read_image(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read {path}")
    return np.ascontiguousarray(image)


# --------------------------------------------------------------------------- geometry


def _odd(value: float) -> int:
    number = max(1, round(value))
    return number if number % 2 else number + 1


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the 10% crop: 5% off each side, at odd offsets."""
    x, y = _odd(0.05 * width), _odd(0.05 * height)
    return x, y, width - 2 * x, height - 2 * y


def _scaled(width: int, height: int, factor: float, even: bool) -> tuple[int, int]:
    if even:
        return _even(width * factor), _even(height * factor)
    return max(1, round(width * factor)), max(1, round(height * factor))


def fit_cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale ``image`` to cover ``size`` = (width, height) (Lanczos, aspect kept), then crop
    the centre: how a camera frame becomes a generator-sized picture."""
    import cv2

    height, width = image.shape[:2]
    target_w, target_h = size
    factor = max(target_w / width, target_h / height)
    scaled_w = max(target_w, round(width * factor))
    scaled_h = max(target_h, round(height * factor))
    if (scaled_w, scaled_h) != (width, height):
        image = cv2.resize(image, (scaled_w, scaled_h), interpolation=cv2.INTER_LANCZOS4)
    x, y = (scaled_w - target_w) // 2, (scaled_h - target_h) // 2
    return np.ascontiguousarray(image[y : y + target_h, x : x + target_w])
