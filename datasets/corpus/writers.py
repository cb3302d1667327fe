"""The generators' own file writers, reproduced: how SVD (its 2023 and its later script), SDXL
and FLUX put their pictures on disk (:data:`WRITERS`, :func:`write`).

* ``svd_mp4v``: Stability-AI/generative-models ``scripts/sampling/simple_video_sample.py`` as
  released (commit 059d8e9, 2023-11-21): ``cv2.VideoWriter(path,
  cv2.VideoWriter_fourcc(*"MP4V"), fps_id + 1, (w, h))`` with ``fps_id`` = 6, i.e. 7 fps. This
  is OpenCV's real writer (FFmpeg backend): FFmpeg's ``mpeg4`` encoder (MPEG-4 Part 2) at
  OpenCV's defaults, a bit rate target of 2 x fps x width x height, ``qmin`` 3, an intra frame
  every 12 frames, no B-frames, one thread, BGR -> yuv420p by swscale (bicubic). ``"MP4V"`` is
  not an MP4 tag: OpenCV falls back to ``mp4v``, which is what is passed here (the files are
  byte-identical).
* ``svd_imageio_crf25``: the same script from commit b4b7b64 (2024-03-18) on:
  ``imageio.mimwrite(video_path, vid)`` without ``fps``, so imageio's FFMPEG writer defaults
  (fps 10, quality 5) reach imageio-ffmpeg's ``write_frames``: ``-pix_fmt rgb24 -r 10.00 -i -
  -vcodec libx264 -pix_fmt yuv420p -crf 25`` (quality 5 -> int(0.5 x 51)), no preset (x264's
  ``medium``), ``macro_block_size`` 16 (1024x576 needs no rescale). Reproduced with PyAV:
  libx264 CRF 25 preset medium, rgb24 -> yuv420p by swscale with the ffmpeg command line's
  default flags (bicubic). Two differences, neither in the settings: x264 runs single-threaded
  (the command line uses ``threads=auto``, whose frame threads change the bitstream a little),
  and the MP4 is muxed with ``fflags=+bitexact``.
* ``sdxl_png``: a PNG written by Pillow with its defaults, as generative-models'
  ``perform_save_locally`` (and a diffusers user's ``image.save("x.png")``) does.
* ``flux_jpeg95_444``: black-forest-labs/flux ``src/flux/util.py`` ``save_image``:
  ``img.save(fn, exif=exif_data, quality=95, subsampling=0)`` to ``img_{idx}.jpg`` (Pillow,
  JPEG quality 95, 4:4:4). The EXIF block (Software "AI generated;txt2img;flux", Make, Model,
  prompt) is left out: it does not touch the pixels, and on the unmarked counterparts it would
  be a false label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from .media_io import VideoOut, frame_planes, h264

#: SVD's 2023 writer rate: ``fps_id + 1`` with the script's default ``fps_id`` = 6.
SVD_MP4V_FPS = 7
#: imageio's FFMPEG writer default rate (SVD's later script passes no ``fps``).
IMAGEIO_FPS = 10
#: imageio-ffmpeg's default: ``quality`` 5 -> ``-crf int((1 - 5 / 10) * 51)``.
IMAGEIO_CRF = 25


@dataclass(frozen=True)
class Writer:
    """One generator's way of writing its output: what the stored file is, and how."""

    name: str
    kind: str  # video | image
    suffix: str
    codec: str  # as PyAV / FFmpeg names the stored stream
    encoder: str  # the FFmpeg encoder (the manifest's ``codec``, as for every other item)
    pix_fmt: str
    fps: int | None
    lossless: bool
    params: dict[str, Any] = field(default_factory=dict)


_SVD = "Stability-AI/generative-models scripts/sampling/simple_video_sample.py"

