"""The C2PA manifest stores a JPEG carries, found in its APP11 segments before the image data.

A store is JUMBF split over APP11 segments: each begins ``JP``, a box instance number and a
packet sequence number. The C2PA library validates the first store it finds; a copy of the
store (or of one of its segments) after it is neither hashed nor reported, so a file whose
bytes changed there can read intact. This module finds such extra copies, to report the file
as altered (defence in depth), and gives the fuzzer the byte ranges of the stores.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

__all__ = ["JpegStores", "jpeg_app11_ranges", "jpeg_stores"]

_APP11 = 0xEB
_SOS = 0xDA


def jpeg_app11_ranges(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges (marker included) of the APP11 segments before the image data."""
    return [(start, end) for start, end, _payload in _app11_segments(data)]


def _app11_segments(data: bytes) -> list[tuple[int, int, bytes]]:
    found: list[tuple[int, int, bytes]] = []
    if data[:2] != b"\xff\xd8":
        return found
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == _SOS:
            break
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if length < 2:
            break
        end = position + 2 + length
        if marker == _APP11:
            found.append((position, end, data[position + 4 : end]))
        position = end
    return found


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
    """Count the C2PA stores and repeated JUMBF packets of a JPEG file. Reads the segment
    headers only (a few dozen bytes of each APP11 segment), seeking past everything else."""
    stores = 0
    packets: Counter[bytes] = Counter()
    with open(path, "rb") as stream:
        if stream.read(2) != b"\xff\xd8":
            return JpegStores(0, 0)
        while True:
            header = stream.read(4)
            if len(header) < 4 or header[0] != 0xFF or header[1] == _SOS:
                break
            length = int.from_bytes(header[2:4], "big")
            if length < 2:
                break
            if header[1] != _APP11:
                stream.seek(length - 2, os.SEEK_CUR)
                continue
            head = stream.read(min(length - 2, 32))
            stream.seek(length - 2 - len(head), os.SEEK_CUR)
            if head[:2] != b"JP" or len(head) < 8:
                continue
            packets[head[2:8]] += 1  # box instance (2 bytes) and sequence number (4 bytes)
            box = head[8:]  # a store's first packet opens a 'jumb' box whose 'jumd' says c2pa
            if box[4:8] == b"jumb" and box[12:16] == b"jumd" and box[16:20] == b"c2pa":
                stores += 1
    return JpegStores(stores, sum(count - 1 for count in packets.values() if count > 1))
