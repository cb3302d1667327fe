"""The C2PA manifest stores a JPEG carries, found in its APP11 segments before the image data.

A store is JUMBF split over APP11 segments: each begins ``JP``, a box instance number and a
packet sequence number. The C2PA library validates the first store it finds; a copy of the
store (or of one of its segments) after it is neither hashed nor reported, so a file whose
bytes changed there can read intact. This module finds such extra copies, to report the file
as altered (defence in depth), and gives the fuzzer the byte ranges of the stores.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["JpegStores", "jpeg_app11_ranges", "jpeg_stores"]

_APP11 = 0xEB
_SOS = 0xDA
_HEAD_BYTES = 32  # "JP", instance, sequence, and the opening of a JUMBF box


def jpeg_app11_ranges(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges (marker included) of the APP11 segments before the image data."""
    return [(start, end) for start, end, _head in _app11_heads(io.BytesIO(data))]


def _app11_heads(stream: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """(start, end, first bytes of the payload) of each APP11 segment before the image data,
    reading segment headers only and seeking past the rest."""
    if stream.read(2) != b"\xff\xd8":
        return
    while True:
        start = stream.tell()
        header = stream.read(4)
        if len(header) < 4 or header[0] != 0xFF or header[1] == _SOS:
            return
        length = int.from_bytes(header[2:4], "big")
        if length < 2:
            return
        end = start + 2 + length
        head = stream.read(min(length - 2, _HEAD_BYTES)) if header[1] == _APP11 else b""
        stream.seek(end)
        if header[1] == _APP11:
            yield start, end, head


@dataclass(frozen=True)
class JpegStores:
    """What the APP11 segments of a JPEG hold."""

    stores: int
    """Manifest stores begun (packets that open a JUMBF box of the C2PA type)."""
    repeated_packets: int
    """JUMBF packets that appear more than once (same box instance and sequence number)."""

    @property
    def extra(self) -> bool:
        """More than one store, or a packet of one repeated: not what a signer writes."""
        return self.stores > 1 or self.repeated_packets > 0


def jpeg_stores(path: str | os.PathLike[str]) -> JpegStores:
    """Count the C2PA stores and repeated JUMBF packets of a JPEG file (segment headers only)."""
    stores = 0
    packets: Counter[bytes] = Counter()
    with open(path, "rb") as stream:
        for _start, _end, head in _app11_heads(stream):
            if head[:2] != b"JP" or len(head) < 8:
                continue
            packets[head[2:8]] += 1  # box instance (2 bytes) and sequence number (4 bytes)
            box = head[8:]  # a store's first packet opens a 'jumb' box whose 'jumd' says c2pa
            if box[4:8] == b"jumb" and box[12:16] == b"jumd" and box[16:20] == b"c2pa":
                stores += 1
    return JpegStores(stores, sum(count - 1 for count in packets.values() if count > 1))
