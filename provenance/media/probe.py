"""Read a file's media facts (:class:`~provenance.report.MediaInfo`) quickly and safely.

Video and audio are read with PyAV; still images with OpenCV (PyAV as fallback, e.g. HEIC).
Probing decodes one frame, so that a file with a plausible header but unusable content fails
here with a clear :class:`~provenance.errors.MediaError` rather than later. Every failure is a
``MediaError`` whose message names the file, says what is wrong and what to do.

The container helpers (``sniff_file``, ``open_container``, ``best_video_stream``,
``stream_fps``, ``stream_duration``, ``stream_frame_count``, ``bmff_structure_problem``,
``describe_error``) are shared with the frame sampler (:mod:`provenance.media.frames`), so
that probing and sampling read a file the same way.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from provenance.errors import MediaError
from provenance.media.bmff import scan_file
from provenance.media.declared import IMAGE_HEADER_BYTES, declared_size, refuse_oversized
from provenance.media.sniff import SNIFF_BYTES, FileType, sniff, sniff_path
from provenance.report import MediaInfo, MediaKind

if TYPE_CHECKING:
    import numpy as np
    from av.audio.frame import AudioFrame
    from av.audio.stream import AudioStream
    from av.codec.context import CodecContext
    from av.container import InputContainer
    from av.stream import Stream
    from av.video.format import VideoFormat
    from av.video.frame import VideoFrame
    from av.video.stream import VideoStream

__all__ = ["IMAGE_FAMILIES_FOR_PYAV", "MAX_DIMENSION", "probe"]

#: Largest width or height accepted, in pixels; anything larger is treated as corrupt.
MAX_DIMENSION = 65_536

# How many packets of the chosen stream to read while looking for a first decodable frame.
_MAX_PACKETS_FOR_FIRST_FRAME = 300

# Bound on the top-level boxes walked when explaining why an MP4 failed to open.
_MAX_TOP_LEVEL_BOXES = 10_000

_CHECK_ADVICE = "Check that the file is complete and is video, audio or an image."

# Families that are definitely not media: say so (and what to do) instead of letting FFmpeg guess.
_NOT_MEDIA = {
    "pdf": "Check a video, audio or image file instead.",
    "c2pa": "A sidecar manifest is checked together with the media file it describes.",
}

#: Image formats OpenCV wheels cannot decode: try FFmpeg (HEIC, AVIF inside ISO BMFF; JPEG XL).
IMAGE_FAMILIES_FOR_PYAV = frozenset({"bmff", "jxl"})

# OpenCV decoded layout -> FFmpeg-style pixel format name.
_IMAGE_PIXEL_FORMATS = {
    ("uint8", 1): "gray",
    ("uint8", 3): "bgr24",
    ("uint8", 4): "bgra",
    ("uint16", 1): "gray16",
    ("uint16", 3): "bgr48",
    ("uint16", 4): "bgra64",
    ("float32", 1): "grayf32",
}

# EXIF Orientation -> clockwise rotation a viewer applies (mirroring ignored).
_EXIF_ORIENTATION_TO_CLOCKWISE = {1: 0, 2: 0, 3: 180, 4: 180, 5: 270, 6: 90, 7: 90, 8: 270}

# The EXIF block sits in the first APP segments; 128 KiB covers the largest possible one.
_EXIF_SEARCH_BYTES = 131_072

_MATROSKA_DURATION = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")


def probe(path: str | Path, *, size_bytes: int | None = None) -> MediaInfo:
    """Read the media facts of one file and check that its first frame decodes.

    Parameters
    ----------
    path
        The file to read.
    size_bytes
        The file's size when the caller already knows it (saves a ``stat``).

    Returns
    -------
    MediaInfo
        ``kind`` is VIDEO when there is a video stream (other than cover art), AUDIO for
        audio-only files and IMAGE for still images. ``rotation_degrees`` is the clockwise
        rotation a player applies for display (0, 90, 180 or 270), read from the display
        matrix; ``frame_count_estimated`` is True when the container states no frame count
        and it was derived as ``round(fps * duration)``.

    Raises
    ------
    MediaError
        The file is missing, empty, unreadable, not media, truncated or corrupt. The message
        names the file and says what to do.
    """
    path = Path(path)
    name = path.name or str(path)
    file_type = sniff_file(path, name)
    if size_bytes is None:
        size_bytes = path.stat().st_size
    try:
        if file_type.family in _NOT_MEDIA:
            raise MediaError(
                f"{name}: is a {file_type.description}, not video, audio or an image. "
                f"{_NOT_MEDIA[file_type.family]}"
            )
        if file_type.family == "fmp4_fragment":
            raise MediaError(
                f"{name}: is a {file_type.description}; it cannot be read on its own. "
                "Join it with its initialisation segment (the file with the 'moov' box)."
            )
        if is_image_type(file_type):
            return _probe_image(path, name, file_type, size_bytes)
        return _probe_with_pyav(path, name, file_type, size_bytes)
    except MediaError:
        raise
    except Exception as error:  # a probe never lets a third-party traceback out
        raise MediaError(
            f"{name}: not a readable media file ({describe_error(error)}). {_CHECK_ADVICE}"
        ) from error


def sniff_file(path: Path, name: str) -> FileType:
    """What the file's first bytes say it is; MediaError for empty, unreadable or non-media files."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(SNIFF_BYTES)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise MediaError(
            f"{name}: cannot read the file ({reason}). Check the path and its permissions."
        ) from error
    if not head:
        raise MediaError(f"{name}: empty file (0 bytes). Check that the upload or copy finished.")
    return sniff(head)


