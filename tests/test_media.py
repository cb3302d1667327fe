"""The media layer: format sniffing and probing (provenance.media)."""

from __future__ import annotations

import zlib
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import provenance.media
from provenance.errors import MediaError, ProvenanceError
from provenance.media import FileType, probe, sniff, sniff_path
from provenance.report import MediaInfo, MediaKind
from provenance.testing.synth import CONTAINER_CODECS, synthetic_frame, write_clip, write_image

WIDTH, HEIGHT, FPS, SECONDS = 192, 108, 25, 0.8
FRAMES = round(FPS * SECONDS)

BMFF_DEMUXER = "mov,mp4,m4a,3gp,3g2,mj2"
#: suffix -> (demuxer name, video codec, audio codec, family, MIME type, C2PA-embeddable)
EXPECTED: dict[str, tuple[str, str, str, str, str, bool]] = {
    ".mp4": (BMFF_DEMUXER, "h264", "aac", "bmff", "video/mp4", True),
    ".m4v": (BMFF_DEMUXER, "h264", "aac", "bmff", "video/x-m4v", True),
    ".mov": (BMFF_DEMUXER, "h264", "aac", "bmff", "video/quicktime", True),
    ".mkv": ("matroska,webm", "h264", "aac", "matroska", "video/x-matroska", False),
    ".avi": ("avi", "mpeg4", "mp3", "avi", "video/x-msvideo", True),
    ".webm": ("matroska,webm", "vp9", "opus", "matroska", "video/webm", False),
    ".ts": ("mpegts", "h264", "aac", "mpegts", "video/mp2t", False),
}
#: Containers that state no frame count: probe derives it from fps x duration.
ESTIMATED_FRAME_COUNT = {".mkv", ".webm", ".ts"}


def test_expected_table_covers_every_synth_container() -> None:
    assert set(EXPECTED) == set(CONTAINER_CODECS)


def test_public_surface() -> None:
    assert provenance.media.__all__ == sorted(provenance.media.__all__)
    assert set(provenance.media.__all__) == {"FileType", "probe", "sniff", "sniff_path"}


# --------------------------------------------------------------------------- synthetic clips


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        (suffix, audio): write_clip(
            folder / f"clip_{'audio' if audio else 'silent'}{suffix}",
            seconds=SECONDS,
            fps=FPS,
            width=WIDTH,
            height=HEIGHT,
            audio=audio,
        )
        for suffix in CONTAINER_CODECS
        for audio in (False, True)
    }


@pytest.mark.parametrize("audio", [False, True], ids=["silent", "audio"])
@pytest.mark.parametrize("suffix", sorted(CONTAINER_CODECS))
def test_probe_synthetic_clip(
    clips: dict[tuple[str, bool], Path], suffix: str, audio: bool
) -> None:
    path = clips[suffix, audio]
    demuxer, video_codec, audio_codec, *_ = EXPECTED[suffix]
    info = probe(path)
    assert info.kind is MediaKind.VIDEO
    assert info.container == demuxer
    assert info.video_codec == video_codec
    assert info.audio_codec == (audio_codec if audio else None)
    assert info.has_audio is audio
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert info.fps == FPS
    assert info.pixel_format == "yuv420p"
    assert info.rotation_degrees == 0
    assert info.size_bytes == path.stat().st_size
    assert info.frame_count_estimated is (suffix in ESTIMATED_FRAME_COUNT)
    assert info.duration_seconds is not None
    if suffix == ".avi" and audio:
        # PyAV's AVI muxer leaves a one-frame gap in the video timestamps when an audio
        # stream is interleaved (pts 0, 2, 3, ...), so the header states 25 frame slots and
        # 1.04 s although 24 frames are stored. We report what the container states.
        assert info.frame_count == FRAMES + 1
        assert abs(info.duration_seconds - (FRAMES + 1) / FPS) < 1e-6
    else:
        assert info.frame_count == FRAMES
        assert abs(info.duration_seconds - SECONDS) <= 1 / FPS


