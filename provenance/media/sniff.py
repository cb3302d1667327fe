"""Recognise a file's format from its first bytes (magic numbers), without decoding it.

:func:`sniff` answers two questions early and cheaply: what family of file this is, and whether
the C2PA SDK (c2pa-python 0.38.1) can read Content Credentials from it. It never raises: bytes
it does not recognise give the ``unknown`` family.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MEDIA_FAMILIES",
    "MEDIA_SUFFIXES",
    "NON_PICTURE_SUFFIXES",
    "SNIFF_BYTES",
    "FileType",
    "sniff",
    "sniff_path",
]

#: File suffixes a folder walk picks up (content is still sniffed; the suffix only selects).
MEDIA_SUFFIXES = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".avi",
        ".mkv",
        ".webm",
        ".ts",
        ".mts",
        ".m2ts",
        ".3gp",
        ".jpg",
        ".jpeg",
        ".png",
        ".webp",
        ".gif",
        ".tif",
        ".tiff",
        ".heic",
        ".heif",
        ".avif",
        ".jxl",
        ".bmp",
        ".dng",
        ".wav",
        ".mp3",
        ".m4a",
        ".flac",
        ".ogg",
        ".m4s",
        ".c2pa",
    }
)

#: Media suffixes that hold no picture: audio, fMP4 fragments and detached manifest stores.
NON_PICTURE_SUFFIXES = frozenset({".wav", ".mp3", ".m4a", ".flac", ".ogg", ".m4s", ".c2pa"})

#: Sniffed families that a folder walk counts as media to check when the suffix does not say
#: so (others: pdf, c2pa sidecars, fMP4 fragments, unknown).
MEDIA_FAMILIES = frozenset(
    {
        "bmff",
        "avi",
        "wav",
        "webp",
        "matroska",
        "mpegts",
        "jpeg",
        "png",
        "gif",
        "tiff",
        "bmp",
        "jxl",
        "mp3",
        "flac",
        "ogg",
    }
)

#: How many leading bytes :func:`sniff_path` reads; enough for five MPEG-TS packets.
SNIFF_BYTES = 1024

_TS_PACKET = 188
_M2TS_PACKET = 192


@dataclass(frozen=True)
class FileType:
    """What a file's leading bytes say it is."""

    family: str
    """Short format family: ``bmff``, ``fmp4_fragment``, ``avi``, ``wav``, ``webp``,
    ``matroska``, ``mpegts``, ``jpeg``, ``png``, ``gif``, ``tiff``, ``bmp``, ``jxl``, ``mp3``,
    ``flac``, ``pdf``, ``ogg``, ``c2pa`` or ``unknown``."""
    mime_type: str | None
    """The MIME type to hand to the C2PA SDK; ``None`` when unknown."""
    c2pa_embeddable: bool
    """True when c2pa-python 0.38.1 can read a manifest store embedded in this format."""
    description: str
    """A short human-readable name, e.g. ``ISO BMFF video (brand 'isom')``."""

    @property
    def frameless(self) -> str | None:
        """Why a file of this type has no frames to read, or None when it may have some."""
        if self.family in ("pdf", "c2pa"):
            return (
                f"is a {self.description}, not video or an image, so there are no frames to sample."
            )
        if self.family == "fmp4_fragment":
            return (
                f"is a {self.description}; it cannot be read on its own. Join it with its "
                "initialisation segment (the file with the 'moov' box)."
            )
        return None


_UNKNOWN = FileType("unknown", None, False, "unrecognised format")


def sniff(head: bytes) -> FileType:
    """Identify a file from its first bytes.

    Parameters
    ----------
    head
        The file's leading bytes. 64 bytes recognise most formats; MPEG-TS needs a few packets
        (pass :data:`SNIFF_BYTES`, 1024, to be safe). Longer input is fine.

    Returns
    -------
    FileType
        The family, MIME type and C2PA embeddability; ``family == "unknown"`` if unrecognised.
    """
    head = bytes(head[:SNIFF_BYTES])
    for recogniser in _RECOGNISERS:
        found = recogniser(head)
        if found is not None:
            return found
    return _UNKNOWN


def sniff_path(path: str | Path) -> FileType:
    """Identify a file on disk from its first :data:`SNIFF_BYTES` bytes.

    Raises
    ------
    OSError
        If the file cannot be opened or read.
    """
    with open(path, "rb") as stream:
        return sniff(stream.read(SNIFF_BYTES))


# --------------------------------------------------------------------------- recognisers


def _jumbf(head: bytes) -> FileType | None:
    if head[4:8] == b"jumb":
        return FileType("c2pa", "application/c2pa", True, "C2PA manifest store (JUMBF)")
    return None