def is_image_type(file_type: FileType) -> bool:
    """True for still-image formats (read with OpenCV, or PyAV for HEIC/AVIF/JXL)."""
    return file_type.mime_type is not None and file_type.mime_type.startswith("image/")


# --------------------------------------------------------------------------- images


def _probe_image(path: Path, name: str, file_type: FileType, size_bytes: int) -> MediaInfo:
    import cv2
    import numpy as np

    container = _image_container_name(file_type)
    data = np.fromfile(path, dtype=np.uint8)
    declared = declared_size(data[:IMAGE_HEADER_BYTES].tobytes())
    if declared is not None and all(declared):  # before OpenCV allocates what it claims
        _check_dimensions(name, *declared)
    try:
        image: np.ndarray | None = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        if file_type.family in IMAGE_FAMILIES_FOR_PYAV:
            # OpenCV wheels have no HEIF/AVIF/JPEG XL codecs; FFmpeg reads some of them.
            return _probe_image_with_pyav(path, name, file_type, container, size_bytes)
        raise MediaError(
            f"{name}: looks like a {file_type.description} but cannot be decoded; it is "
            f"probably truncated or corrupt. {_CHECK_ADVICE}"
        )
    height, width = int(image.shape[0]), int(image.shape[1])
    _check_dimensions(name, width, height)
    rotation = 0
    if file_type.family == "jpeg":
        rotation = _jpeg_exif_rotation(data[:_EXIF_SEARCH_BYTES].tobytes())
    return MediaInfo(
        kind=MediaKind.IMAGE,
        container=container,
        size_bytes=size_bytes,
        width=width,
        height=height,
        frame_count=1,
        rotation_degrees=rotation,
        pixel_format=_image_pixel_format(image),
    )


