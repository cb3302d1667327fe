"""``provenance mark`` keeps the clip as it was: range, colour tags, rotation, frame rate,
timestamps and audio. Sources are written here with PyAV, each with tags unlike the defaults,
and marked for real (libx264)."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from provenance.cli import app
from provenance.media.probe import probe
from provenance.media.transcode import rewrite_luma
from provenance.testing.synth import synthetic_frame, write_clip
from provenance.watermark import keyed

KEY = "keeps the clip"
WIDTH, HEIGHT = 320, 240


@dataclass(frozen=True)
class Source:
    """A clip as a phone or an editor might write it."""

    suffix: str
    codec: str
    pix_fmt: str
    color_range: int  # AVColorRange: 1 limited, 2 full
    colorspace: int  # AVColorSpace (the YUV matrix)
    color_primaries: int
    color_trc: int
    clockwise: int  # display rotation a player applies
    hflip: bool = False
    rotate_tag: bool = False  # a legacy ``rotate`` stream tag instead of a display matrix
    rate: Fraction = Fraction(25)
    frame_ms: tuple[int, ...] | None = None  # variable frame rate: each frame's time in ms
    marked_suffix: str = ".mp4"


SOURCES = {
    # H.264 full range as yuvj420p, BT.601 matrix, BT.709 primaries, NTSC rate, rotated 90
    "phone_h264": Source(".mp4", "libx264", "yuvj420p", 2, 5, 1, 6, 90, rate=Fraction(30000, 1001)),
    # HEVC full range as yuv420p + pc tag, BT.2020 / HLG tags, mirrored 270, variable rate, .mov
    "phone_hevc_vfr": Source(
        ".mov",
        "libx265",
        "yuv420p",
        2,
        9,
        9,
        18,
        270,
        hflip=True,
        frame_ms=(0, 40, 80, 100, 140, 240, 260, 300, 333, 400, 500, 520, 560, 600, 680, 720),
        marked_suffix=".mov",
    ),
    # limited range, BT.709, rotation only as a legacy 'rotate' tag (NUT keeps stream tags)
    "limited_rotate_tag": Source(".nut", "libx264", "yuv420p", 1, 1, 1, 1, 180, rotate_tag=True),
}

# Kr, Kb of each AVColorSpace matrix used here; unspecified (2) is shown as BT.601, as players
# show standard-definition video.
MATRIX = {
    1: (0.2126, 0.0722),
    2: (0.299, 0.114),
    5: (0.299, 0.114),
    6: (0.299, 0.114),
    9: (0.2627, 0.0593),
}


def picture(index: int) -> np.ndarray:
    """Textured RGB whose luma spans 0-255 (the whole of a full range), with some colour."""
    grey = synthetic_frame(index, width=WIDTH, height=HEIGHT, seed=3)[..., :1].astype(np.int16)
    return np.clip(grey + np.array([-24, 0, 30], np.int16), 0, 255).astype(np.uint8)


def write_source(path: Path, source: Source) -> Path:
    """One second of textured video (frames in the source's own range) plus an AAC tone."""
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(source.codec, rate=source.rate)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, source.pix_fmt
        video.thread_type = "FRAME"
        video.color_range = source.color_range
        video.colorspace = source.colorspace
        video.color_primaries = source.color_primaries
        video.color_trc = source.color_trc
        if source.codec == "libx265":
            video.options = {"x265-params": "log-level=error"}
        if source.rotate_tag:
            video.metadata["rotate"] = str(source.clockwise)
        else:
            video.set_display_rotation(-source.clockwise, hflip=source.hflip)
        time_base = Fraction(1, 1000) if source.frame_ms else 1 / source.rate
        video.codec_context.time_base = time_base
        audio = container.add_stream("aac", rate=48000)
        times = source.frame_ms or tuple(range(round(source.rate)))
        for index, time in enumerate(times):
            rgb = av.VideoFrame.from_ndarray(picture(index), format="rgb24")
            # BT.709 or BT.601 samples; the tests read every file through its own tags
            frame = rgb.reformat(
                format=source.pix_fmt,
                dst_colorspace=1 if source.colorspace == 1 else 5,
                dst_color_range=source.color_range,
            )
            frame.pts, frame.time_base = time, time_base
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).astype(np.float32)
        for start in range(0, 48000, 1024):
            chunk = np.zeros((1, 1024), np.float32)
            chunk[0, : len(tone[start : start + 1024])] = tone[start : start + 1024]
            samples = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            samples.sample_rate, samples.pts, samples.time_base = 48000, start, Fraction(1, 48000)
            for packet in audio.encode(samples):
                container.mux(packet)
        for packet in audio.encode():
            container.mux(packet)
    return path


@dataclass
class Clip:
    """What a player reads from a file: the stream's tags, every frame and audio packet."""

    frames: list[av.VideoFrame]
    codec_tags: tuple[int, int, int, int]
    average_rate: Fraction | None
    audio_codec: str
    audio: list[tuple[bytes, Fraction]]