def _jpeg_xl(head: bytes) -> FileType | None:
    # Either a bare codestream or the ISO BMFF-style container whose first box is 'JXL '.
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return FileType("jxl", "image/jxl", True, "JPEG XL image")
    return None


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"heif"}
_AVIF_BRANDS = {b"avif", b"avis"}
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1", b"miaf"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_FRAGMENT_BOXES = {b"moof", b"styp", b"sidx"}
# Old QuickTime files may start with one of these boxes instead of 'ftyp'.
_QUICKTIME_BOXES = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def _iso_bmff(head: bytes) -> FileType | None:
    box = head[4:8]
    if box in _FRAGMENT_BOXES:
        return FileType(
            "fmp4_fragment",
            "video/mp4",
            False,
            f"fragmented MP4 media segment (starts with a {box.decode()!r} box, no 'moov')",
        )
    if box in _QUICKTIME_BOXES and _is_plausible_box_size(head):
        return FileType("bmff", "video/quicktime", True, "QuickTime movie (no 'ftyp' box)")
    if box != b"ftyp":
        return None
    size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    end = min(size, len(head)) if size >= 16 else len(head)
    compatible = {head[offset : offset + 4] for offset in range(16, end - 3, 4)}
    brands = {major} | compatible
    brand_text = major.decode("latin-1").strip() or "?"
    if major == b"qt  ":
        mime, what = "video/quicktime", "QuickTime movie"
    elif major == b"M4V ":
        mime, what = "video/x-m4v", "M4V video"
    elif major in _AVIF_BRANDS or (major in _GENERIC_HEIF_BRANDS and brands & _AVIF_BRANDS):
        mime, what = "image/avif", "AVIF image"
    elif major in _HEIF_BRANDS or major in _GENERIC_HEIF_BRANDS:
        mime, what = "image/heic", "HEIF/HEIC image"
    elif major in _AUDIO_BRANDS:
        mime, what = "audio/mp4", "MPEG-4 audio"
    else:
        mime, what = "video/mp4", "ISO BMFF (MP4) video"
    return FileType("bmff", mime, True, f"{what} (brand {brand_text!r})")


def _is_plausible_box_size(head: bytes) -> bool:
    size = int.from_bytes(head[0:4], "big")
    return size in (0, 1) or size >= 8


def _riff(head: bytes) -> FileType | None:
    if head[0:4] != b"RIFF":
        return None
    form = head[8:12]
    if form == b"AVI ":
        return FileType("avi", "video/x-msvideo", True, "AVI video (RIFF)")
    if form == b"WAVE":
        return FileType("wav", "audio/wav", True, "WAV audio (RIFF)")
    if form == b"WEBP":
        return FileType("webp", "image/webp", True, "WebP image (RIFF)")
    return None


def _ebml(head: bytes) -> FileType | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    doc_type = _ebml_doc_type(head)
    if doc_type == b"webm":
        return FileType("matroska", "video/webm", False, "WebM video (Matroska)")
    return FileType("matroska", "video/x-matroska", False, "Matroska video")


def _ebml_doc_type(head: bytes) -> bytes | None:
    """Return the EBML DocType (``matroska``, ``webm``) when it is within ``head``."""
    position = head.find(b"\x42\x82", 4)
    if position < 0 or position + 3 > len(head):
        return None
    first = head[position + 2]
    # EBML variable-size integer: the leading 1-bit's position gives the length.
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        return None
    size = first & (0xFF >> length)
    for byte in head[position + 3 : position + 2 + length]:
        size = (size << 8) | byte
    start = position + 2 + length
    value = head[start : start + size]
    return value.rstrip(b"\x00") if len(value) == size else None


def _mpeg_ts(head: bytes) -> FileType | None:
    for packet_size, offset in ((_TS_PACKET, 0), (_M2TS_PACKET, 4)):
        positions = range(offset, len(head), packet_size)
        if len(positions) >= 2 and all(head[position] == 0x47 for position in positions):
            return FileType("mpegts", "video/mp2t", False, "MPEG transport stream")
    return None


_SIMPLE_MAGIC: tuple[tuple[bytes, FileType], ...] = (
    (b"\xff\xd8\xff", FileType("jpeg", "image/jpeg", True, "JPEG image")),
    (b"\x89PNG\r\n\x1a\n", FileType("png", "image/png", True, "PNG image")),
    (b"GIF87a", FileType("gif", "image/gif", True, "GIF image")),
    (b"GIF89a", FileType("gif", "image/gif", True, "GIF image")),
    (b"II*\x00", FileType("tiff", "image/tiff", True, "TIFF image (little-endian)")),
    (b"MM\x00*", FileType("tiff", "image/tiff", True, "TIFF image (big-endian)")),
    (b"II+\x00", FileType("tiff", "image/tiff", True, "BigTIFF image")),
    (b"MM\x00+", FileType("tiff", "image/tiff", True, "BigTIFF image")),
    (b"fLaC", FileType("flac", "audio/flac", True, "FLAC audio")),
    (b"%PDF-", FileType("pdf", "application/pdf", True, "PDF document")),
    (b"OggS", FileType("ogg", "audio/ogg", False, "Ogg media")),
    (b"ID3", FileType("mp3", "audio/mpeg", True, "MP3 audio (ID3 tag)")),
)


def _simple(head: bytes) -> FileType | None:
    for magic, file_type in _SIMPLE_MAGIC:
        if head.startswith(magic):
            return file_type
    return None


def _bmp(head: bytes) -> FileType | None:
    # 'BM', file size, two reserved zero words, then a DIB header size we know.
    if head[0:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00":
        dib_size = int.from_bytes(head[14:18], "little")
        if dib_size in (12, 40, 52, 56, 64, 108, 124):
            return FileType("bmp", "image/bmp", False, "BMP image")
    return None


def _mp3_frame(head: bytes) -> FileType | None:
    """An MPEG-1/2/2.5 Layer III frame header (MP3 without an ID3 tag)."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version = (head[1] >> 3) & 0b11
    layer = (head[1] >> 1) & 0b11
    bitrate = head[2] >> 4
    sample_rate = (head[2] >> 2) & 0b11
    if version == 0b01 or layer != 0b01 or bitrate == 0b1111 or sample_rate == 0b11:
        return None
    return FileType("mp3", "audio/mpeg", True, "MP3 audio")


# Order matters: JUMBF and JPEG XL containers look like ISO BMFF boxes.
_RECOGNISERS = (_jumbf, _jpeg_xl, _iso_bmff, _riff, _ebml, _simple, _bmp, _mpeg_ts, _mp3_frame)
