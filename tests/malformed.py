"""A corpus of malformed media files, generated at test time (for the batch-scan tests).

Every kind of damage a shared drive holds: files truncated at many offsets, random bytes under
media names, corrupted headers and boxes, empty files, absurd declared dimensions, deeply
nested boxes and non-media under media suffixes. Built from good files the tests write
themselves (PyAV clips, OpenCV images), so nothing is downloaded.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np

from provenance.testing.synth import write_clip


def good_files(folder: Path) -> list[Path]:
    """A few valid files: clips in three containers and two images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    files = [
        write_clip(folder / "good_clip.mp4", seconds=1.0, seed=1),
        write_clip(folder / "good_clip.webm", seconds=1.0, seed=2),
        write_clip(folder / "good_clip.mkv", seconds=1.0, seed=3),
    ]
    picture = cv2.resize(
        rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), (640, 480), interpolation=cv2.INTER_CUBIC
    )
    cv2.imwrite(str(folder / "good_image.jpg"), picture)
    cv2.imwrite(str(folder / "good_image.png"), picture)
    return [*files, folder / "good_image.jpg", folder / "good_image.png"]


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def malformed_files(folder: Path, sources: list[Path]) -> list[Path]:
    """At least 50 damaged files derived from ``sources`` (the good files) and from scratch."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    made: list[Path] = []

    def write(name: str, data: bytes) -> None:
        path = folder / name
        path.write_bytes(data)
        made.append(path)

    for source in sources:
        data = source.read_bytes()
        stem, suffix = source.stem, source.suffix
        for fraction in (0.0005, 0.01, 0.1, 0.3, 0.5, 0.8, 0.99):  # truncated at many offsets
            write(
                f"{stem}_cut{int(fraction * 10000):04d}{suffix}",
                data[: max(1, int(len(data) * fraction))],
            )
        corrupted = bytearray(data)  # random bytes over the header
        corrupted[4:64] = rng.integers(0, 256, 60, dtype=np.uint8).tobytes()
        write(f"{stem}_header{suffix}", bytes(corrupted))
        middle = bytearray(data)  # a burst of noise in the middle (boxes, slices)
        start = len(middle) // 2
        middle[start : start + 512] = rng.integers(0, 256, 512, dtype=np.uint8).tobytes()
        write(f"{stem}_noise{suffix}", bytes(middle))
    for suffix in (".mp4", ".mov", ".jpg", ".png", ".webm"):
        write(f"random{suffix}", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
        write(f"empty{suffix}", b"")
    write("text.mp4", b"This is a shopping list, not a video.\n" * 20)
    write("script.jpg", b"#!/bin/sh\necho not an image\n")
    # absurd declared dimensions
    ihdr = struct.pack(">IIBBBBB", 1_000_000, 1_000_000, 8, 2, 0, 0, 0)
    write(
        "huge_dimensions.png",
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + _png_chunk(b"IEND", b""),
    )
    sof = (
        b"\xff\xc0"
        + struct.pack(">HBHHB", 17, 8, 65000, 65000, 3)
        + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    write("huge_dimensions.jpg", b"\xff\xd8" + sof + b"\xff\xd9")
    # an MP4 whose size field lies, and one of boxes nested thousands deep
    ftyp = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
    write("lying_box.mp4", ftyp + struct.pack(">I", 0x7FFFFFF0) + b"moov" + b"\0" * 64)
    nested = b"\0" * 8
    for _ in range(3000):
        nested = _box(b"moov" if len(nested) % 2 else b"trak", nested)
    write("nested_boxes.mp4", ftyp + nested)
    write("zero_size_box.mp4", ftyp + struct.pack(">I", 0) + b"mdat" + b"\x01" * 100)
    return made
