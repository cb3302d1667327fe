"""Minimal ISO-BMFF (MP4/MOV) box walking, shared by the probe, the credentials reader and the
tamper helpers: over bytes in memory (:func:`iter_boxes`) or over a file's top level by reading
box headers only (:func:`scan_file`)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BOX_SCAN_LIMIT",
    "BoxHeader",
    "FileScan",
    "is_fragmented_init",
    "iter_boxes",
    "scan_file",
]

#: How many top-level boxes :func:`scan_file` reads at most.
BOX_SCAN_LIMIT = 64


@dataclass(frozen=True)
class BoxHeader:
    """One ISO BMFF box: where it starts, its total size, header size, type and extended type."""

    offset: int
    size: int
    header_size: int
    box_type: str
    user_type: bytes | None = None

    @property
    def payload_offset(self) -> int:
        """Offset of the first byte after the header (and after the 16-byte uuid, if any)."""
        return self.offset + self.header_size

    @property
    def end(self) -> int:
        """Offset one past the last byte of the box."""
        return self.offset + self.size


def _parse_header(header: bytes, offset: int, limit: int) -> BoxHeader | None:
    """Parse a box header read at ``offset``; sizes are not checked against ``limit`` here."""
    if len(header) < 8:
        return None
    size, raw_type = struct.unpack_from(">I4s", header, 0)
    length = 8
    if size == 1:
        if len(header) < 16:
            return None
        (size,) = struct.unpack_from(">Q", header, 8)
        length = 16
    elif size == 0:
        size = limit - offset
    box_type = raw_type.decode("latin-1")
    user_type = None
    if box_type == "uuid":
        if len(header) < length + 16:
            return None
        user_type = bytes(header[length : length + 16])
        length += 16
    return BoxHeader(offset, size, length, box_type, user_type)


def iter_boxes(
    data: bytes | bytearray, start: int = 0, end: int | None = None
) -> Iterator[BoxHeader]:
    """Yield the ISO BMFF boxes found between ``start`` and ``end`` (one level, no recursion).

    Handles 64-bit ``largesize`` boxes (size field 1), boxes that run to the end (size field 0)
    and ``uuid`` boxes (their 16-byte extended type counts as header). Stops at the first box
    whose header does not fit or whose size is impossible.
    """
    limit = len(data) if end is None else end
    offset = start
    while offset + 8 <= limit:
        box = _parse_header(bytes(data[offset : min(offset + 32, limit)]), offset, limit)
        if box is None or box.size < box.header_size or box.end > limit:
            return
        yield box
        offset = box.end


@dataclass(frozen=True)
class FileScan:
    """The top-level boxes of a file, and where the structure breaks, if it does."""

    boxes: tuple[BoxHeader, ...]
    file_size: int
    overrun: BoxHeader | None = None
    """A box whose declared size runs past the end of the file (the file was cut short)."""
    invalid_at: int | None = None
    """Offset of a box header with an impossible size."""

    def has(self, box_type: str) -> bool:
        """True when a top-level box of this type was read."""
        return any(box.box_type == box_type for box in self.boxes)


def scan_file(path: Path, *, limit: int = BOX_SCAN_LIMIT) -> FileScan:
    """Read the top-level box headers of a file (never its payloads).

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    total = path.stat().st_size
    boxes: list[BoxHeader] = []
    with path.open("rb") as handle:
        offset = 0
        while offset + 8 <= total and len(boxes) < limit:
            handle.seek(offset)
            box = _parse_header(handle.read(32), offset, total)
            if box is None or box.size < box.header_size:
                return FileScan(tuple(boxes), total, invalid_at=offset)
            if box.end > total:
                return FileScan(tuple(boxes), total, overrun=box)
            boxes.append(box)
            offset = box.end
    return FileScan(tuple(boxes), total)


def is_fragmented_init(path: Path) -> bool:
    """True for an fMP4 init segment: a ``moov`` holding ``mvex`` and no ``mdat`` of its own."""
    scan = scan_file(path)
    moov = next((box for box in scan.boxes if box.box_type == "moov"), None)
    if moov is None or scan.has("mdat"):
        return False
    with path.open("rb") as handle:
        handle.seek(moov.payload_offset)
        payload = handle.read(min(moov.size, 4 << 20))
    return any(box.box_type == "mvex" for box in iter_boxes(payload))