WRITERS: dict[str, Writer] = {
    writer.name: writer
    for writer in (
        Writer(
            "svd_mp4v",
            "video",
            ".mp4",
            "mpeg4",
            "mpeg4",
            "yuv420p",
            SVD_MP4V_FPS,
            False,
            {
                "writer": "cv2.VideoWriter (CAP_FFMPEG), OpenCV's default quality",
                "fourcc": "mp4v (SVD passes 'MP4V', which OpenCV replaces by 'mp4v')",
                "encoder": "mpeg4 (MPEG-4 Part 2, FFmpeg inside OpenCV)",
                "fps": SVD_MP4V_FPS,
                "gop_size": 12,
                "qmin": 3,
                "max_b_frames": 0,
                "threads": 1,
                "colour_conversion": "swscale bgr24 -> yuv420p, SWS_BICUBIC",
                "source": f"{_SVD} @059d8e9 (2023-11-21): cv2.VideoWriter(path, "
                "cv2.VideoWriter_fourcc(*'MP4V'), fps_id + 1, (w, h)), fps_id = 6",
            },
        ),
        Writer(
            "svd_imageio_crf25",
            "video",
            ".mp4",
            "h264",
            "libx264",
            "yuv420p",
            IMAGEIO_FPS,
            False,
            {
                "writer": "imageio.mimwrite defaults (imageio-ffmpeg), reproduced with PyAV",
                **h264(IMAGEIO_CRF).describe(),
                "fps": IMAGEIO_FPS,
                "macro_block_size": 16,
                "colour_conversion": "swscale rgb24 -> yuv420p, flags bicubic (ffmpeg CLI)",
                "differences": "x264 single-threaded (the ffmpeg CLI: threads=auto); MP4 "
                "muxed with fflags=+bitexact",
                "source": f"{_SVD} @b4b7b64 (2024-03-18) and later: "
                "imageio.mimwrite(video_path, vid), no fps: imageio FFMPEG writer fps=10, "
                "quality=5 -> -crf 25, libx264, yuv420p",
            },
        ),
        Writer(
            "sdxl_png",
            "image",
            ".png",
            "png",
            "png",
            "rgb24",
            None,
            True,
            {
                "writer": "PIL Image.save(path) (PNG, Pillow defaults)",
                "source": "Stability-AI/generative-models perform_save_locally; diffusers "
                "pipelines return PIL images, saved as PNG",
            },
        ),
        Writer(
            "flux_jpeg95_444",
            "image",
            ".jpg",
            "mjpeg",
            "mjpeg",
            "yuvj444p",
            None,
            False,
            {
                "writer": "PIL Image.save(path, quality=95, subsampling=0) (JPEG 4:4:4)",
                "exif": "left out (FLUX writes Software 'AI generated;txt2img;flux', Make, "
                "Model and the prompt)",
                "source": "black-forest-labs/flux src/flux/util.py save_image",
            },
        ),
    )
}


@dataclass(frozen=True)
class Written:
    """What the stored file holds, read back with PyAV."""

    codec: str
    pix_fmt: str
    width: int
    height: int
    frames: int


def write(writer: Writer, path: Path, frames: Sequence[np.ndarray]) -> Written:
    """Write BGR uint8 ``frames`` (one for an image writer) as ``writer`` does; returns what
    the file holds, checked against the writer's codec, size and frame count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    if writer.name == "svd_mp4v":
        _write_opencv_mp4v(path, frames, width, height)
    elif writer.name == "svd_imageio_crf25":
        _write_imageio(path, frames, width, height)
    elif writer.kind == "image":
        if len(frames) != 1:
            raise ValueError(f"{writer.name} writes one picture, got {len(frames)}")
        _write_pillow(writer, path, frames[0])
    else:
        raise ValueError(f"unknown writer {writer.name!r}")
    written = probe(path)
    expected = (writer.codec, writer.pix_fmt, width, height, len(frames))
    found = (written.codec, written.pix_fmt, written.width, written.height, written.frames)
    if found != expected:
        raise RuntimeError(f"{path.name}: {writer.name} wrote {found}, expected {expected}")
    return written


def _write_opencv_mp4v(path: Path, frames: Sequence[np.ndarray], width: int, height: int) -> None:
    import cv2

    fourcc = cv2.VideoWriter.fourcc(*"mp4v")
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, fourcc, SVD_MP4V_FPS, (width, height))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot open an MP4V writer for {path}")
    for frame in frames:
        writer.write(np.ascontiguousarray(frame))
    writer.release()


def _write_imageio(path: Path, frames: Sequence[np.ndarray], width: int, height: int) -> None:
    import av

    if width % 16 or height % 16:  # imageio would rescale to the macro block size: not modelled
        raise ValueError(f"{path.name}: {width}x{height} is not a multiple of 16")
    out = VideoOut(path, h264(IMAGEIO_CRF), width, height, Fraction(IMAGEIO_FPS))
    for frame in frames:
        rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:, :, ::-1]), format="rgb24")
        out.add_planes(
            frame_planes(rgb.reformat(format="yuv420p", interpolation="BICUBIC", threads=1))
        )
    out.close()


def _write_pillow(writer: Writer, path: Path, image: np.ndarray) -> None:
    from PIL import Image

    picture = Image.fromarray(np.ascontiguousarray(image[:, :, ::-1]))
    if writer.name == "flux_jpeg95_444":
        picture.save(path, quality=95, subsampling=0)
    else:
        picture.save(path)


def probe(path: Path) -> Written:
    """Codec, pixel format, size and frame count of ``path``'s video stream (PyAV)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        pix_fmt = context.format.name if context.format is not None else "?"
        frames = sum(1 for packet in container.demux(stream) if packet.size)
        return Written(context.name, pix_fmt, context.width, context.height, frames)


def opencv_bit_rate(fps: float, width: int, height: int) -> int:
    """The bit rate OpenCV's FFmpeg writer asks of ``mpeg4``: it adds half the base rate
    twice (``icv_configure_video_stream_FFMPEG`` and ``open``), about 2 x fps x w x h."""
    base = fps * width * height
    rounded = int(base + 0.5)
    return rounded + rounded // 2 + int(base / 2)