def _jpeg_exif_rotation(data: bytes) -> int:
    """Clockwise display rotation from a JPEG's EXIF Orientation tag; 0 when there is none.

    Mirrored orientations (2, 4, 5, 7) report their rotation part only.
    """
    position = 2  # after SOI
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        if marker in (0xD9, 0xDA) or length < 2:  # end of image, start of scan
            return 0
        segment = data[position + 4 : position + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00"):
            return _EXIF_ORIENTATION_TO_CLOCKWISE.get(_tiff_orientation(segment[6:]), 0)
        position += 2 + length
    return 0


def _tiff_orientation(tiff: bytes) -> int:
    """The Orientation (0x0112) value of a TIFF structure's first IFD; 0 when absent."""
    order: Literal["little", "big"]
    if tiff[:2] == b"II":
        order = "little"
    elif tiff[:2] == b"MM":
        order = "big"
    else:
        return 0
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd + 2 > len(tiff):
        return 0
    count = int.from_bytes(tiff[ifd : ifd + 2], order)
    for entry in range(ifd + 2, min(ifd + 2 + 12 * count, len(tiff) - 11), 12):
        if int.from_bytes(tiff[entry : entry + 2], order) == 0x0112:
            return int.from_bytes(tiff[entry + 8 : entry + 10], order)
    return 0


def _probe_image_with_pyav(
    path: Path, name: str, file_type: FileType, container_name: str, size_bytes: int
) -> MediaInfo:
    import av

    try:
        with open_container(path, file_type) as container:
            stream = best_video_stream(container)
            codec_context: CodecContext | None = stream.codec_context if stream else None
            if stream is None or codec_context is None:
                raise MediaError(
                    f"{name}: looks like a {file_type.description} but holds no image this "
                    f"FFmpeg build can decode. {_CHECK_ADVICE}"
                )
            return _still_image(
                container, stream, name, container_name, size_bytes, file_type.description
            )
    except av.error.FFmpegError as error:
        raise MediaError(
            f"{name}: looks like a {file_type.description} but cannot be decoded "
            f"({describe_error(error)}). The file may be corrupt or use a codec this build "
            "does not support."
        ) from error


def _still_image(
    container: InputContainer,
    stream: VideoStream,
    name: str,
    container_name: str,
    size_bytes: int,
    what: str,
) -> MediaInfo:
    """MediaInfo of a still image read with PyAV (HEIC, or a format only FFmpeg knows)."""
    frame, width, height = _decode_size(
        container,
        stream,
        f"{name}: looks like a {what} but cannot be decoded; it is probably truncated or "
        f"corrupt. {_CHECK_ADVICE}",
        name,
    )
    return MediaInfo(
        kind=MediaKind.IMAGE,
        container=container_name,
        size_bytes=size_bytes,
        video_codec=_codec_name(stream),
        width=width,
        height=height,
        frame_count=1,
        rotation_degrees=_clockwise(frame.rotation),
        pixel_format=_pixel_format_name(frame),
    )


def _image_container_name(file_type: FileType) -> str:
    if file_type.family == "bmff" and file_type.mime_type is not None:
        return file_type.mime_type.removeprefix("image/")  # heic, avif
    return file_type.family


def _image_pixel_format(image: np.ndarray) -> str:
    channels = 1 if image.ndim == 2 else int(image.shape[2])
    dtype = str(image.dtype)
    return _IMAGE_PIXEL_FORMATS.get((dtype, channels), f"{dtype}x{channels}")


# --------------------------------------------------------------------------- video and audio


def _probe_with_pyav(path: Path, name: str, file_type: FileType, size_bytes: int) -> MediaInfo:
    import av

    try:
        with open_container(path, file_type) as container:
            return _read_container(container, name, size_bytes)
    except (av.error.FFmpegError, MediaError) as error:
        problem = bmff_structure_problem(path, size_bytes) if file_type.family == "bmff" else None
        if problem is not None:
            raise MediaError(
                f"{name}: incomplete {file_type.description}: {problem}. The download, copy or "
                "recording was cut short: get the complete file."
            ) from error
        if isinstance(error, MediaError):
            raise
        raise MediaError(
            f"{name}: not a readable media file ({describe_error(error)}). {_CHECK_ADVICE}"
        ) from error


def open_container(path: Path, file_type: FileType | None = None) -> InputContainer:
    """Open a local file with PyAV for reading, with no network protocol allowed
    (``file_type``: what :func:`sniff_file` found, when the caller has it; else it is read)."""
    import av

    # An absolute path keeps FFmpeg from reading 'name:rest' as a protocol; the whitelist keeps
    # any demuxer that follows references (playlists) off the network.
    return av.open(
        str(path.absolute()),
        mode="r",
        metadata_errors="replace",
        container_options={"protocol_whitelist": "file"},
        options=_stream_info_options(path, file_type),
    )


def _stream_info_options(path: Path, file_type: FileType | None) -> dict[str, str]:
    """On opening, FFmpeg decodes one to seven pictures to learn what an MP4 or MOV header
    already states (40 ms at 1080p, 107 ms at 4K, paid on every opening). ``skip_frame=all``
    reaches only that pass's decoders, not the ones frames are read with. Only ISO BMFF video:
    Matroska's start time and duration come out differently without that decoding."""
    if file_type is None:
        try:
            file_type = sniff_path(path)
        except OSError:
            return {}  # opening will say what is wrong
    media = file_type.mime_type or ""
    if file_type.family == "bmff" and media.startswith(("video/", "audio/")):
        return {"skip_frame": "all"}
    return {}


def _read_container(container: InputContainer, name: str, size_bytes: int) -> MediaInfo:
    video = best_video_stream(container)
    audio = _best_audio_stream(container)
    format_name = container.format.name
    audio_codec = _codec_name(audio) if audio is not None else None
    if video is None:
        if audio is None:
            raise MediaError(
                f"{name}: the {format_name} container holds no video or audio stream. "
                f"{_CHECK_ADVICE}"
            )
        _require_decoder(name, audio, "audio")
        if _first_frame(container, audio) is None:
            raise MediaError(
                f"{name}: could not decode any audio frame; the file is truncated or "
                f"corrupt. {_CHECK_ADVICE}"
            )
        return MediaInfo(
            kind=MediaKind.AUDIO,
            container=format_name,
            size_bytes=size_bytes,
            audio_codec=audio_codec,
            duration_seconds=stream_duration(container, audio),
            has_audio=True,
        )

    _require_decoder(name, video, "video")
    if _is_image_demuxer(format_name):
        image_format = format_name.removesuffix("_pipe")
        return _still_image(
            container, video, name, image_format, size_bytes, f"{image_format} image"
        )
    frame, width, height = _decode_size(
        container,
        video,
        f"{name}: could not decode any video frame; the file is truncated, corrupt, or "
        f"has no media samples (e.g. an fMP4 init segment alone). {_CHECK_ADVICE}",
        name,
    )
    fps = stream_fps(video)
    duration = stream_duration(container, video)
    frame_count, estimated = stream_frame_count(video, fps, duration)
    return MediaInfo(
        kind=MediaKind.VIDEO,
        container=format_name,
        size_bytes=size_bytes,
        video_codec=_codec_name(video),
        audio_codec=audio_codec,
        width=width,
        height=height,
        fps=fps,
        duration_seconds=duration,
        frame_count=frame_count,
        frame_count_estimated=estimated,
        rotation_degrees=_rotation(video, frame),
        has_audio=audio is not None,
        pixel_format=_pixel_format_name(frame),
    )


def _is_image_demuxer(format_name: str) -> bool:
    # FFmpeg's still-image demuxers: image2 and the per-codec '<codec>_pipe' ones.
    return format_name == "image2" or format_name.endswith("_pipe")


def best_video_stream(container: InputContainer) -> VideoStream | None:
    """The main video stream, skipping cover art (attached pictures in MP3/M4A files)."""
    import av

    def is_picture(stream: VideoStream) -> bool:
        return bool(stream.disposition & av.stream.Disposition.attached_pic)

    best = container.streams.best("video")
    if isinstance(best, av.video.stream.VideoStream) and not is_picture(best):
        return best
    return next((stream for stream in container.streams.video if not is_picture(stream)), None)


def _best_audio_stream(container: InputContainer) -> AudioStream | None:
    import av

    best = container.streams.best("audio")
    if isinstance(best, av.audio.stream.AudioStream):
        return best
    return container.streams.audio[0] if container.streams.audio else None


def _require_decoder(name: str, stream: Stream, kind: str) -> None:
    # PyAV leaves codec_context as None when this FFmpeg build has no decoder for the codec.
    codec_context: CodecContext | None = stream.codec_context
    if codec_context is None:
        raise MediaError(
            f"{name}: the {kind} codec of stream #{stream.index} is not supported by this "
            "FFmpeg build, so the file cannot be checked. Convert it to H.264/MP4 and retry."
        )


@overload
def _first_frame(container: InputContainer, stream: VideoStream) -> VideoFrame | None: ...
@overload
def _first_frame(container: InputContainer, stream: AudioStream) -> AudioFrame | None: ...
def _first_frame(
    container: InputContainer, stream: VideoStream | AudioStream
) -> VideoFrame | AudioFrame | None:
    """Decode up to the first frame of ``stream``; None if none comes out."""
    codec_context: CodecContext | None = stream.codec_context
    if codec_context is None:
        return None
    # One frame is wanted: a single decoder thread starts faster than a pool, and a scan
    # already runs one probe per core.
    codec_context.thread_count = 1
    return _decode_first(container, stream, drain_at_keyframe=stream.type == "video")


def _decode_first(
    container: InputContainer, stream: VideoStream | AudioStream, *, drain_at_keyframe: bool
) -> VideoFrame | AudioFrame | None:
    import av

    for index, packet in enumerate(container.demux(stream)):
        if index >= _MAX_PACKETS_FOR_FIRST_FRAME:
            return None
        try:
            frames = stream.decode(packet)
            if not frames and drain_at_keyframe and packet.is_keyframe and packet.size:
                # Decoders hold frames back to reorder B-frames (3 to 17 packets here);
                # draining returns the keyframe at once: 5 ms instead of 8 for a small clip,
                # 20 instead of 190 for a 2.7K one.
                frames = stream.decode(None)
                if not frames:
                    # Nothing came out (e.g. an edit list discards the keyframe): start over
                    # and decode the plain way.
                    container.seek(0)
                    stream.codec_context.flush_buffers()
                    return _decode_first(container, stream, drain_at_keyframe=False)
        except av.error.InvalidDataError:
            continue  # a damaged packet: try the next one
        if frames:
            return frames[0]
    return None


def _codec_name(stream: Stream) -> str | None:
    """The codec's canonical name (``mp3``, ``av1``), not the decoder's (``mp3float``)."""
    codec_context: CodecContext | None = stream.codec_context
    if codec_context is None:
        return None
    return str(codec_context.codec.canonical_name or codec_context.name)


def _pixel_format_name(frame: VideoFrame) -> str | None:
    video_format: VideoFormat | None = frame.format
    return video_format.name if video_format is not None else None


def stream_fps(stream: VideoStream) -> float | None:
    """The stream's average frame rate, or None when the container does not state one."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if isinstance(rate, Fraction) and rate > 0:
            return float(rate)
    return None


def stream_duration(container: InputContainer, stream: Stream) -> float | None:
    """The stream's duration in seconds (stream, container or Matroska tag), or None."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    tagged = _tagged_duration(stream.metadata)
    if tagged is not None:
        return tagged
    if container.duration:
        import av

        return float(container.duration) / av.time_base
    return None


def _tagged_duration(metadata: dict[str, str]) -> float | None:
    """Matroska muxers store each stream's duration as a ``DURATION`` tag (HH:MM:SS.fraction)."""
    for key, value in metadata.items():
        if key.upper() == "DURATION":
            match = _MATROSKA_DURATION.match(value.strip())
            if match:
                hours, minutes, seconds = match.groups()
                return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return None


def stream_frame_count(
    stream: VideoStream, fps: float | None, duration: float | None
) -> tuple[int | None, bool]:
    """(frame count, estimated): the container's count, else fps x duration (estimated)."""
    if stream.frames > 0:
        return int(stream.frames), False
    if fps is not None and duration is not None and math.isfinite(fps * duration):
        return max(1, round(fps * duration)), True
    return None, False


def _rotation(stream: VideoStream, frame: VideoFrame) -> int:
    """Clockwise display rotation in degrees, from the display matrix or a ``rotate`` tag."""
    counter_clockwise = frame.rotation
    if counter_clockwise:
        return _clockwise(counter_clockwise)
    tag = stream.metadata.get("rotate")
    if tag is not None:
        try:
            return round(float(tag)) % 360
        except ValueError:
            return 0
    return 0


def _clockwise(counter_clockwise: float) -> int:
    """FFmpeg's display-matrix angle is counter-clockwise; players rotate clockwise by this."""
    return round(-counter_clockwise) % 360


# --------------------------------------------------------------------------- helpers


def _decode_size(
    container: InputContainer, stream: VideoStream, failure: str, name: str
) -> tuple[VideoFrame, int, int]:
    """Decode the first frame and return it with the checked display size; ``failure`` is the
    MediaError message when nothing decodes."""
    declared = (int(stream.codec_context.width or 0), int(stream.codec_context.height or 0))
    if all(declared):  # the header's size, checked before a frame is decoded
        _check_dimensions(name, *declared)
    frame = _first_frame(container, stream)
    if frame is None:
        raise MediaError(failure)
    width = int(stream.codec_context.width or frame.width)
    height = int(stream.codec_context.height or frame.height)
    _check_dimensions(name, width, height)
    return frame, width, height


def _check_dimensions(name: str, width: int, height: int) -> None:
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise MediaError(
            f"{name}: implausible picture size {width}x{height} (each side must be 1 to "
            f"{MAX_DIMENSION} pixels); the header is probably corrupt. {_CHECK_ADVICE}"
        )
    refuse_oversized(name, width, height)


def describe_error(error: BaseException) -> str:
    """A one-line reason from an exception, with FFmpeg's own wording when there is one."""
    strerror = getattr(error, "strerror", None)
    if isinstance(strerror, str) and strerror:
        return f"FFmpeg: {strerror}"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def bmff_structure_problem(path: Path, size_bytes: int) -> str | None:
    """Say why an ISO BMFF file is structurally incomplete, from its top-level box headers.

    Only called after a failure, to turn FFmpeg's generic "Invalid data" into the usual cause:
    a file cut short (a box runs past the end) or never finalised (no ``moov`` index).
    """
    try:
        scan = scan_file(path, limit=_MAX_TOP_LEVEL_BOXES)
    except OSError:
        return None
    problems: list[str] = []
    if scan.invalid_at is not None:
        problems.append(f"the box at byte {scan.invalid_at} has an invalid size")
    if scan.overrun is not None:
        box = scan.overrun
        problems.append(
            f"its {_box_name(box.box_type.encode('latin-1'))} box at byte {box.offset} needs "
            f"{box.size} bytes but the file ends after {size_bytes - box.offset}"
        )
    if not scan.has("moov") and not (scan.overrun and scan.overrun.box_type == "moov"):
        problems.append("it has no 'moov' box (the index players need)")
    return "; ".join(problems) if problems else None


def _box_name(box_type: bytes) -> str:
    text = box_type.decode("latin-1")
    return repr(text) if text.isprintable() else repr(box_type)
