"""The pixel size a picture declares in its header, read before anything decodes it.

A few hundred bytes of JPEG, PNG or WebP can declare 30,000 x 30,000 pixels; a decoder then
allocates gigabytes for it (a decompression bomb: a 631-byte JPEG cost a check 5.3 GB and 19 s).
:func:`refuse_oversized` stops such a file with a clear error before any decoder runs; every
place that decodes a still picture (the probe, the watermark frames, the credentials'
thumbnail) asks it first. Video frames are held to the same budget by the probe.
"""

from __future__ import annotations

from provenance.errors import OversizedMediaError

__all__ = [
    "IMAGE_HEADER_BYTES",
    "MAX_PIXELS",
    "declared_size",
    "jpeg_frame_header",
    "refuse_oversized",
]

#: How much of an image file is read for its header (JPEG's frame header follows the EXIF,
#: XMP and ICC segments, which can be large).
IMAGE_HEADER_BYTES = 1 << 20

#: The most pixels a picture or video frame may have (120 megapixels: a 100-megapixel
#: medium-format photograph, or 8K video, fit; decoding one costs a few hundred MB).
MAX_PIXELS = 120_000_000

# JPEG start-of-frame markers: C0-CF less DHT (C4), JPG (C8) and DAC (CC)
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_frame_header(data: bytes) -> bytes | None:
    """The payload of a JPEG's first frame header (SOF: precision, height, width, the
    components and their sampling factors), found by walking the segments before the scan;
    None when ``data`` is not a JPEG or ends first."""
    if data[:2] != b"\xff\xd8":
        return None
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in _SOF:
            header = data[position + 4 : position + 2 + length]
            return header if len(header) >= 6 else None
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header before
            return None
        position += 2 + length
    return None


def _jpeg(data: bytes) -> tuple[int, int] | None:
    header = jpeg_frame_header(data)
    if header is None:
        return None
    return int.from_bytes(header[3:5], "big"), int.from_bytes(header[1:3], "big")


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30:
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        height = int.from_bytes(data[28:30], "little") & 0x3FFF
        return width, height
    return None


def declared_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG, PNG, WebP, GIF or BMP header (the first 64 KB are
    plenty: JPEG's frame header follows its metadata segments); None for other formats or a
    header too damaged to say."""
    if data[:3] == b"\xff\xd8\xff":
        return _jpeg(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"BM" and len(data) >= 26:
        width = int.from_bytes(data[18:22], "little", signed=True)
        height = int.from_bytes(data[22:26], "little", signed=True)
        return abs(width), abs(height)
    return None


def refuse_oversized(name: str, width: int, height: int, what: str = "picture") -> None:
    """Raise :class:`~provenance.errors.OversizedMediaError` when ``width`` x ``height`` is over :data:`MAX_PIXELS`."""
    if width * height > MAX_PIXELS:
        raise OversizedMediaError(
            f"{name}: the {what} declares {width} x {height} pixels "
            f"({width * height / 1e6:,.0f} megapixels), over the {MAX_PIXELS / 1e6:.0f}-"
            "megapixel budget, so it was not decoded (a header claiming that much is how a "
            "decompression bomb exhausts memory). If it is a genuine picture, check a "
            "downscaled copy."
        )
