"""Marking files with the keyed mark: clips (every frame) and still images (JPEG, PNG, WebP).

An image's luma is marked by adding the same change to its three colour channels: luma
moves by exactly that change and the colour (Cb, Cr) stays as it was, so marking costs no
colour conversion round trip.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from provenance.errors import ArgumentError, MediaError
from provenance.media.declared import IMAGE_HEADER_BYTES, declared_size, refuse_oversized
from provenance.media.sniff import sniff_path
from provenance.watermark import keyed

__all__ = ["IMAGE_SUFFIXES", "MarkedFile", "mark_image", "mark_media"]

#: Image formats written, by suffix, with OpenCV's encoder parameters.
IMAGE_SUFFIXES: dict[str, tuple[int, ...]] = {
    ".jpg": (1, 95),  # cv2.IMWRITE_JPEG_QUALITY
    ".jpeg": (1, 95),
    ".png": (16, 6),  # cv2.IMWRITE_PNG_COMPRESSION
    ".webp": (64, 95),  # cv2.IMWRITE_WEBP_QUALITY
}


_STILL_FAMILIES = frozenset({"jpeg", "png", "webp", "tiff", "bmp", "jxl"})


class MarkedFile:
    """What marking wrote: the frames marked and the luma PSNR of the first against its source."""

    def __init__(self, path: Path, frames: int, psnr: float | None) -> None:
        self.path = path
        self.frames = frames
        self.psnr = psnr


def _luma(bgr: np.ndarray) -> np.ndarray:
    b, g, r = (bgr[..., i].astype(np.float32) for i in range(3))
    result: np.ndarray = np.clip(np.rint(0.114 * b + 0.587 * g + 0.299 * r), 0, 255)
    return result.astype(np.uint8)


def mark_image(
    source: Path,
    destination: Path,
    key: str | bytes,
    *,
    identifier: int | None = None,
    psnr: float = keyed.DEFAULT_PSNR,
) -> MarkedFile:
    """Mark a still image and write it in the format its destination suffix names (JPEG and
    WebP at quality 95, PNG lossless). EXIF orientation is applied to the pixels."""
    import cv2

    suffix = destination.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ArgumentError(
            f"cannot write {destination.name}: marked images are written as "
            f"{', '.join(sorted(IMAGE_SUFFIXES))}"
        )
    keyed.marking_tile(key, identifier)  # validate before reading anything
    with open(source, "rb") as stream:
        declared = declared_size(stream.read(IMAGE_HEADER_BYTES))
    if declared is not None:  # before OpenCV allocates what the header claims
        refuse_oversized(source.name, *declared)
    image = cv2.imread(str(source), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError(f"{source.name}: not an image OpenCV can read (JPEG, PNG, WebP, ...)")
    luma = _luma(image)
    marked = keyed.embed_luma(luma, key, psnr=psnr, identifier=identifier)
    change = marked.astype(np.int16) - luma.astype(np.int16)
    result = np.clip(image.astype(np.int16) + change[..., None], 0, 255).astype(np.uint8)
    if not cv2.imwrite(str(destination), result, list(IMAGE_SUFFIXES[suffix])):
        raise MediaError(f"could not write {destination}")
    error = float(np.mean((_luma(result).astype(np.float64) - luma) ** 2))
    return MarkedFile(destination, 1, 10 * math.log10(255.0**2 / error) if error > 0 else None)


def mark_media(
    source: Path,
    destination: Path,
    key: str | bytes,
    *,
    identifier: int | None = None,
    psnr: float = keyed.DEFAULT_PSNR,
    crf: int = 18,
) -> MarkedFile:
    """Mark a clip (H.264 out, see :func:`~provenance.watermark.keyed.mark_file`) or, when the
    destination is an image suffix, a still image."""
    if destination.suffix.lower() in IMAGE_SUFFIXES:
        return mark_image(source, destination, key, identifier=identifier, psnr=psnr)
    try:
        family = sniff_path(source).family
    except OSError as exc:
        raise MediaError(f"cannot read {source}: {exc.strerror or exc}") from None
    if family in _STILL_FAMILIES:
        raise ArgumentError(
            f"{source.name} is an image: write the marked copy as "
            f"{', '.join(sorted(IMAGE_SUFFIXES))}, not {destination.suffix or 'no suffix'}"
        )
    frames = keyed.mark_file(source, destination, key, psnr=psnr, crf=crf, identifier=identifier)
    return MarkedFile(destination, frames, None)