@pytest.mark.parametrize("suffix", sorted(CONTAINER_CODECS))
def test_opening_decodes_no_picture_where_the_header_says_enough(
    clips: dict[tuple[str, bool], Path], suffix: str
) -> None:
    # FFmpeg's stream-info pass decodes pictures on opening (40 ms at 1080p); for MP4 and MOV
    # the header says all the probe needs, so that pass is told to skip them. The pixel format
    # it would have learnt stays unknown until a frame is decoded, and decoding is unchanged.
    from provenance.media.probe import best_video_stream, open_container

    with open_container(clips[suffix, True]) as container:
        stream = best_video_stream(container)
        assert stream is not None
        skipped = EXPECTED[suffix][3] == "bmff"
        assert (stream.codec_context.pix_fmt is None) is skipped
        assert (stream.codec_context.width, stream.codec_context.height) == (WIDTH, HEIGHT)
        frames = list(container.decode(stream))
    assert len(frames) == FRAMES
    assert {frame.format.name for frame in frames} == {"yuv420p"}


@pytest.mark.parametrize("suffix", sorted(CONTAINER_CODECS))
def test_sniff_synthetic_clip(clips: dict[tuple[str, bool], Path], suffix: str) -> None:
    *_, family, mime_type, embeddable = EXPECTED[suffix]
    for audio in (False, True):
        found = sniff_path(clips[suffix, audio])
        assert (found.family, found.mime_type, found.c2pa_embeddable) == (
            family,
            mime_type,
            embeddable,
        )


def test_probe_accepts_str_and_a_known_size(clips: dict[tuple[str, bool], Path]) -> None:
    path = clips[".mp4", False]
    assert probe(str(path)) == probe(path)
    assert probe(path, size_bytes=123).size_bytes == 123


def test_media_info_round_trips(clips: dict[tuple[str, bool], Path]) -> None:
    info = probe(clips[".mkv", True])
    assert MediaInfo.from_dict(info.to_dict()) == info


