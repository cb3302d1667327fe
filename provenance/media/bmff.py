"""Minimal ISO-BMFF (MP4/MOV) box walking: just enough to recognise fMP4 init segments."""

from __future__ import annotations

from pathlib import Path

__all__ = ["BOX_SCAN_LIMIT", "is_fragmented_init", "top_level_boxes"]

#: How many top-level boxes :func:`top_level_boxes` reads at most.
BOX_SCAN_LIMIT = 64


def top_level_boxes(path: Path, limit: int = BOX_SCAN_LIMIT) -> list[tuple[str, int, int]]:
    """Return ``(type, offset, size)`` of the first top-level boxes; stops at a broken header."""
    boxes: list[tuple[str, int, int]] = []
    total = path.stat().st_size
    with path.open("rb") as handle:
        offset = 0
        while offset + 8 <= total and len(boxes) < limit:
            handle.seek(offset)
            header = handle.read(16)
            size = int.from_bytes(header[:4], "big")
            kind = header[4:8].decode("latin-1")
            if size == 1 and len(header) >= 16:
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                size = total - offset
            if size < 8:
                break
            boxes.append((kind, offset, size))
            offset += size
    return boxes


def is_fragmented_init(path: Path) -> bool:
    """True for an fMP4 init segment: a ``moov`` holding ``mvex`` and no ``mdat`` of its own."""
    boxes = top_level_boxes(path)
    kinds = {kind for kind, _, _ in boxes}
    if "moov" not in kinds or "mdat" in kinds:
        return False
    _, offset, size = next(box for box in boxes if box[0] == "moov")
    with path.open("rb") as handle:
        handle.seek(offset)
        return b"mvex" in handle.read(min(size, 4 << 20))
