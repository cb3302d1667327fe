"""Frame sampling for the watermark detectors (provenance.media.frames)."""

from __future__ import annotations

import resource
import tracemalloc
import typing
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import provenance.media.frames as frames_module
from provenance.errors import MediaError
from provenance.media import probe
from provenance.media.frame import SampledFrame, bt601_luma
from provenance.media.frame_targets import AUTO_MAX_KEYFRAMES, AUTO_WHOLE_PIXELS, auto_targets
from provenance.media.frames import FrameSampler, sample_frames
from provenance.media.sampling import Sampling, SamplingMode, evenly_spaced_indices
from provenance.testing.synth import CONTAINER_CODECS, synthetic_frame, write_clip, write_image

WIDTH, HEIGHT, FPS, SECONDS = 128, 72, 25, 1.0
FRAMES = round(FPS * SECONDS)
SUFFIXES = sorted(CONTAINER_CODECS)
GOP = 12


# --------------------------------------------------------------------------- clip writers


def write_video(
    path: Path,
    *,
    frames: int,
    fps: int = FPS,
    width: int = WIDTH,
    height: int = HEIGHT,
    gop: int | None = None,
    codec: str | None = None,
    pixel_format: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Write synthetic_frame(0..frames-1) with PyAV, optionally with a fixed GOP length."""
    default_codec, default_format, _ = CONTAINER_CODECS.get(
        path.suffix, ("libx264", "yuv420p", None)
    )
    codec = codec or default_codec
    with av.open(str(path), mode="w") as container:
        stream = typing.cast("av.video.stream.VideoStream", container.add_stream(codec, rate=fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = pixel_format or default_format
        stream.thread_type = "FRAME"
        settings: dict[str, object] = dict(options or {})
        if gop is not None:
            stream.codec_context.gop_size = gop
            if codec == "libx264":  # no early key frames on scene cuts: exactly every `gop`
                settings.update({"keyint_min": str(gop), "sc_threshold": "0"})
        stream.options = settings
        for index in range(frames):
            rgb = synthetic_frame(index, width=width, height=height)
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def source_luma(index: int, *, width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """The BT.601 Y an encoder computes from synthetic frame ``index``."""
    rgb = synthetic_frame(index, width=width, height=height)
    return bt601_luma(np.ascontiguousarray(rgb[:, :, ::-1]))


def collect(path: Path, spec: str, **options: bool) -> list[SampledFrame]:
    return list(FrameSampler(path, Sampling.parse(spec), **options))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 1 s synthetic clip per container, as provenance.testing.synth writes them."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        suffix: write_clip(
            folder / f"clip{suffix}", seconds=SECONDS, fps=FPS, width=WIDTH, height=HEIGHT
        )
        for suffix in SUFFIXES
    }


@pytest.fixture(scope="module")
def gop_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """48 frames with a key frame every 12, per container."""
    folder = tmp_path_factory.mktemp("gop")
    return {
        suffix: write_video(folder / f"gop{suffix}", frames=4 * GOP, gop=GOP) for suffix in SUFFIXES
    }


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """40 s at 5 fps (200 tiny frames), GOP 12: long enough for EVENLY to seek."""
    folder = tmp_path_factory.mktemp("long")
    return {
        suffix: write_video(
            folder / f"long{suffix}", frames=200, fps=5, width=64, height=48, gop=GOP
        )
        for suffix in SUFFIXES
    }


# --------------------------------------------------------------------------- sampling modes


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_all_yields_every_frame_with_timestamps_one_frame_apart(
    clips: dict[str, Path], suffix: str
) -> None:
    sampler = FrameSampler(clips[suffix], Sampling(SamplingMode.ALL))
    frames = list(sampler)
    assert [frame.index for frame in frames] == list(range(FRAMES))
    times = np.array([frame.time_seconds for frame in frames], dtype=float)
    assert times[0] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(np.diff(times), 1 / FPS, atol=1e-3)
    assert frames[0].key_frame
    assert frames[0].picture_type == "I"
    assert {frame.picture_type for frame in frames} <= {"I", "P", "B"}
    for frame in frames:
        assert (frame.width, frame.height) == (WIDTH, HEIGHT)
        assert frame.luma.shape == (HEIGHT, WIDTH)
        assert frame.luma.dtype == np.uint8
        assert frame.luma.flags.c_contiguous
        assert frame.luma.flags.owndata
        assert frame.bgr is None
    assert sampler.kind == "video"
    assert sampler.expected_frames == FRAMES
    assert sampler.frames_decoded == sampler.frames_yielded == FRAMES
    assert sampler.complete
    assert not sampler.truncated
    assert sampler.error is None


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_every_nth_yields_indices_0_n_2n(clips: dict[str, Path], suffix: str) -> None:
    frames = collect(clips[suffix], "every:5")
    assert [frame.index for frame in frames] == list(range(0, FRAMES, 5))
    for frame in frames:
        assert frame.time_seconds == pytest.approx(frame.index / FPS, abs=1e-3)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_evenly_spreads_n_frames_over_the_clip(clips: dict[str, Path], suffix: str) -> None:
    sampler = FrameSampler(clips[suffix], Sampling(SamplingMode.EVENLY, 4))
    frames = list(sampler)
    assert len(frames) == 4
    assert sampler.target_indices == (0, 8, 16, 24)
    assert [frame.index for frame in frames] == [0, 8, 16, 24]
    times = [typing.cast("float", frame.time_seconds) for frame in frames]
    assert times[0] == pytest.approx(0.0, abs=1e-9)
    assert times[-1] == pytest.approx((FRAMES - 1) / FPS, abs=1e-3)
    assert times == sorted(times)
    assert sampler.complete


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_keyframes_yields_only_key_frames(gop_clips: dict[str, Path], suffix: str) -> None:
    sampler = FrameSampler(gop_clips[suffix])  # the default sampling is KEYFRAMES
    keyframes = list(sampler)
    assert [frame.index for frame in keyframes] == [0, 12, 24, 36]
    assert all(frame.key_frame and frame.picture_type == "I" for frame in keyframes)
    # The decoder only ever saw the key frames ...
    assert sampler.frames_decoded == 4
    # ... yet the end of the stream was checked: the clip is complete.
    assert sampler.frames_reached == 4 * GOP
    assert sampler.complete
    # Same frames, same indices and times as a full decode.
    everything = {frame.index: frame for frame in collect(gop_clips[suffix], "all")}
    assert [index for index, frame in everything.items() if frame.key_frame] == [0, 12, 24, 36]
    for frame in keyframes:
        twin = everything[frame.index]
        assert frame.time_seconds == pytest.approx(typing.cast("float", twin.time_seconds))
        np.testing.assert_array_equal(frame.luma, twin.luma)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_evenly_seeks_to_the_exact_frames(long_clips: dict[str, Path], suffix: str) -> None:
    path = long_clips[suffix]
    sampler = FrameSampler(path, Sampling(SamplingMode.EVENLY, 4))
    sampled = list(sampler)
    assert sampler.seeks >= 3  # each later target is more than a GOP (and 10 s) ahead
    assert sampler.target_indices == (0, 66, 133, 199)
    assert [frame.index for frame in sampled] == list(sampler.target_indices)
    everything = {frame.index: frame for frame in collect(path, "all")}
    for frame in sampled:
        # The requested time, within one frame, and the very frame a full decode gives.
        assert frame.time_seconds == pytest.approx(frame.index / 5, abs=1 / 5)
        np.testing.assert_array_equal(frame.luma, everything[frame.index].luma)
    assert sampler.frames_decoded < len(everything)  # seeking skipped work


def test_after_a_seek_unreferenced_pictures_before_a_target_are_not_decoded(
    tmp_path: Path,
) -> None:
    # x264's B-frames (three between references here) refer to others but no picture refers
    # to them: after a seek the decoder may drop those placed before the next target. The
    # frames read, their pixels and their quantisers stay what a full decode gives.
    path = write_video(tmp_path / "b.mp4", frames=200, fps=5, width=64, height=48, gop=GOP,
                       options={"x264-params": "bframes=3:b-pyramid=none:b-adapt=0"})  # fmt: skip
    sampler = FrameSampler(path, Sampling(SamplingMode.EVENLY, 4), quantisers=True)
    sampled = list(sampler)
    assert sampler.seeks >= 3
    assert [frame.index for frame in sampled] == [0, 66, 133, 199]
    everything = FrameSampler(path, Sampling(SamplingMode.ALL), quantisers=True)
    full = {frame.index: frame for frame in everything}
    for frame in sampled:
        np.testing.assert_array_equal(frame.luma, full[frame.index].luma)
        assert frame.mean_qp == full[frame.index].mean_qp
    # The same clip without B-frames (nothing to drop) decodes more frames for the same reads:
    # each seek's frames from the key frame to the target.
    plain = write_video(tmp_path / "p.mp4", frames=200, fps=5, width=64, height=48, gop=GOP,
                        options={"x264-params": "bframes=0"})  # fmt: skip
    again = FrameSampler(plain, Sampling(SamplingMode.EVENLY, 4), quantisers=True)
    assert [frame.index for frame in again] == [0, 66, 133, 199]
    assert again.seeks == sampler.seeks
    assert again.frames_decoded == 1 + sum(t - t // GOP * GOP + 1 for t in (66, 133, 199))
    assert sampler.frames_decoded < again.frames_decoded - 6  # 3 B-frames in every 4


@pytest.mark.parametrize(
    ("codec", "options", "most_decoded"),
    [
        ("libx264", {"x264-params": "bframes=3:b-pyramid=none:b-adapt=0"}, 30),
        ("libx264", {}, 50),
        ("libx264", {"x264-params": "bframes=0"}, 60),
        ("libx265", {"x265-params": "keyint=250:bframes=3:log-level=none"}, 45),
    ],
    ids=["b-frames", "b-pyramid", "no-b-frames", "hevc"],
)
def test_counted_indices_stay_right_when_unreferenced_pictures_are_dropped(
    tmp_path: Path, codec: str, options: dict[str, str], most_decoded: int
) -> None:
    # One key frame, so no seek: indices are counted from the start, and every picture the
    # decoder drops before a target must still be counted. (x264's default B-pyramid keeps
    # one B-frame in each run as a reference: it comes out although it was let drop.)
    path = write_video(tmp_path / "c.mp4", frames=60, fps=25, width=64, height=48, gop=250,
                       codec=codec, pixel_format="yuv420p", options=options)  # fmt: skip
    sampler = FrameSampler(path, Sampling(SamplingMode.EVENLY, 5), quantisers=True)
    sampled = list(sampler)
    assert sampler.seeks == 0
    assert [frame.index for frame in sampled] == [0, 15, 30, 44, 59]
    full = {f.index: f for f in FrameSampler(path, Sampling(SamplingMode.ALL), quantisers=True)}
    for frame in sampled:
        np.testing.assert_array_equal(frame.luma, full[frame.index].luma)
        assert frame.mean_qp == full[frame.index].mean_qp
        assert frame.time_seconds == pytest.approx(frame.index / 25)
    assert sampler.frames_decoded <= most_decoded


def test_pictures_are_dropped_only_where_the_codec_has_one_a_packet(tmp_path: Path) -> None:
    # MPEG-4 Part 2 with B-frames: its decoder would drop them, but AVI packs two pictures in
    # a packet, so its pictures are all decoded; what is read is the same either way.
    path = write_video(tmp_path / "m.mp4", frames=60, fps=25, width=64, height=48, gop=250,
                       codec="mpeg4", options={"bf": "2"})  # fmt: skip
    sampler = FrameSampler(path, Sampling(SamplingMode.EVENLY, 5))
    sampled = list(sampler)
    assert [frame.index for frame in sampled] == [0, 15, 30, 44, 59]
    full = {f.index: f for f in FrameSampler(path, Sampling(SamplingMode.ALL))}
    for frame in sampled:
        np.testing.assert_array_equal(frame.luma, full[frame.index].luma)
    assert sampler.frames_decoded == 60


def test_indices_agree_across_modes_when_the_first_frames_cannot_be_decoded(
    gop_clips: dict[str, Path], tmp_path: Path
) -> None:
    # A transport stream picked up mid-GOP (as a recording or a broadcast capture starts):
    # the decoder drops the frames before the first key frame.
    data = gop_clips[".ts"].read_bytes()
    path = tmp_path / "joined-late.ts"
    path.write_bytes(data[(len(data) * 3 // 10) // 188 * 188 :])
    everything = collect(path, "all")
    first = everything[0].index
    assert first > 0
    assert everything[0].key_frame
    assert [frame.index for frame in everything] == list(range(first, first + len(everything)))
    for frame in everything:
        assert frame.time_seconds == pytest.approx(frame.index / FPS, abs=1e-3)
    keyframes = collect(path, "keyframes")
    assert [frame.index for frame in keyframes] == [
        frame.index for frame in everything if frame.key_frame
    ]


def test_a_stream_joined_late_counts_from_its_first_picture_when_pictures_are_dropped(
    tmp_path: Path,
) -> None:
    # Cut mid-GOP, the decoder's first picture out is not the stream's first (its timestamp
    # places it); the B-frames dropped on the way to later targets are counted from there.
    whole = write_video(tmp_path / "b.ts", frames=96, gop=24,
                        options={"x264-params": "bframes=3:b-pyramid=none:b-adapt=0"})  # fmt: skip
    data = whole.read_bytes()
    path = tmp_path / "joined-late.ts"
    path.write_bytes(data[(len(data) * 3 // 10) // 188 * 188 :])
    full = {frame.index: frame for frame in collect(path, "all")}
    sampler = FrameSampler(path, Sampling(SamplingMode.EVENLY, 4))
    sampled = list(sampler)
    assert sampler.seeks == 0
    assert [frame.index for frame in sampled][1:] == [23, 46, 69]
    assert min(full) > 0  # (the first target, 0, is met by the first picture out)
    for frame in sampled:
        np.testing.assert_array_equal(frame.luma, full[frame.index].luma)
    assert sampler.frames_decoded < len(full) - 20  # B-frames were dropped


def test_evenly_falls_back_to_counting_packets_when_the_length_is_unknown(
    long_clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(frames_module, "stream_frame_count", lambda *_: (None, False))
    sampler = FrameSampler(long_clips[".mkv"], Sampling(SamplingMode.EVENLY, 3))
    assert [frame.index for frame in sampler] == [0, 100, 199]
    assert sampler.expected_frames == 200
    assert sampler.expected_frames_estimated


def test_evenly_with_more_frames_than_the_clip_yields_each_frame_once(
    clips: dict[str, Path],
) -> None:
    frames = collect(clips[".mkv"], f"evenly:{FRAMES + 10}")
    assert [frame.index for frame in frames] == list(range(FRAMES))


def test_evenly_spaced_indices() -> None:
    assert evenly_spaced_indices(25, 4) == (0, 8, 16, 24)
    assert evenly_spaced_indices(25, 1) == (0,)
    assert evenly_spaced_indices(25, 2) == (0, 24)
    assert evenly_spaced_indices(3, 10) == (0, 1, 2)
    assert evenly_spaced_indices(0, 4) == ()
    with pytest.raises(ValueError, match="count"):
        evenly_spaced_indices(10, 0)


@pytest.mark.parametrize("spec", ["keyframes", "all", "every:2", "evenly:10"])
def test_max_frames_caps_every_mode(gop_clips: dict[str, Path], spec: str) -> None:
    sampling = Sampling.parse(spec, max_frames=3)
    sampler = FrameSampler(gop_clips[".mp4"], sampling)
    frames = list(sampler)
    assert len(frames) == 3
    assert sampler.finished
    assert not sampler.truncated


def test_stopping_early_leaves_the_sampler_unfinished(clips: dict[str, Path]) -> None:
    sampler = FrameSampler(clips[".mp4"], Sampling(SamplingMode.ALL))
    for frame in sampler:
        assert frame.index == 0
        break
    assert not sampler.finished
    assert not sampler.complete
    # A new iteration starts again from the beginning.
    assert len(list(sampler)) == FRAMES


# --------------------------------------------------------------------------- pixels


@pytest.mark.parametrize(
    ("name", "codec", "pixel_format", "options"),
    [
        ("h264-lossless.mkv", "libx264", "yuv420p", {"qp": "0"}),
        ("ffv1.mkv", "ffv1", "yuv420p", {}),
        ("ffv1-444.mkv", "ffv1", "yuv444p", {}),
        ("ffv1-10bit.mkv", "ffv1", "yuv420p10le", {}),
        ("ffv1-rgb.mkv", "ffv1", "bgr0", {}),
    ],
)
def test_luma_is_the_y_plane_the_encoder_got(
    tmp_path: Path, name: str, codec: str, pixel_format: str, options: dict[str, str]
) -> None:
    # 200 px wide: the decoder pads lines (line_size > width), which must be trimmed.
    width, height = 200, 72
    path = write_video(
        tmp_path / name,
        frames=6,
        width=width,
        height=height,
        codec=codec,
        pixel_format=pixel_format,
        options=options,
    )
    frames = collect(path, "all", colour=True)
    assert len(frames) == 6
    for frame in frames:
        expected = source_luma(frame.index, width=width, height=height)
        assert frame.luma.shape == (height, width)
        difference = np.abs(frame.luma.astype(int) - expected.astype(int))
        assert difference.max() <= 2, f"{name}: frame {frame.index} differs by {difference.max()}"
        assert frame.bgr is not None
        assert frame.bgr.shape == (height, width, 3)
        assert frame.bgr.dtype == np.uint8


def test_luma_is_not_range_expanded_grey(tmp_path: Path) -> None:
    path = write_video(tmp_path / "lossless.mkv", frames=1, codec="ffv1")
    (frame,) = collect(path, "all")
    with av.open(str(path)) as container:
        decoded = next(container.decode(video=0))
        grey = decoded.to_ndarray(format="gray")
    assert not np.array_equal(frame.luma, grey)  # gray is stretched to 0..255
    assert int(frame.luma.min()) >= 16
    assert int(frame.luma.max()) <= 235
    # FFmpeg's RGB -> Y rounds slightly differently from OpenCV's: within 1.
    assert np.abs(frame.luma.astype(int) - source_luma(0).astype(int)).max() <= 1


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_colour_frames_have_the_right_shape(clips: dict[str, Path], suffix: str) -> None:
    frames = collect(clips[suffix], "every:10", colour=True)
    assert len(frames) == 3
    for frame in frames:
        assert frame.bgr is not None
        assert frame.bgr.shape == (HEIGHT, WIDTH, 3)
        assert frame.bgr.dtype == np.uint8
        # Colour and luma agree: BT.601 Y of the decoded BGR is close to the decoded Y.
        difference = np.abs(bt601_luma(frame.bgr).astype(int) - frame.luma.astype(int))
        assert np.median(difference) <= 2


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".webp", ".bmp", ".tiff"])
@pytest.mark.parametrize("colour", [False, True])
def test_images_give_exactly_one_frame(tmp_path: Path, suffix: str, colour: bool) -> None:
    path = write_image(tmp_path / f"image{suffix}", width=WIDTH, height=HEIGHT)
    sampler = FrameSampler(path, Sampling(SamplingMode.ALL), colour=colour)
    (frame,) = list(sampler)
    assert (frame.index, frame.time_seconds, frame.picture_type, frame.key_frame) == (
        0,
        None,
        "I",
        True,
    )
    assert frame.luma.shape == (HEIGHT, WIDTH)
    assert frame.luma.dtype == np.uint8
    if suffix in {".png", ".bmp", ".tiff"}:  # lossless: Y of the very pixels written
        np.testing.assert_array_equal(frame.luma, source_luma(0))
    if colour:
        assert frame.bgr is not None
        assert frame.bgr.shape == (HEIGHT, WIDTH, 3)
        np.testing.assert_array_equal(frame.luma, bt601_luma(frame.bgr))
    else:
        assert frame.bgr is None
    assert sampler.kind == "image"
    assert sampler.expected_frames == 1
    assert sampler.complete


def test_image_of_odd_size(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    bgr = rng.integers(0, 256, size=(51, 99, 3), dtype=np.uint8)
    path = tmp_path / "odd.png"
    assert cv2.imwrite(str(path), bgr)
    (frame,) = sample_frames(path, Sampling(SamplingMode.KEYFRAMES))
    assert frame.luma.shape == (51, 99)
    b, g, r = (bgr[:, :, channel].astype(np.int64) for channel in range(3))
    # OpenCV's fixed-point BT.601 limited range: Y = 16 + 0.257 R + 0.504 G + 0.098 B.
    expected = (269484 * r + 528482 * g + 102760 * b + (16 << 20) + (1 << 19)) >> 20
    np.testing.assert_array_equal(frame.luma, expected)


def test_image_luma_matches_the_luma_of_a_clip_made_from_it(tmp_path: Path) -> None:
    image = write_image(tmp_path / "still.png", width=WIDTH, height=HEIGHT)
    clip = write_video(tmp_path / "still.mkv", frames=1, codec="ffv1")  # same frame 0
    (still,) = sample_frames(image)
    (video,) = sample_frames(clip)
    assert np.abs(still.luma.astype(int) - video.luma.astype(int)).max() <= 1


def test_corrupt_image_raises_media_error(tmp_path: Path) -> None:
    path = write_image(tmp_path / "cut.jpg", width=WIDTH, height=HEIGHT)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(MediaError, match=r"cut\.jpg.*cannot be decoded"):
        list(sample_frames(path))


# --------------------------------------------------------------------------- broken input


@pytest.mark.parametrize("suffix", [".mkv", ".webm", ".avi"])
def test_truncated_clip_gives_partial_frames_and_reports_truncation(
    tmp_path: Path, suffix: str
) -> None:
    full = write_clip(tmp_path / f"full{suffix}", seconds=2.0, fps=FPS, width=WIDTH, height=HEIGHT)
    data = full.read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: int(len(data) * 0.6)])

    sampler = FrameSampler(cut, Sampling(SamplingMode.ALL))
    frames = list(sampler)
    assert 0 < len(frames) < 2 * FPS
    assert [frame.index for frame in frames] == list(range(len(frames)))
    assert sampler.finished
    assert sampler.truncated
    assert not sampler.complete
    assert sampler.expected_frames == 2 * FPS
    assert sampler.frames_decoded == len(frames)

    # KEYFRAMES notices it too, without decoding the rest.
    keyframes = FrameSampler(cut)
    assert len(list(keyframes)) >= 1
    assert keyframes.truncated

    # The strict generator yields the same frames, then raises naming the counts.
    yielded: list[SampledFrame] = []
    with pytest.raises(MediaError, match=rf"{len(frames)} decoded.*truncated"):
        yielded.extend(sample_frames(cut, Sampling(SamplingMode.ALL)))
    assert len(yielded) == len(frames)


def test_truncated_mp4_cannot_be_opened(tmp_path: Path) -> None:
    full = write_clip(tmp_path / "full.mp4", seconds=1.0, width=WIDTH, height=HEIGHT)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    with pytest.raises(MediaError, match=r"cut\.mp4: incomplete .*cut short"):
        list(FrameSampler(cut))


def test_complete_clips_are_not_reported_truncated(clips: dict[str, Path]) -> None:
    for path in clips.values():
        for spec in ("keyframes", "all", "evenly:3"):
            sampler = FrameSampler(path, Sampling.parse(spec))
            list(sampler)
            assert sampler.complete, (path.name, spec)
            assert list(sample_frames(path, Sampling.parse(spec)))  # and nothing is raised


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"this is plain text, not a video\n" * 20, "not a readable media file"),
    ],
)
def test_unreadable_files_raise_media_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=message):
        list(sample_frames(path))


def test_clip_without_frames_is_an_error_not_an_empty_result(tmp_path: Path) -> None:
    # A fragmented MP4's initialisation segment: a valid header and track, but no samples.
    fragmented = tmp_path / "fragmented.mp4"
    with av.open(
        str(fragmented), mode="w", options={"movflags": "frag_keyframe+empty_moov"}
    ) as container:
        stream = container.add_stream("ffv1", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        rgb = synthetic_frame(0, width=WIDTH, height=HEIGHT)
        for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = fragmented.read_bytes()
    path = tmp_path / "empty.mp4"
    path.write_bytes(data[: data.index(b"moof") - 4])
    sampler = FrameSampler(path, Sampling(SamplingMode.ALL))
    assert list(sampler) == []
    assert sampler.error is not None
    assert "no video frame could be decoded" in sampler.error
    assert not sampler.complete
    with pytest.raises(MediaError, match=r"empty\.mp4: no video frame could be decoded"):
        list(sample_frames(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"%PDF-1.7\n" + b"x" * 100, "PDF document, not video or an image"),
        (b"\x00\x00\x00\x18styp" + b"msdh" * 4 + b"\x00" * 64, "cannot be read on its own"),
    ],
)
def test_non_media_is_refused_with_advice(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "thing.bin"
    path.write_bytes(content)
    with pytest.raises(MediaError, match=message):
        list(FrameSampler(path))


def test_missing_file_raises_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="cannot read the file"):
        next(iter(FrameSampler(tmp_path / "nowhere.mkv")))


def test_audio_only_file_has_no_frames_to_sample(tmp_path: Path) -> None:
    path = tmp_path / "tone.wav"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        samples = np.zeros((1, 800), dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(MediaError, match="no video stream"):
        list(sample_frames(path))


# --------------------------------------------------------------------------- Sampling


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("keyframes", Sampling(SamplingMode.KEYFRAMES)),
        ("all", Sampling(SamplingMode.ALL)),
        (" ALL ", Sampling(SamplingMode.ALL)),
        ("every:5", Sampling(SamplingMode.EVERY_NTH, 5)),
        ("every_nth:5", Sampling(SamplingMode.EVERY_NTH, 5)),
        ("evenly:16", Sampling(SamplingMode.EVENLY, 16)),
        ("auto", Sampling(SamplingMode.AUTO, 8)),
        ("auto:3", Sampling(SamplingMode.AUTO, 3)),
    ],
)
def test_parse(text: str, expected: Sampling) -> None:
    assert Sampling.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "some", "every", "every:", "every:x", "evenly:0", "all:3", "auto:0"]
)
def test_parse_rejects_bad_text_with_usage(text: str) -> None:
    with pytest.raises(ValueError, match=r"use 'auto', 'keyframes', 'all', 'every:N'"):
        Sampling.parse(text)


def test_sampling_string_round_trips() -> None:
    for text in ("keyframes", "all", "every:5", "evenly:16", "auto", "auto:3"):
        assert str(Sampling.parse(text)) == text
    # String values are accepted at run time (e.g. from configuration files).
    assert Sampling("evenly", 3).mode is SamplingMode.EVENLY  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"n": 0}, "n must be an integer >= 1"),
        ({"n": -3}, "n must be an integer >= 1"),
        ({"n": 2.5}, "n must be an integer >= 1"),
        ({"n": True}, "n must be an integer >= 1"),
        ({"max_frames": 0}, "max_frames must be None or an integer >= 1"),
        ({"mode": "sometimes"}, "mode must be one of 'keyframes', 'every_nth'"),
    ],
)
def test_bad_sampling_values_name_the_parameter(
    arguments: dict[str, object], parameter: str
) -> None:
    with pytest.raises(ValueError, match=parameter):
        Sampling(**arguments)  # type: ignore[arg-type]


def test_frame_sampler_rejects_a_non_sampling() -> None:
    with pytest.raises(TypeError, match="Sampling"):
        FrameSampler("clip.mp4", "all")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- memory, imports


def test_sampling_all_frames_of_a_long_clip_keeps_memory_bounded(tmp_path: Path) -> None:
    width, height, fps, seconds = 640, 360, 15, 20
    count = fps * seconds
    path = write_video(
        tmp_path / "long.mp4",
        frames=count,
        fps=fps,
        width=width,
        height=height,
        options={"preset": "ultrafast"},
    )
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        total = 0
        checksum = 0
        for frame in sample_frames(path, Sampling(SamplingMode.ALL), colour=True):
            total += frame.luma.nbytes + typing.cast("np.ndarray", frame.bgr).nbytes
            checksum += int(frame.luma[0, 0])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_growth_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before_kib) / 1024
    frame_bytes = width * height * 4  # luma + BGR of one frame
    assert total == count * frame_bytes  # 276 MB went through ...
    assert peak < 3 * frame_bytes  # ... but at most one frame's arrays at a time (+ slack)
    assert rss_growth_mib < 60, f"peak RSS grew by {rss_growth_mib:.0f} MiB"
    assert checksum > 0


# --------------------------------------------------------------------------- real clips


@pytest.mark.shared
def test_real_camera_clips_keyframes(shared_dir: Path) -> None:
    clips = sorted((shared_dir / "fixtures" / "natural").glob("*.mkv"))
    assert clips, "no natural .mkv fixtures"
    for path in clips:
        info = probe(path)
        sampler = FrameSampler(path)
        keyframes = list(sampler)
        assert keyframes, path.name
        assert keyframes[0].index == 0
        assert keyframes[0].time_seconds == 0.0
        for frame in keyframes:
            assert frame.key_frame
            assert frame.picture_type == "I"
            assert frame.luma.shape == (info.height, info.width)
        times = [typing.cast("float", frame.time_seconds) for frame in keyframes]
        assert times == sorted(times)
        assert sampler.complete, path.name


@pytest.mark.shared
def test_real_camera_clip_evenly_matches_a_full_decode(shared_dir: Path) -> None:
    path = shared_dir / "fixtures" / "natural" / "asl_gestures_book.mkv"
    everything = {frame.index: frame.luma for frame in collect(path, "all")}
    sampled = collect(path, "evenly:5")
    assert len(sampled) == 5
    assert sampled[0].index == 0
    assert sampled[-1].index == max(everything)
    for frame in sampled:
        np.testing.assert_array_equal(frame.luma, everything[frame.index])


@pytest.mark.shared
def test_real_heic_image_decodes_through_ffmpeg(shared_dir: Path) -> None:
    path = shared_dir / "fixtures" / "c2pa" / "trustnxt-icon-signed-v2-bmff.heic"
    info = probe(path)
    sampler = FrameSampler(path, colour=True)
    (frame,) = list(sampler)
    assert (frame.index, frame.time_seconds, frame.picture_type) == (0, None, "I")
    assert frame.luma.shape == (info.height, info.width)
    assert frame.bgr is not None
    assert frame.bgr.shape == (info.height, info.width, 3)
    assert sampler.kind == "image"
    assert sampler.complete


def test_quantisers_are_read_exactly_every_time(tmp_path: Path) -> None:
    # With frame threading FFmpeg exported stale QP maps for 1-2 % of H.264 frames (all zero,
    # or another frame's), so the same clip read as "too compressed" on one run and not on the
    # next. Every read must give the same, plausible figures.
    clip = write_clip(tmp_path / "qp.mp4", seconds=1.0, seed=1)
    readings = [
        [f.mean_qp for f in FrameSampler(clip, Sampling.parse("evenly:8"), quantisers=True)]
        for _ in range(25)
    ]
    first = readings[0]
    assert all(qp is not None and 10 < qp < 52 for qp in first)
    assert all(reading == first for reading in readings)
    plain = [f.mean_qp for f in FrameSampler(clip, Sampling.parse("evenly:8"))]
    assert plain == [None] * 8  # not asked for: not read


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_the_mean_quantiser_is_the_mean_of_the_qp_map(tmp_path: Path, codec: str) -> None:
    # the mean is read from the side data's block table (fast); it must equal PyAV's qp_map
    from av.sidedata.sidedata import Type

    from provenance.media.frame import frame_mean_qp

    clip = write_clip(tmp_path / "qp.mp4", seconds=1.0, seed=4, codec=codec, width=328, height=248)
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        stream.codec_context.options = {"export_side_data": "venc_params"}
        checked = 0
        for frame in container.decode(stream):
            params = frame.side_data.get(Type.VIDEO_ENC_PARAMS)  # type: ignore[call-overload]
            expected = float(np.mean(params.qp_map()))
            if codec == "mpeg4":  # the MPEG-2 family is converted to the H.264 scale
                expected = 12.0 + 6.0 * np.log2(max(expected, 1.0) / 1.7)
            assert frame_mean_qp(frame) == pytest.approx(expected, abs=1e-9)
            checked += 1
    assert checked == 24


def test_reading_the_quantisers_leaves_no_frame_to_the_garbage_collector(tmp_path: Path) -> None:
    # PyAV's frame.side_data ties the frame and its side data in a reference cycle, so each
    # frame read that way (and the decoder picture it holds) waited for a full collection:
    # the decoder's pool grew by a picture per frame. Read our way, frames go with their
    # last reference.
    import gc

    from provenance.media.frame import frame_mean_qp

    clip = write_clip(tmp_path / "qp.mp4", seconds=1.0, seed=5)

    def live_frames() -> int:
        return sum(isinstance(o, av.VideoFrame) for o in gc.get_objects())

    def left_after(read: typing.Callable[[av.VideoFrame], object]) -> tuple[list[object], int]:
        gc.collect()
        gc.disable()
        try:
            before = live_frames()
            container = av.open(str(clip))
            stream = container.streams.video[0]
            stream.codec_context.options = {"export_side_data": "venc_params"}
            readings = [read(frame) for frame in container.decode(stream)]
            container.close()
            del container, stream  # the decoder keeps its last frame until it goes
            return readings, live_frames() - before
        finally:
            gc.enable()

    readings, left = left_after(frame_mean_qp)
    assert len(readings) == 24
    assert all(qp is not None for qp in readings)
    assert left == 0
    _, held = left_after(lambda frame: frame.side_data)  # PyAV's own way: the cycle
    assert held == 24


# --------------------------------------------------------------------------- auto (the default)


def test_auto_reads_a_short_clip_whole(clips: dict[str, Path]) -> None:
    sampler = FrameSampler(clips[".mp4"], Sampling.parse("auto"))
    indices = [frame.index for frame in sampler]
    assert indices == list(range(FRAMES))
    assert sampler.target_indices == ()
    assert sampler.complete


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
@pytest.mark.parametrize("preset", ["ultrafast", "medium"])
def test_auto_reads_every_key_frame_and_evenly_spaced_frames_of_a_long_clip(
    tmp_path: Path, suffix: str, preset: str
) -> None:
    # 1024 x 576 x 150 frames is past the whole-clip budget; a key frame every 40 frames.
    # Matroska indexes its key frames lazily, so there the key frames come from a demux pass.
    # "medium" has B frames: MP4's index then holds decode times, 2 frames before the key
    # frames are shown (read as they were, auto aimed at the P frame before each key frame).
    path = write_video(
        tmp_path / f"long{suffix}",
        frames=150,
        width=1024,
        height=576,
        gop=40,
        codec="libx264",
        pixel_format="yuv420p",
        options={"preset": preset},
    )
    sampler = FrameSampler(path, Sampling.parse("auto"))
    read = list(sampler)
    keys = [0, 40, 80, 120]
    evenly = list(evenly_spaced_indices(150, 8))
    assert sampler.target_indices == tuple(sorted(set(keys) | set(evenly)))
    assert [frame.index for frame in read] == list(sampler.target_indices)
    assert all(frame.picture_type == "I" for frame in read if frame.index in keys)
    assert sampler.complete
    full = {frame.index: frame.luma for frame in collect(path, "all")}
    assert all(np.array_equal(frame.luma, full[frame.index]) for frame in read)


def test_auto_bounds_the_key_frames_of_a_long_clip() -> None:
    keys = list(range(0, 100_000, 25))  # a key frame a second for over an hour at 25 fps
    targets = auto_targets(100_000, 1920, 1080, 8, keys)
    assert targets is not None
    chosen_keys = [index for index in targets if index in set(keys)]
    assert len(chosen_keys) <= AUTO_MAX_KEYFRAMES + 8
    assert len(targets) <= AUTO_MAX_KEYFRAMES + 8
    assert targets[0] == 0
    assert targets[-1] == 99_999
    # under the budget: the whole clip (None), whatever the key frames
    assert auto_targets(25, 1024, 576, 8, [0]) is None
    assert auto_targets(AUTO_WHOLE_PIXELS // (1920 * 1080) + 1, 1920, 1080, 8, [0]) is not None
