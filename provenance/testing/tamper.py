"""Ways to damage a signed file that a C2PA verifier must catch. Test and demo helpers only.

Each function reads ``source``, writes a damaged copy to ``destination`` and returns
``destination``; the input is never modified. They exist so that tests and the demo corpus can
produce "credentials present but tampered" files on demand. They are not a security tool.

The results quoted in the docstrings were measured with c2pa-python 0.38.1 (c2pa-rs 0.91.3) on
files signed by :func:`provenance.testing.signing.sign_file`, read with
``remote_manifest_fetch`` and ``ocsp_fetch`` off. "Failure codes" are the ``code`` fields of
``Reader.get_validation_results()["activeManifest"]["failure"]``;
``signingCredential.untrusted`` also appears there whenever the signer is not anchored, and is
left out below.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Literal

from provenance.errors import ArgumentError
from provenance.media.bmff import BoxHeader, iter_boxes

__all__ = [
    "C2PA_UUID",
    "ManifestTarget",
    "damage_manifest",
    "flip_jpeg_scan_byte",
    "flip_mdat_byte",
    "flip_moov_byte",
    "truncate",
]

#: The ISO BMFF ``uuid`` box extended type that carries a C2PA manifest store.
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: What :func:`damage_manifest` changes inside the manifest store.
ManifestTarget = Literal["claim", "signature", "assertion", "middle"]
_MANIFEST_TARGETS: tuple[str, ...] = ("claim", "signature", "assertion", "middle")


def flip_mdat_byte(source: Path, destination: Path, *, offset_fraction: float = 0.5) -> Path:
    """Invert one byte of the media data (``mdat`` payload) of an MP4/MOV/M4V file.

    The byte at ``offset_fraction`` of the way through the first top-level ``mdat`` payload is
    XOR-ed with 0xFF. The file still parses and plays (one video frame is damaged).

    c2pa-python 0.38.1 reports: state ``Invalid``, failure ``assertion.bmffHash.mismatch``.
    """
    if not 0.0 <= offset_fraction < 1.0:
        raise ArgumentError(
            f"flip_mdat_byte: offset_fraction must be in [0, 1), got {offset_fraction}"
        )
    data = bytearray(Path(source).read_bytes())
    mdat = _find_box(data, "mdat", source)
    payload = mdat.end - mdat.payload_offset
    if payload <= 0:
        raise ArgumentError(f"flip_mdat_byte: the mdat box of {source} is empty")
    data[mdat.payload_offset + int(payload * offset_fraction)] ^= 0xFF
    return _write(destination, data)


def flip_moov_byte(source: Path, destination: Path) -> Path:
    """Change one byte of the movie header (``moov``/``mvhd``) of an MP4/MOV/M4V file.

    The byte changed is the last of the ten reserved bytes after the ``volume`` field of
    ``mvhd``: players ignore it, so the file stays parseable and playable, yet the C2PA BMFF
    hash covers every byte of ``moov`` and must notice.

    c2pa-python 0.38.1 reports: state ``Invalid``, failure ``assertion.bmffHash.mismatch``.
    """
    data = bytearray(Path(source).read_bytes())
    moov = _find_box(data, "moov", source)
    mvhd = next(
        (box for box in iter_boxes(data, moov.payload_offset, moov.end) if box.box_type == "mvhd"),
        None,
    )
    if mvhd is None:
        raise ArgumentError(f"flip_moov_byte: {source} has no mvhd box inside moov")
    version = data[mvhd.payload_offset]
    # version/flags, then times + timescale + duration (16 or 28 bytes), rate (4), volume (2)
    times = 28 if version == 1 else 16
    reserved_end = mvhd.payload_offset + 4 + times + 4 + 2 + 10
    if reserved_end > mvhd.end:
        raise ArgumentError(f"flip_moov_byte: the mvhd box of {source} is too short")
    data[reserved_end - 1] ^= 0x01
    return _write(destination, data)


def truncate(source: Path, destination: Path, *, keep_fraction: float) -> Path:
    """Copy only the first ``keep_fraction`` of the bytes (as an interrupted download would).

    c2pa-python 0.38.1 reports, for files signed by ``sign_file``:

    * MP4/MOV/M4V (manifest box before ``mdat``, ``moov`` at the end), cut anywhere after the
      manifest (e.g. ``keep_fraction=0.5``): state ``Invalid``, failure
      ``assertion.bmffHash.mismatch``. Cut inside the manifest box: ``Reader`` raises
      ``C2paError.Other`` ("asset could not be parsed: Box size extends beyond asset bounds").
    * JPEG cut to half: ``Reader`` raises ``C2paError.Other`` ("asset could not be parsed:
      Could not parse input JPEG"); cut just before the end (``keep_fraction=0.999``: the
      last scan bytes and the end-of-image marker missing): state ``Invalid``, failure
      ``assertion.dataHash.mismatch``.
    """
    if not 0.0 < keep_fraction < 1.0:
        raise ArgumentError(f"truncate: keep_fraction must be in (0, 1), got {keep_fraction}")
    data = Path(source).read_bytes()
    return _write(destination, data[: int(len(data) * keep_fraction)])


def damage_manifest(source: Path, destination: Path, *, target: ManifestTarget = "claim") -> Path:
    """Damage the embedded C2PA manifest store (JUMBF) of a signed file.

    Supported carriers: ISO BMFF (MP4/MOV/M4V/HEIC...: the top-level ``uuid`` box with
    :data:`C2PA_UUID`), JPEG (APP11 ``JP`` segments, reassembled when the store spans several)
    and PNG (the ``caBX`` chunk; its CRC is left stale, and c2pa does not check it). The box
    structure is left intact so that the store is still found; what changes depends on
    ``target`` (always inside the active manifest, the last one in the store):

    ``"claim"`` (default)
        One character of the claim's ``instanceID`` text (the CBOR stays well formed): the claim
        no longer matches its signature.
    ``"signature"``
        The last byte of the COSE_Sign1 structure, i.e. of the signature value itself.
    ``"assertion"``
        The case of one letter of the first action name (``c2pa.created`` -> ``c2pa.Created``)
        in the actions assertion: an edited assertion whose hash no longer matches the claim.
    ``"middle"``
        Sixteen bytes at the middle of the whole JUMBF payload are inverted, wherever they
        fall. What breaks depends on the store's layout, so the outcome varies.

    c2pa-python 0.38.1 reports (MP4, MOV, M4V, JPEG and PNG signed by ``sign_file``, ES256 and
    PS256, with or without a parent ingredient):

    * ``"claim"``: state ``Invalid``, failure ``claimSignature.mismatch``;
    * ``"signature"``: state ``Invalid``, failure ``claimSignature.mismatch``;
    * ``"assertion"``: state ``Invalid``, failures ``assertion.hashedURI.mismatch`` and
      ``assertion.action.malformed``;
    * ``"middle"``: JPEG/PNG: ``Invalid`` with ``assertion.hashedURI.mismatch`` (the middle is
      the thumbnail). MP4/MOV: ``Reader`` raises ``C2paError.Signature`` ("COSE error parsing
      certificate") for ES256 or returns ``Invalid`` with ``claimSignature.mismatch`` for
      PS256 (the middle is the certificate chain); with a parent ingredient it raises
      ``C2paError.Decoding`` ("could not decode assertion c2pa.ingredient.v3").
    """
    if target not in _MANIFEST_TARGETS:
        raise ArgumentError(
            f"damage_manifest: target must be one of {list(_MANIFEST_TARGETS)}, got {target!r}"
        )
    data = bytearray(Path(source).read_bytes())
    positions = _jumbf_positions(data, source)
    jumbf = bytes(data[index] for index in positions)
    if target == "middle":
        middle = len(jumbf) // 2
        for logical in range(middle, min(middle + 16, len(jumbf))):
            data[positions[logical]] ^= 0xFF
        return _write(destination, data)
    boxes = _jumbf_content_boxes(jumbf)
    if target == "signature":
        start, end = _last_content(boxes, ("c2pa.signature",), source)
        logical = end - 1
    elif target == "claim":
        start, end = _last_content(boxes, ("c2pa.claim.v2", "c2pa.claim"), source)
        # The value is "xmp:iid:<uuid>" (claim v1) or "xmp.iid:<uuid>" (claim v2).
        found = jumbf.find(b"iid:", start, end)
        if found < 0:
            raise ArgumentError(f"damage_manifest: no instanceID in the claim of {source}")
        logical = found + len(b"iid:")
    else:
        start, end = _last_content(boxes, ("c2pa.actions.v2", "c2pa.actions"), source)
        found = jumbf.find(b"c2pa.", start, end)
        if found < 0:
            raise ArgumentError(f"damage_manifest: no action name in the actions of {source}")
        logical = found + len(b"c2pa.")
    # XOR 0x01 on the signature byte; for text (claim, assertion) keep it ASCII: flip bit 0 or
    # the letter case, so the CBOR stays well formed and only the content changes.
    mask = 0x20 if target == "assertion" else 0x01
    data[positions[logical]] ^= mask
    return _write(destination, data)


def flip_jpeg_scan_byte(source: Path, destination: Path) -> Path:
    """Change one byte of the entropy-coded image data of a JPEG (after the first SOS marker).

    The byte is taken near the middle of the scan data and chosen so that no marker
    (``0xFF`` followed by a non-zero byte) is created or destroyed: the file still decodes,
    with a small visible glitch.

    c2pa-python 0.38.1 reports: state ``Invalid``, failure ``assertion.dataHash.mismatch``.
    """
    data = bytearray(Path(source).read_bytes())
    scan_start = _jpeg_scan_start(data, source)
    scan_end = data.find(b"\xff\xd9", scan_start)
    if scan_end < 0:
        scan_end = len(data)
    middle = scan_start + (scan_end - scan_start) // 2
    for index in range(middle, scan_end):
        value = data[index]
        if value == 0xFF or data[index - 1] == 0xFF:
            continue
        replacement = value ^ 0x10
        if replacement == 0xFF:
            continue
        data[index] = replacement
        return _write(destination, data)
    raise ArgumentError(f"flip_jpeg_scan_byte: no suitable scan byte found in {source}")


def _find_box(data: bytes | bytearray, box_type: str, source: Path) -> BoxHeader:
    for box in iter_boxes(data):
        if box.box_type == box_type:
            return box
    raise ArgumentError(f"{source} has no top-level {box_type!r} box (is it an MP4/MOV file?)")


def _jumbf_positions(data: bytearray, source: Path) -> list[int]:
    """File offsets of the bytes of the first embedded JUMBF manifest store, in logical order."""
    if data[:2] == b"\xff\xd8":
        return _jpeg_jumbf_positions(data, source)
    if data[:8] == _PNG_SIGNATURE:
        return _png_jumbf_positions(data, source)
    for box in iter_boxes(data):
        if box.box_type == "uuid" and box.user_type == C2PA_UUID:
            # payload: version/flags (4), purpose string (NUL-terminated), [merkle offset (8)],
            # then the JUMBF superbox, which starts 4 bytes (its LBox) before its "jumb" type.
            marker = data.find(b"jumb", box.payload_offset, box.end)
            if marker < box.payload_offset + 4:
                break
            return list(range(marker - 4, box.end))
    raise ArgumentError(f"damage_manifest: no embedded C2PA manifest store found in {source}")


def _jpeg_jumbf_positions(data: bytearray, source: Path) -> list[int]:
    """Reassemble the APP11 JUMBF segments of the first box instance (ISO 19566-5 / C2PA)."""
    positions: list[int] = []
    instance: bytes | None = None
    offset = 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker == 0xDA:  # start of scan: no more header segments
            break
        (length,) = struct.unpack_from(">H", data, offset + 2)
        payload = offset + 4
        segment_end = offset + 2 + length
        # "JP" (2), box instance En (2), sequence number Z (4), then the JUMBF bytes. Segments
        # after the first repeat the superbox LBox/TBox (8 bytes, 16 with XLBox): skip them.
        if marker == 0xEB and data[payload : payload + 2] == b"JP":
            en = bytes(data[payload + 2 : payload + 4])
            if instance is None or en == instance:
                body = payload + 8
                if instance is not None:
                    (lbox,) = struct.unpack_from(">I", data, body)
                    body += 16 if lbox == 1 else 8
                instance = en
                positions.extend(range(body, segment_end))
        offset = segment_end
    if not positions:
        raise ArgumentError(f"damage_manifest: no APP11 JUMBF segment found in {source}")
    return positions


def _png_jumbf_positions(data: bytearray, source: Path) -> list[int]:
    """The data of the ``caBX`` chunk, where C2PA puts its JUMBF in PNG files."""
    offset = len(_PNG_SIGNATURE)
    while offset + 12 <= len(data):
        length, chunk_type = struct.unpack_from(">I4s", data, offset)
        if chunk_type == b"caBX":
            return list(range(offset + 8, offset + 8 + length))
        offset += 12 + length
    raise ArgumentError(f"damage_manifest: no caBX chunk (C2PA manifest store) found in {source}")


def _jumbf_content_boxes(jumbf: bytes) -> list[tuple[str, int, int]]:
    """(label, payload start, payload end) of every content box, depth first, in file order.

    A JUMBF superbox (``jumb``) holds a description box (``jumd``: 16-byte type UUID, toggles,
    NUL-terminated label, ...) followed by content boxes or nested superboxes. A superbox whose
    children are content boxes reports its own label for them.
    """
    found: list[tuple[str, int, int]] = []

    def walk(start: int, end: int, label: str) -> None:
        offset = start
        while offset + 8 <= end:
            size, raw_type = struct.unpack_from(">I4s", jumbf, offset)
            header = 8
            if size == 1:
                (size,) = struct.unpack_from(">Q", jumbf, offset + 8)
                header = 16
            elif size == 0:
                size = end - offset
            if size < header or offset + size > end:
                return
            box_type = raw_type.decode("latin-1")
            if box_type == "jumb":
                walk(offset + header, offset + size, label)
            elif box_type == "jumd":
                label_start = offset + header + 17
                label_end = jumbf.find(b"\0", label_start, offset + size)
                if label_end > label_start:
                    label = jumbf[label_start:label_end].decode("utf-8", "replace")
            else:
                found.append((label, offset + header, offset + size))
            offset += size

    walk(0, len(jumbf), "")
    return found


def _last_content(
    boxes: list[tuple[str, int, int]], labels: tuple[str, ...], source: Path
) -> tuple[int, int]:
    for label, start, end in reversed(boxes):
        if label in labels and end > start:
            return start, end
    raise ArgumentError(f"damage_manifest: no {labels[0]!r} box in the manifest store of {source}")


def _jpeg_scan_start(data: bytearray, source: Path) -> int:
    if data[:2] != b"\xff\xd8":
        raise ArgumentError(f"flip_jpeg_scan_byte: {source} is not a JPEG file")
    offset = 2
    while offset + 4 <= len(data):
        if data[offset] != 0xFF:
            break
        marker = data[offset + 1]
        length: int = struct.unpack_from(">H", data, offset + 2)[0]
        if marker == 0xDA:
            return offset + 2 + length
        offset += 2 + length
    raise ArgumentError(f"flip_jpeg_scan_byte: no start-of-scan marker found in {source}")


def _write(destination: Path, data: bytes | bytearray) -> Path:
    destination = Path(destination)
    destination.write_bytes(bytes(data))
    return destination