def _write_rotated(path: Path, counter_clockwise: int) -> Path:
    """A short H.264 clip with a display matrix (PyAV 18.1 can write one)."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.thread_type = "FRAME"
        stream.set_display_rotation(counter_clockwise)
        for index in range(5):
            rgb = synthetic_frame(index, width=WIDTH, height=HEIGHT)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
@pytest.mark.parametrize(
    ("counter_clockwise", "clockwise"), [(90, 270), (-90, 90), (180, 180), (0, 0)]
)
def test_rotation_is_read_from_the_display_matrix(
    tmp_path: Path, suffix: str, counter_clockwise: int, clockwise: int
) -> None:
    path = _write_rotated(tmp_path / f"rotated{suffix}", counter_clockwise)
    info = probe(path)
    # Stored size is unchanged; rotation_degrees is what a player turns clockwise to display.
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert info.rotation_degrees == clockwise


def test_clip_whose_first_frames_an_edit_list_discards(tmp_path: Path) -> None:
    # Timestamps starting at -5 make the MP4 muxer write an edit list that hides the first
    # five frames. Draining the decoder after the first keyframe then yields nothing, so the
    # probe starts over and decodes the plain way.
    path = tmp_path / "edit_list.mp4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.thread_type = "FRAME"
        for index in range(FRAMES + 5):
            frame = av.VideoFrame.from_ndarray(
                synthetic_frame(index, width=WIDTH, height=HEIGHT), format="rgb24"
            )
            frame.pts, frame.time_base = index - 5, Fraction(1, FPS)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    info = probe(path)
    assert info.kind is MediaKind.VIDEO
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert info.duration_seconds == pytest.approx(SECONDS)
    # The container's sample count includes the five hidden frames.
    assert info.frame_count == FRAMES + 5


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("suffix", "container", "mime_type"),
    [
        (".jpg", "jpeg", "image/jpeg"),
        (".png", "png", "image/png"),
        (".webp", "webp", "image/webp"),
        (".gif", "gif", "image/gif"),
        (".tif", "tiff", "image/tiff"),
        (".bmp", "bmp", "image/bmp"),
    ],
)
def test_probe_synthetic_image(tmp_path: Path, suffix: str, container: str, mime_type: str) -> None:
    path = write_image(tmp_path / f"still{suffix}", width=WIDTH, height=HEIGHT)
    info = probe(path)
    assert info.kind is MediaKind.IMAGE
    assert info.container == container
    assert (info.width, info.height) == (WIDTH, HEIGHT)
    assert info.frame_count == 1
    assert info.fps is None
    assert info.duration_seconds is None
    assert info.has_audio is False
    assert info.pixel_format == "bgr24"
    found = sniff_path(path)
    assert (found.family, found.mime_type) == (container, mime_type)
    # BMP is the one image format here that c2pa-python cannot carry credentials in.
    assert found.c2pa_embeddable is (suffix != ".bmp")


def _with_exif_orientation(jpeg: bytes, orientation: int, *, big_endian: bool) -> bytes:
    """Insert an APP1 EXIF segment holding one Orientation tag right after SOI."""
    order: Literal["little", "big"] = "big" if big_endian else "little"
    tiff = (b"MM" if big_endian else b"II") + (42).to_bytes(2, order) + (8).to_bytes(4, order)
    entry = (
        (0x0112).to_bytes(2, order)  # Orientation
        + (3).to_bytes(2, order)  # SHORT
        + (1).to_bytes(4, order)
        + orientation.to_bytes(2, order)
        + bytes(2)
    )
    tiff += (1).to_bytes(2, order) + entry + bytes(4)
    payload = b"Exif\x00\x00" + tiff
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return jpeg[:2] + segment + jpeg[2:]


@pytest.mark.parametrize(
    ("orientation", "big_endian", "clockwise"),
    [(1, False, 0), (6, False, 90), (3, True, 180), (8, True, 270), (5, False, 270)],
)
def test_jpeg_exif_orientation(
    tmp_path: Path, orientation: int, big_endian: bool, clockwise: int
) -> None:
    plain = write_image(tmp_path / "plain.jpg", width=WIDTH, height=HEIGHT).read_bytes()
    path = tmp_path / "oriented.jpg"
    path.write_bytes(_with_exif_orientation(plain, orientation, big_endian=big_endian))
    info = probe(path)
    assert (info.width, info.height) == (WIDTH, HEIGHT)  # stored size, as for video
    assert info.rotation_degrees == clockwise


# --------------------------------------------------------------------------- bad inputs


def _assert_media_error(path: Path, *fragments: str) -> str:
    with pytest.raises(MediaError) as caught:
        probe(path)
    message = str(caught.value)
    assert message.startswith(f"{path.name}: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(caught.value, ProvenanceError)
    assert isinstance(caught.value, ValueError)
    return message


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    _assert_media_error(path, "empty file")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    _assert_media_error(tmp_path / "missing.mp4", "cannot read the file", "No such file")
    folder = tmp_path / "folder.mp4"
    folder.mkdir()
    _assert_media_error(folder, "cannot read the file")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_mp4_without_faststart(
    clips: dict[tuple[str, bool], Path], tmp_path: Path, fraction: float
) -> None:
    # FFmpeg writes the 'moov' index after the media data, so a cut inside 'mdat' loses the
    # index and the file cannot be opened at all; the message says the file was cut short.
    data = clips[".mp4", True].read_bytes()
    path = tmp_path / f"cut_{int(fraction * 100)}.mp4"
    path.write_bytes(data[: int(len(data) * fraction)])
    _assert_media_error(path, "incomplete", "'mdat' box", "no 'moov' box", "cut short")


def test_mp4_cut_inside_its_index(clips: dict[tuple[str, bool], Path], tmp_path: Path) -> None:
    # A cut that removes the video track's part of 'moov' leaves no streams: an error...
    silent = clips[".mp4", False].read_bytes()
    path = tmp_path / "cut_moov.mp4"
    path.write_bytes(silent[: int(len(silent) * 0.99)])
    _assert_media_error(path, "incomplete", "'moov' box at byte", "cut short")
    # ...but a cut that loses only the last track of 'moov' (here the audio track, which
    # follows the video track) still probes: FFmpeg parses what is there and silently drops
    # the incomplete track. The video can still be checked; the audio is simply not seen.
    with_audio = clips[".mp4", True].read_bytes()
    tail_cut = tmp_path / "cut_moov_tail.mp4"
    tail_cut.write_bytes(with_audio[: int(len(with_audio) * 0.99)])
    info = probe(tail_cut)
    assert info.kind is MediaKind.VIDEO
    assert info.frame_count == FRAMES
    assert info.has_audio is False


def _write_faststart(path: Path) -> Path:
    with av.open(str(path), mode="w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.thread_type = "FRAME"
        for index in range(FRAMES):
            rgb = synthetic_frame(index, width=WIDTH, height=HEIGHT)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_truncated_faststart_mp4(tmp_path: Path) -> None:
    data = _write_faststart(tmp_path / "whole.mp4").read_bytes()
    assert data[4:8] == b"ftyp"
    assert b"moov" in data[:64]

    # Cut early inside 'mdat': the index is intact but the first frame is gone.
    early = tmp_path / "cut_5.mp4"
    early.write_bytes(data[: int(len(data) * 0.05)])
    _assert_media_error(early, "incomplete", "'mdat' box", "cut short")

    # Cut later inside 'mdat': the index is whole and the first frame decodes, so the file
    # still probes, with the duration and frame count the index states (the missing tail is
    # found only when frames are read). This is deliberate: what is there can be checked.
    for fraction in (0.5, 0.9):
        late = tmp_path / f"cut_{int(fraction * 100)}.mp4"
        late.write_bytes(data[: int(len(data) * fraction)])
        info = probe(late)
        assert info.kind is MediaKind.VIDEO
        assert info.frame_count == FRAMES
        assert info.frame_count_estimated is False


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".ts"])
def test_truncated_streaming_containers(
    clips: dict[tuple[str, bool], Path], tmp_path: Path, suffix: str
) -> None:
    data = clips[suffix, False].read_bytes()
    # Cut before the first frame is complete: no frame decodes.
    head = tmp_path / f"head{suffix}"
    head.write_bytes(data[: int(len(data) * 0.01)])
    _assert_media_error(head)
    # Cut after it: these formats are made to be read while written, so the file probes.
    half = tmp_path / f"half{suffix}"
    half.write_bytes(data[: len(data) // 2])
    assert probe(half).kind is MediaKind.VIDEO


def test_random_bytes_named_mp4(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _assert_media_error(
        path, "not a readable media file", "FFmpeg: Invalid data", "Check that the file"
    )


def test_text_named_mov(tmp_path: Path) -> None:
    path = tmp_path / "notes.mov"
    path.write_text("These are meeting notes, not a movie.\n" * 20)
    _assert_media_error(path, "not a readable media file", "Check that the file")


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload).to_bytes(4, "big")
    return len(payload).to_bytes(4, "big") + kind + payload + crc


def test_png_with_corrupted_ihdr(tmp_path: Path) -> None:
    data = bytearray(write_image(tmp_path / "good.png", width=WIDTH, height=HEIGHT).read_bytes())
    assert data[12:16] == b"IHDR"
    data[16:20] = (0x7FFF_FFFF).to_bytes(4, "big")  # width: stale CRC and absurd value
    path = tmp_path / "bad_ihdr.png"
    path.write_bytes(bytes(data))
    # the header is read before any decoder runs: its size alone gives the file away
    _assert_media_error(path, "implausible picture size 2147483647x108", "corrupt")


def test_png_with_valid_crc_but_absurd_size(tmp_path: Path) -> None:
    # Consistent chunk CRC, so only the size tells it apart: a zero-width IHDR.
    ihdr = (0).to_bytes(4, "big") + HEIGHT.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")
    path = tmp_path / "zero_width.png"
    path.write_bytes(data)
    _assert_media_error(path, "cannot be decoded")


def test_truncated_jpeg(tmp_path: Path) -> None:
    data = write_image(tmp_path / "good.jpg", width=WIDTH, height=HEIGHT).read_bytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[:200])
    _assert_media_error(path, "looks like a JPEG image but cannot be decoded")


def test_not_media_formats_are_named(tmp_path: Path) -> None:
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    _assert_media_error(pdf, "is a PDF document, not video, audio or an image")
    store = tmp_path / "manifest.c2pa"
    store.write_bytes(b"\x00\x00\x00\x40jumb\x00\x00\x00\x1ejumdc2pa" + bytes(40))
    _assert_media_error(store, "C2PA manifest store")
    fragment = tmp_path / "segment.m4s"
    fragment.write_bytes(b"\x00\x00\x00\x18stypmsdh\x00\x00\x00\x00msdhmsix" + bytes(64))
    _assert_media_error(fragment, "cannot be read on its own", "initialisation segment")


def test_mp4_with_only_a_header(tmp_path: Path) -> None:
    path = tmp_path / "header_only.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
    _assert_media_error(path, "no 'moov' box")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from(
        [b"", b"\x00\x00\x00\x18ftypisom", b"\x1a\x45\xdf\xa3", b"RIFF\x00\x10\x00\x00AVI ", b"G"]
    ),
    body=st.binary(min_size=0, max_size=3000),
)
def test_probe_raises_only_media_error_on_garbage(
    tmp_path: Path, prefix: bytes, body: bytes
) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(prefix + body)
    message = "garbage.bin: probed"
    try:
        probe(path)
    except MediaError as error:
        message = str(error)
    assert message.startswith("garbage.bin: ")


@given(st.binary(max_size=2048))
def test_sniff_never_raises(head: bytes) -> None:
    found = sniff(head)
    assert isinstance(found, FileType)
    if found.family == "unknown":
        assert found.mime_type is None
        assert not found.c2pa_embeddable


# --------------------------------------------------------------------------- sniff table


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    payload = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(payload)).to_bytes(4, "big") + b"ftyp" + payload + bytes(32)


def _ebml(doc_type: bytes) -> bytes:
    element = b"\x42\x82" + bytes([0x80 | len(doc_type)]) + doc_type
    body = b"\x42\x86\x81\x01" + element
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body + bytes(16)


def _transport_stream(packet_size: int, offset: int, packets: int = 5) -> bytes:
    packet = bytearray(packet_size)
    packet[offset] = 0x47
    return bytes(packet) * packets


SNIFF_CASES: list[tuple[str, bytes, str, str | None, bool]] = [
    ("mp4", _ftyp(b"isom", b"isom", b"avc1"), "bmff", "video/mp4", True),
    ("mov", _ftyp(b"qt  ", b"qt  "), "bmff", "video/quicktime", True),
    ("m4v", _ftyp(b"M4V ", b"isom"), "bmff", "video/x-m4v", True),
    ("m4a", _ftyp(b"M4A ", b"isom"), "bmff", "audio/mp4", True),
    ("3gp", _ftyp(b"3gp4", b"isom"), "bmff", "video/mp4", True),
    ("heic", _ftyp(b"heic", b"mif1", b"heic"), "bmff", "image/heic", True),
    ("heif mif1", _ftyp(b"mif1", b"heic"), "bmff", "image/heic", True),
    ("avif", _ftyp(b"avif", b"mif1"), "bmff", "image/avif", True),
    ("avif via mif1", _ftyp(b"mif1", b"avif", b"miaf"), "bmff", "image/avif", True),
    ("old quicktime", b"\x00\x00\x00\x08wide" + bytes(40), "bmff", "video/quicktime", True),
    ("moof", b"\x00\x00\x00\x10moof" + bytes(40), "fmp4_fragment", "video/mp4", False),
    ("styp", b"\x00\x00\x00\x18stypmsdh" + bytes(40), "fmp4_fragment", "video/mp4", False),
    ("sidx", b"\x00\x00\x00\x2csidx" + bytes(40), "fmp4_fragment", "video/mp4", False),
    ("avi", b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(32), "avi", "video/x-msvideo", True),
    ("wav", b"RIFF\x00\x10\x00\x00WAVEfmt " + bytes(32), "wav", "audio/wav", True),
    ("webp", b"RIFF\x00\x10\x00\x00WEBPVP8 " + bytes(32), "webp", "image/webp", True),
    ("other riff", b"RIFF\x00\x10\x00\x00CDXA" + bytes(32), "unknown", None, False),
    ("webm", _ebml(b"webm"), "matroska", "video/webm", False),
    ("matroska", _ebml(b"matroska"), "matroska", "video/x-matroska", False),
    ("ebml no doctype", b"\x1a\x45\xdf\xa3" + bytes(8), "matroska", "video/x-matroska", False),
    ("mpeg-ts", _transport_stream(188, 0), "mpegts", "video/mp2t", False),
    ("m2ts", _transport_stream(192, 4), "mpegts", "video/mp2t", False),
    ("one ts packet", _transport_stream(188, 0, packets=1), "unknown", None, False),
    ("jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpeg", "image/jpeg", True),
    ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png", "image/png", True),
    ("gif87", b"GIF87a" + bytes(10), "gif", "image/gif", True),
    ("gif89", b"GIF89a" + bytes(10), "gif", "image/gif", True),
    ("tiff le", b"II*\x00\x08\x00\x00\x00", "tiff", "image/tiff", True),
    ("tiff be", b"MM\x00*\x00\x00\x00\x08", "tiff", "image/tiff", True),
    (
        "bmp",
        b"BM\x36\x84\x03\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
        "bmp",
        "image/bmp",
        False,
    ),
    ("jxl codestream", b"\xff\x0a\xfa\x7f" + bytes(12), "jxl", "image/jxl", True),
    ("jxl container", b"\x00\x00\x00\x0cJXL \r\n\x87\n" + bytes(12), "jxl", "image/jxl", True),
    ("mp3 id3", b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3", "audio/mpeg", True),
    ("mp3 frame", b"\xff\xfb\x90\x64" + bytes(12), "mp3", "audio/mpeg", True),
    ("aac adts", b"\xff\xf1\x50\x80" + bytes(12), "unknown", None, False),
    ("utf-16 text", "\ufeffhello".encode("utf-16-le"), "unknown", None, False),
    ("flac", b"fLaC\x00\x00\x00\x22", "flac", "audio/flac", True),
    ("pdf", b"%PDF-1.7\n", "pdf", "application/pdf", True),
    ("ogg", b"OggS\x00\x02" + bytes(20), "ogg", "audio/ogg", False),
    ("c2pa", b"\x00\x00\x00\x40jumb\x00\x00\x00\x1ejumdc2pa", "c2pa", "application/c2pa", True),
    ("text", b"hello, world\n", "unknown", None, False),
    ("empty", b"", "unknown", None, False),
]


@pytest.mark.parametrize(
    ("head", "family", "mime_type", "embeddable"),
    [case[1:] for case in SNIFF_CASES],
    ids=[case[0] for case in SNIFF_CASES],
)
def test_sniff(head: bytes, family: str, mime_type: str | None, embeddable: bool) -> None:
    found = sniff(head)
    assert (found.family, found.mime_type, found.c2pa_embeddable) == (
        family,
        mime_type,
        embeddable,
    )
    assert found.description


def test_embeddable_mime_types_are_ones_the_c2pa_sdk_reads() -> None:
    c2pa = pytest.importorskip("c2pa")
    supported = set(c2pa.Reader.get_supported_mime_types())
    embeddable = {case[3] for case in SNIFF_CASES if case[4]}
    assert embeddable <= supported
    not_embeddable = {case[3] for case in SNIFF_CASES if not case[4] and case[3] is not None}
    # video/mp4 appears as fMP4 fragments, which are not embeddable on their own.
    assert not (not_embeddable - {"video/mp4"}) & supported


def test_file_type_is_frozen() -> None:
    found = sniff(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(AttributeError):
        found.family = "jpeg"  # type: ignore[misc]


# --------------------------------------------------------------------------- shared fixtures


def test_probe_natural_clips(shared_dir: Path) -> None:
    clips = sorted((shared_dir / "fixtures" / "natural").glob("*.mkv"))
    assert clips, "no natural .mkv fixtures found"
    for path in clips:
        info = probe(path)
        assert info.kind is MediaKind.VIDEO, path.name
        assert info.container == "matroska,webm"
        assert info.video_codec == "h264"
        assert (info.width or 0) > 0
        assert (info.height or 0) > 0
        assert (info.fps or 0) > 0
        assert (info.duration_seconds or 0) > 0
        assert (info.frame_count or 0) > 0
        assert info.frame_count_estimated is True  # Matroska states no frame count
        assert sniff_path(path).c2pa_embeddable is False


@pytest.mark.parametrize(
    ("name", "kind", "container", "size"),
    [
        ("video1.mp4", MediaKind.VIDEO, BMFF_DEMUXER, (720, 1280)),
        ("PTS_TRUSTED_sony_official_cawg_wdr.mp4", MediaKind.VIDEO, BMFF_DEMUXER, (1280, 720)),
        ("c.mov", MediaKind.VIDEO, BMFF_DEMUXER, (2750, 1834)),
        ("test.avi", MediaKind.VIDEO, "avi", (480, 270)),
        ("trustnxt-icon-signed-v2-bmff.heic", MediaKind.IMAGE, "heic", (1056, 1056)),
        ("C.jpg", MediaKind.IMAGE, "jpeg", (2048, 1365)),
        ("no_alg.jpg", MediaKind.IMAGE, "jpeg", (480, 270)),
        ("DALL-E_cloud_surfing_puppy.webp", MediaKind.IMAGE, "webp", (1024, 1024)),
        ("cicadas_trusted.mp3", MediaKind.AUDIO, "mp3", None),
        ("sample1_signed.wav", MediaKind.AUDIO, "wav", None),
    ],
)
def test_probe_c2pa_fixtures(
    shared_dir: Path, name: str, kind: MediaKind, container: str, size: tuple[int, int] | None
) -> None:
    path = shared_dir / "fixtures" / "c2pa" / name
    info = probe(path)
    assert info.kind is kind
    assert info.container == container
    if size is not None:
        assert (info.width, info.height) == size
    if kind is MediaKind.VIDEO:
        assert (info.fps or 0) > 0
        assert (info.frame_count or 0) > 0
        assert (info.duration_seconds or 0) > 0
    if kind is MediaKind.AUDIO:
        assert info.has_audio
        assert info.audio_codec
        assert (info.duration_seconds or 0) > 0
    assert sniff_path(path).c2pa_embeddable is True
    # no_alg.jpg is the one fixture with an EXIF Orientation other than 1 (6: turn 90 deg).
    assert info.rotation_degrees == (90 if name == "no_alg.jpg" else 0)


def test_c2pa_fixtures_that_are_not_playable_media(shared_dir: Path) -> None:
    folder = shared_dir / "fixtures" / "c2pa"
    # An fMP4 init segment alone has tracks but no samples.
    _assert_media_error(folder / "dashinit.mp4", "could not decode any video frame")
    assert sniff_path(folder / "dash1.m4s").family == "fmp4_fragment"
    _assert_media_error(folder / "dash1.m4s", "cannot be read on its own")
    assert sniff_path(folder / "cloud_manifest.c2pa").family == "c2pa"
    _assert_media_error(folder / "cloud_manifest.c2pa", "C2PA manifest store")