def read(path: Path) -> Clip:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        codec = video.codec_context
        tags = (codec.color_range, codec.colorspace, codec.color_primaries, codec.color_trc)
        audio_stream = container.streams.audio[0]
        frames, audio = [], []
        for packet in container.demux(video, audio_stream):
            if packet.stream is audio_stream:
                if packet.size and packet.pts is not None:
                    audio.append((bytes(packet), packet.pts * packet.time_base))
            else:
                frames.extend(packet.decode())
        return Clip(frames, tags, video.average_rate, audio_stream.codec_context.name, audio)


def planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """Y, U, V samples without row padding."""
    sizes = [(frame.height, frame.width)] + [(frame.height // 2, frame.width // 2)] * 2
    out = []
    for plane, (height, width) in zip(frame.planes, sizes, strict=True):
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        out.append(rows[:height, :width].astype(np.float64))
    return out


def displayed(frame: av.VideoFrame) -> np.ndarray:
    """The RGB a player shows: the frame's samples through its own range and matrix."""
    y, u, v = planes(frame)
    u, v = (np.kron(c, np.ones((2, 2))) for c in (u, v))
    if frame.color_range == 2 or frame.format.name.startswith("yuvj"):
        luma, cb, cr = y / 255, (u - 128) / 255, (v - 128) / 255
    else:
        luma, cb, cr = (y - 16) / 219, (u - 128) / 224, (v - 128) / 224
    kr, kb = MATRIX[frame.colorspace]
    red, blue = luma + 2 * (1 - kr) * cr, luma + 2 * (1 - kb) * cb
    green = (luma - kr * red - kb * blue) / (1 - kr - kb)
    return np.clip(np.round(np.stack([red, green, blue], -1) * 255), 0, 255)


def psnr(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    mse = np.mean([np.mean((a - b) ** 2) for a, b in zip(first, second, strict=True)])
    return 10 * math.log10(255**2 / float(mse))


def display_matrix(frame: av.VideoFrame) -> tuple[int, ...] | None:
    sides: Any = frame.side_data  # PyAV's stub calls it a TypedDict; it holds SideData
    for side in sides:
        if side.type is av.sidedata.sidedata.Type.DISPLAYMATRIX:
            return struct.unpack("=9i", bytes(side))
    return None


@pytest.fixture(scope="module", params=sorted(SOURCES))
def marked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Source, Path, Path]:
    source = SOURCES[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    original = write_source(folder / f"source{source.suffix}", source)
    output = folder / f"marked{source.marked_suffix}"
    keyed.mark_file(original, output, KEY)
    return source, original, output


def test_range_kept_full_range_marked_in_its_own_range(marked: tuple[Source, Path, Path]) -> None:
    source, original, output = marked
    before, after = read(original), read(output)
    assert after.codec_tags[0] == source.color_range == before.codec_tags[0]
    assert all(f.color_range == source.color_range for f in after.frames)
    luma_before = [planes(f)[0] for f in before.frames]
    luma_after = [planes(f)[0] for f in after.frames]
    # the samples are not converted: same level, the mark (42.5 dB) plus coding loss
    assert psnr(luma_before, luma_after) > 35
    assert abs(np.mean(luma_after) - np.mean(luma_before)) < 0.5
    low, high = np.percentile(luma_after, [0.5, 99.5])
    assert (low, high) == pytest.approx(tuple(np.percentile(luma_before, [0.5, 99.5])), abs=3)
    if source.color_range == 2:  # full range keeps its samples outside 16-235
        assert low < 16 < 235 < high


def test_displayed_picture_kept(marked: tuple[Source, Path, Path]) -> None:
    _, original, output = marked
    shown_before = [displayed(f) for f in read(original).frames]
    shown_after = [displayed(f) for f in read(output).frames]
    # full range written untagged (the old behaviour) showed at 27.6 dB here, limited 35.5 dB
    assert psnr(shown_before, shown_after) > 33


def test_colour_tags_kept(marked: tuple[Source, Path, Path]) -> None:
    source, original, output = marked
    expected = (source.colorspace, source.color_primaries, source.color_trc)
    assert read(original).codec_tags[1:] == expected
    assert read(output).codec_tags[1:] == expected
    frame = read(output).frames[0]
    assert (frame.colorspace, frame.color_primaries, frame.color_trc) == expected


def test_rotation_kept(marked: tuple[Source, Path, Path]) -> None:
    source, original, output = marked
    assert probe(original).rotation_degrees == source.clockwise
    assert probe(output).rotation_degrees == source.clockwise
    before, after = read(original).frames[0], read(output).frames[0]
    if not source.rotate_tag:  # the whole matrix, flips included
        assert display_matrix(after) == display_matrix(before) is not None


def test_frame_rate_kept(marked: tuple[Source, Path, Path]) -> None:
    source, original, output = marked
    before, after = read(original), read(output)
    if source.frame_ms is None:
        assert after.average_rate == before.average_rate == source.rate
        assert probe(output).fps == pytest.approx(probe(original).fps)
    else:
        # a variable rate's average counts the last frame's length, which each container
        # derives its own way: within one frame (the timestamps themselves are exact)
        assert before.average_rate is not None
        assert after.average_rate is not None
        assert abs(after.average_rate / before.average_rate - 1) < 1 / len(source.frame_ms)


def test_timestamps_kept(marked: tuple[Source, Path, Path]) -> None:
    source, original, output = marked

    def times(clip: Clip) -> list[Fraction]:
        return [f.pts * f.time_base for f in clip.frames]

    assert times(read(output)) == times(read(original))
    if source.frame_ms is not None:
        assert times(read(output)) == [Fraction(ms, 1000) for ms in source.frame_ms]


def test_audio_copied_not_reencoded(marked: tuple[Source, Path, Path]) -> None:
    _, original, output = marked
    before, after = read(original), read(output)
    assert after.audio_codec == before.audio_codec == "aac"
    assert len(after.audio) > 40
    assert [data for data, _ in after.audio] == [data for data, _ in before.audio]
    # same times; MP4 stores a track's start offset in its 1 ms movie timescale
    shifts = {
        after_time - before_time
        for (_, after_time), (_, before_time) in zip(after.audio, before.audio, strict=True)
    }
    assert len(shifts) == 1
    assert abs(shifts.pop()) < Fraction(1, 1000)


def test_marked_full_range_clip_is_detected(tmp_path: Path) -> None:
    original = write_source(tmp_path / "phone.mp4", SOURCES["phone_h264"])
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"{KEY}\n")
    runner = CliRunner()
    output = tmp_path / "marked.mp4"
    result = runner.invoke(app, ["mark", str(original), str(output), "--key-file", str(key_file)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["check", str(output), "--key-file", str(key_file), "--format", "json"]
    )
    states = {w["detector"]: w["state"] for w in json.loads(result.stdout)[0]["watermarks"]}
    assert states["keyed"] == "detected"


def test_rgb_source_is_tagged_as_converted(tmp_path: Path) -> None:
    original = tmp_path / "rgb.mov"
    frames = [synthetic_frame(i, width=WIDTH, height=HEIGHT, seed=4) for i in range(6)]
    with av.open(str(original), mode="w") as container:
        stream = container.add_stream("png", rate=6)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "rgb24"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    output = tmp_path / "marked.mp4"
    keyed.mark_file(original, output, KEY, crf=10)
    with av.open(str(output)) as container:
        decoded = list(container.decode(video=0))
    assert {(f.color_range, f.colorspace) for f in decoded} == {(1, 6)}  # limited, BT.601
    # shown as an encoder's own BT.601 limited-range conversion of the RGB is shown
    converted = [
        av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
            format="yuv420p", dst_colorspace=5, dst_color_range=1
        )
        for rgb in frames
    ]
    assert psnr([displayed(f) for f in converted], [displayed(f) for f in decoded]) > 33


def test_marking_never_writes_into_the_decoders_pictures(tmp_path: Path) -> None:
    # a limited-range 4:2:0 clip needs no conversion: the frames handed to the mark must
    # still be copies, or the mark leaks into the reference pictures of later frames
    original = write_clip(tmp_path / "plain.mp4", seconds=2.0, width=WIDTH, height=HEIGHT)
    seen: list[np.ndarray] = []

    def mark(luma: np.ndarray, _index: int) -> np.ndarray:
        seen.append(luma.copy())
        return keyed.embed_luma(luma, KEY)

    rewrite_luma(original, tmp_path / "marked.mp4", mark)
    with av.open(str(original)) as container:
        clean = [planes(f)[0] for f in container.decode(video=0)]
    assert len(seen) == len(clean) == 48
    assert all(np.array_equal(a, b) for a, b in zip(seen, clean, strict=True))


def test_destination_must_differ_from_source(tmp_path: Path) -> None:
    original = write_clip(tmp_path / "plain.mp4", seconds=0.2)
    with pytest.raises(ValueError, match="destination must differ"):
        rewrite_luma(original, original, lambda luma, _: luma)
    assert probe(original).frame_count == 5


def test_audio_the_destination_cannot_hold_is_a_clear_error(tmp_path: Path) -> None:
    original = tmp_path / "pcm.avi"
    with av.open(str(original), mode="w") as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        audio = container.add_stream("pcm_u8", rate=8000)
        for index in range(5):
            rgb = av.VideoFrame.from_ndarray(picture(index), format="rgb24")
            container.mux(video.encode(rgb))
        container.mux(video.encode())
        silence = av.AudioFrame.from_ndarray(np.full((1, 1600), 128, np.uint8), format="u8")
        silence.sample_rate, silence.pts = 8000, 0
        container.mux(audio.encode(silence))
        container.mux(audio.encode())
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"{KEY}\n")
    output = tmp_path / "marked.mp4"
    result = CliRunner().invoke(
        app, ["mark", str(original), str(output), "--key-file", str(key_file)]
    )
    assert result.exit_code == 3
    assert "audio cannot be copied" in result.stderr
    assert "write to .mkv" in result.stderr
    assert not output.exists()  # no partial file left behind
    result = CliRunner().invoke(
        app, ["mark", str(original), str(tmp_path / "marked.mkv"), "--key-file", str(key_file)]
    )
    assert result.exit_code == 0, result.output
