"""Watermark detection inside the check: evidence, states, verdicts, containers, damage."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from provenance import CheckOptions, check
from provenance.media.sampling import Sampling, SamplingMode
from provenance.report import VerdictCode, WatermarkState
from provenance.testing.pki import generate_pki
from provenance.testing.signing import sign_file
from provenance.testing.synth import CONTAINER_CODECS, write_clip
from provenance.watermark import SDXL, dwtdct_embed, keyed, keyed_clip
from provenance.watermark.detect import detect_watermarks
from provenance.watermark.keys import key_fingerprint
from provenance.watermark.options import CropSearch, WatermarkOptions

KEY = "newsroom-test-key"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


def textured_bgr(height: int, width: int, seed: int) -> np.ndarray:
    """A colour picture with smooth shapes and fine texture (a stand-in for a photo)."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(
        rng.integers(0, 255, (height // 48 + 2, width // 48 + 2, 3), dtype=np.uint8),
        (width, height),
        interpolation=cv2.INTER_CUBIC,
    ).astype(np.float32)
    fine = cv2.GaussianBlur(rng.normal(0, 18, (height, width, 3)).astype(np.float32), (0, 0), 1.0)
    return np.clip(coarse + fine, 0, 255).astype(np.uint8)


def sdxl_marked(bgr: np.ndarray) -> np.ndarray:
    """Marked as SDXL/SVD do it: float32 embedding, then rounded back to 8 bits."""
    marked = dwtdct_embed.embed(bgr, SDXL, domain="float32")
    return np.clip(np.rint(marked), 0, 255).astype(np.uint8)


def write_frames(
    path: Path,
    frames: int,
    make: Callable[[int], np.ndarray],
    *,
    fps: int = 24,
    codec: str | None = None,
    pix_fmt: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Write BGR frames with PyAV; the container follows the suffix."""
    default_codec, default_fmt, _ = CONTAINER_CODECS.get(path.suffix, ("libx264", "yuv420p", None))
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec or default_codec, rate=Fraction(fps))
        first = make(0)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = pix_fmt or default_fmt
        stream.options = options or {}
        for index in range(frames):
            picture = first if index == 0 else make(index)
            frame = av.VideoFrame.from_ndarray(picture, format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def panning(base: np.ndarray, step: int = 2) -> Callable[[int], np.ndarray]:
    def make(index: int) -> np.ndarray:
        shift = np.float32([[1, 0, -index * step], [0, 1, 0]])
        size = (base.shape[1], base.shape[0])
        return np.asarray(cv2.warpAffine(base, shift, size, borderMode=cv2.BORDER_REFLECT))

    return make


def keyed_frames(base: np.ndarray, key: str | None) -> Callable[[int], np.ndarray]:
    move = panning(base)

    def make(index: int) -> np.ndarray:
        picture = move(index)
        if key is None:
            return picture
        yuv = cv2.cvtColor(picture, cv2.COLOR_BGR2YCrCb)
        yuv[:, :, 0] = keyed.embed_luma(yuv[:, :, 0], key)
        return np.asarray(cv2.cvtColor(yuv, cv2.COLOR_YCrCb2BGR))

    return make


def evidence(report, detector: str):  # type: ignore[no-untyped-def]
    found = [w for w in report.watermarks if w.detector == detector]
    assert len(found) == 1, report.watermarks
    return found[0]


# --------------------------------------------------------------------------- images


def test_marked_png_is_detected_and_unmarked_is_not(tmp_path: Path) -> None:
    picture = textured_bgr(576, 1024, seed=1)
    cv2.imwrite(str(tmp_path / "marked.png"), sdxl_marked(picture))
    cv2.imwrite(str(tmp_path / "plain.png"), picture)

    marked = check(tmp_path / "marked.png")
    mark = evidence(marked, "dwtdct")
    assert mark.state is WatermarkState.DETECTED
    assert mark.mark == "sdxl"
    assert mark.hypothesis is not None
    assert mark.hypothesis.startswith("float32-bgr")
    assert mark.statistic is not None
    assert mark.threshold is not None
    assert mark.statistic > 3 * mark.threshold
    assert mark.false_positive_rate == pytest.approx(1e-6)
    assert mark.hypotheses_tested > 20  # 5 payloads x 4 hypotheses, plus the crop search
    # the numbers behind the message are fields of the evidence
    assert mark.payload_bits == 48
    assert mark.matched_bits is not None
    assert mark.matched_bits >= 45
    assert f"{mark.matched_bits}/48 bits" in (mark.message or "")
    assert (mark.frames_read, mark.frames_used, mark.frames_over_threshold) == (1, 1, 1)
    assert mark.frames_skipped == {}
    assert marked.verdict.code is VerdictCode.AI_WATERMARK
    assert any("public" in caveat for caveat in marked.verdict.caveats)

    plain = check(tmp_path / "plain.png")
    mark = evidence(plain, "dwtdct")
    assert mark.state is WatermarkState.NOT_DETECTED
    assert mark.mark is None
    assert mark.statistic is not None
    assert mark.threshold is not None
    assert mark.statistic < mark.threshold
    assert plain.verdict.code is VerdictCode.NO_SIGNAL
    assert any("does not mean authentic" in caveat for caveat in plain.verdict.caveats)


def test_cropped_marked_image_is_found_by_the_crop_search(tmp_path: Path) -> None:
    marked = sdxl_marked(textured_bgr(600, 800, seed=2))
    cv2.imwrite(str(tmp_path / "crop.png"), marked[37:551, 51:771])
    found = evidence(check(tmp_path / "crop.png"), "dwtdct")
    assert found.state is WatermarkState.DETECTED
    assert found.mark == "sdxl"
    assert found.hypothesis is not None
    assert "crop search" in found.hypothesis

    off = CheckOptions(watermarks=WatermarkOptions(crop_search=CropSearch.OFF))
    missed = evidence(check(tmp_path / "crop.png", off), "dwtdct")
    assert missed.state is WatermarkState.NOT_DETECTED  # the reference alignment cannot see it


def test_small_and_flat_images_are_inconclusive_with_a_reason(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "small.png"), textured_bgr(200, 200, seed=3))
    cv2.imwrite(str(tmp_path / "grey.png"), np.full((512, 512, 3), 128, np.uint8))
    small = evidence(check(tmp_path / "small.png"), "dwtdct")
    assert small.state is WatermarkState.INCONCLUSIVE
    assert small.message is not None
    assert "256" in small.message
    assert (small.frames_read, small.frames_used, small.frames_skipped) == (1, 0, {"small": 1})
    grey = evidence(check(tmp_path / "grey.png"), "dwtdct")
    assert grey.state is WatermarkState.INCONCLUSIVE
    assert grey.message is not None
    assert "flat" in grey.message
    assert (grey.frames_read, grey.frames_used, grey.frames_skipped) == (1, 0, {"flat": 1})
    report = check(tmp_path / "grey.png")
    assert any("could not be checked" in caveat for caveat in report.verdict.caveats)


def test_keyed_frames_below_the_key_tile_are_inconclusive_not_absent(tmp_path: Path) -> None:
    # Below one key tile (128 pixels) the keyed mark cannot be read, so a clip of such frames
    # must not say "not detected"; a frame of one tile still carries a readable mark.
    options = CheckOptions(watermarks=WatermarkOptions(keys=(KEY,)))
    small = evidence(
        check(write_clip(tmp_path / "small.mp4", width=96, height=96), options), "keyed"
    )
    assert small.state is WatermarkState.INCONCLUSIVE
    assert small.message is not None
    assert f"{keyed.TILE}-pixel" in small.message
    assert small.frames_skipped == {"small": small.frames_read}
    assert small.frames_read > 0
    tile = write_frames(
        tmp_path / "tile.mp4",
        12,
        lambda i: textured_bgr(keyed.TILE, keyed.TILE, seed=i),
        options={"crf": "18"},
    )
    unmarked = evidence(check(tile, options), "keyed")
    assert unmarked.state is WatermarkState.NOT_DETECTED
    marked = tmp_path / "tile_marked.mp4"
    keyed.mark_file(tile, marked, KEY)
    assert evidence(check(marked, options), "keyed").state is WatermarkState.DETECTED


def test_hypotheses_that_could_not_be_tested_are_named(tmp_path: Path) -> None:
    # Chroma only under the BGR reading: B carries texture and G follows it so that the U plane
    # of the channel-swapped (RGB) reading is constant. A mark embedded under an RGB hypothesis
    # could not be read here, so "not detected" must say that it was not ruled out.
    rng = np.random.default_rng(1)
    blue = cv2.GaussianBlur(rng.uniform(60, 200, (512, 512)).astype(np.float32), (0, 0), 2)
    red = np.full_like(blue, 128.0)
    green = (0.886 * red - 0.299 * blue - 0.886 * 128 + 0.299 * 130 + 0.587 * 120) / 0.587
    picture = np.clip(np.rint(np.dstack([blue, green, red])), 0, 255).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "half_flat.png"), picture)
    found = evidence(check(tmp_path / "half_flat.png"), "dwtdct")
    assert found.state is WatermarkState.NOT_DETECTED
    assert found.message is not None
    assert "could not test under 2 embedding hypotheses" in found.message
    assert "float32-rgb" in found.message
    assert "uint8-rgb" in found.message
    assert "bgr" not in found.message.split("could not test")[1]
    textured = tmp_path / "textured.png"
    cv2.imwrite(str(textured), textured_bgr(512, 512, seed=4))
    plain = evidence(check(textured), "dwtdct")
    assert plain.message is not None
    assert "could not test" not in plain.message


def test_a_flat_opening_frame_does_not_mark_hypotheses_untested(tmp_path: Path) -> None:
    # The black first frame cannot be tested under any hypothesis, but the textured frames after
    # it test them all: no hypothesis stays untested, so the note must not appear.
    picture = textured_bgr(480, 640, seed=6)
    black = np.zeros_like(picture)
    clip = write_frames(
        tmp_path / "fade_in.mkv", 8, lambda index: black if index == 0 else picture,
        codec="ffv1", pix_fmt="bgr0",
    )  # fmt: skip
    found = evidence(check(clip), "dwtdct")
    assert found.state is WatermarkState.NOT_DETECTED
    assert found.message is not None
    assert "could not test" not in found.message


def test_capture_credentials_with_an_ai_watermark_are_a_conflict(tmp_path: Path) -> None:
    pki = generate_pki(tmp_path / "pki")
    cv2.imwrite(str(tmp_path / "raw.png"), sdxl_marked(textured_bgr(512, 768, seed=4)))
    signed = sign_file(
        tmp_path / "raw.png",
        tmp_path / "signed.png",
        pki=pki,
        digital_source_type=IPTC + "digitalCapture",
    )
    options = CheckOptions(extra_anchors=(pki.root_pem,))
    report = check(signed, options)
    assert evidence(report, "dwtdct").state is WatermarkState.DETECTED
    assert VerdictCode.AI_WATERMARK in report.verdict.labels
    assert any("camera capture" in conflict for conflict in report.verdict.conflicts)


def test_audio_only_file_says_watermarks_were_not_checked(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "tone.mp4", seconds=1.0, audio=True)
    audio = tmp_path / "tone.m4a"
    with av.open(str(clip)) as source, av.open(str(audio), "w", format="ipod") as target:
        stream = target.add_stream_from_template(source.streams.audio[0])
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = stream
                target.mux(packet)
    found = evidence(check(audio), "dwtdct")
    assert found.state is WatermarkState.NOT_CHECKED
    assert found.message is not None
    assert "audio" in found.message


def test_credentials_only_runs_no_detector(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "marked.png"), sdxl_marked(textured_bgr(512, 512, seed=5)))
    report = check(tmp_path / "marked.png", CheckOptions(credentials_only=True))
    assert report.watermarks == ()
    assert any("not checked" in caveat for caveat in report.verdict.caveats)


# --------------------------------------------------------------------------- clips


@pytest.fixture(scope="module")
def base_picture() -> np.ndarray:
    return textured_bgr(480, 640, seed=6)


def test_keyed_clip_detected_with_its_key_only(tmp_path: Path, base_picture: np.ndarray) -> None:
    clip = write_frames(
        tmp_path / "keyed.mp4", 48, keyed_frames(base_picture, KEY), options={"crf": "23"}
    )
    with_key = check(clip, CheckOptions(watermarks=WatermarkOptions(keys=(KEY,))))
    mark = evidence(with_key, "keyed")
    assert mark.state is WatermarkState.DETECTED
    assert mark.mark == f"keyed:{key_fingerprint(KEY)}"
    assert KEY not in with_key.to_dict().__repr__()  # the secret never reaches the report
    assert mark.statistic is not None
    assert mark.threshold is not None
    assert mark.statistic > mark.threshold
    assert mark.frames_used == 48  # a short clip is read whole by default
    assert mark.segments
    assert all(segment.detected for segment in mark.segments)
    assert with_key.verdict.code is VerdictCode.AI_WATERMARK
    assert mark.summed_statistic is not None
    assert mark.best_frame_statistic is not None
    assert mark.statistic in (mark.summed_statistic, mark.best_frame_statistic)
    assert mark.frames_over_threshold is not None
    assert 1 <= mark.frames_over_threshold <= mark.frames_used

    wrong = check(clip, CheckOptions(watermarks=WatermarkOptions(keys=("another key",))))
    other = evidence(wrong, "keyed")
    assert other.state is WatermarkState.NOT_DETECTED
    assert other.statistic is not None
    assert other.threshold is not None
    assert other.statistic < other.threshold

    default = check(clip)
    assert [w.detector for w in default.watermarks] == ["dwtdct"]


def test_spliced_clip_shows_marked_and_unmarked_segments(
    tmp_path: Path, base_picture: np.ndarray
) -> None:
    # a scene cut: the second half is another picture, unmarked (the encoder starts a new GOP)
    marked = keyed_frames(base_picture, KEY)
    plain = keyed_frames(textured_bgr(480, 640, seed=66), None)
    clip = write_frames(
        tmp_path / "spliced.mp4",
        96,
        lambda index: marked(index) if index < 48 else plain(index),
        options={"crf": "20"},
    )
    options = CheckOptions(
        watermarks=WatermarkOptions(keys=(KEY,), sampling=Sampling(SamplingMode.EVERY_NTH, 3))
    )
    mark = evidence(check(clip, options), "keyed")
    assert mark.state is WatermarkState.DETECTED
    flags = [segment.detected for segment in mark.segments]
    assert flags[:2] == [True, True]
    assert flags[2:] == [False, False]


def test_sdxl_marked_clip_detected_on_lightly_compressed_frames(
    tmp_path: Path, base_picture: np.ndarray
) -> None:
    picture = textured_bgr(576, 1024, seed=7)
    move = panning(picture)
    clip = write_frames(
        tmp_path / "svd.mp4", 24, lambda i: sdxl_marked(move(i)), options={"crf": "16"}
    )
    mark = evidence(check(clip), "dwtdct")
    assert mark.state is WatermarkState.DETECTED
    assert mark.mark == "sdxl"
    assert mark.segments  # per-second windows of the best frame z
    assert mark.frames_read == 24  # a short clip is read whole by default
    assert mark.frames_over_threshold is not None
    assert 1 <= mark.frames_over_threshold <= mark.frames_used
    assert f"{mark.frames_over_threshold} of {mark.frames_used} decoded frames" in (
        mark.message or ""
    )

    unmarked = write_frames(tmp_path / "plain.mp4", 24, move, options={"crf": "16"})
    assert evidence(check(unmarked), "dwtdct").state is WatermarkState.NOT_DETECTED


def test_strongly_compressed_clip_is_inconclusive_for_dwtdct(
    tmp_path: Path, base_picture: np.ndarray
) -> None:
    clip = write_frames(tmp_path / "crf35.mp4", 24, panning(base_picture), options={"crf": "35"})
    report = check(clip)
    mark = evidence(report, "dwtdct")
    assert mark.state is WatermarkState.INCONCLUSIVE
    assert mark.message is not None
    assert "compressed too strongly" in mark.message
    assert mark.frames_skipped == {"compressed": mark.frames_read}
    assert mark.highest_quantiser is not None
    assert mark.highest_quantiser > 26
    # the state says it could not be checked; the reasons do not say it again
    assert not mark.message.lower().startswith("could not")
    caveats = [c for c in report.verdict.caveats if c.startswith("Watermark dwtdct")]
    assert caveats == [f"Watermark dwtdct could not be checked: {mark.message}"]


@pytest.mark.parametrize("suffix", sorted(CONTAINER_CODECS))
def test_keyed_mark_found_in_every_container(
    tmp_path: Path, base_picture: np.ndarray, suffix: str
) -> None:
    options = {"crf": "20"} if CONTAINER_CODECS[suffix][0] == "libx264" else {}
    if suffix == ".webm":
        options = {"crf": "30", "b": "0"}
    if suffix == ".avi":
        options = {"qscale": "3"}
    clip = write_frames(
        tmp_path / f"clip{suffix}", 36, keyed_frames(base_picture, KEY), options=options
    )
    report = check(clip, CheckOptions(watermarks=WatermarkOptions(keys=(KEY,))))
    assert not report.errors, report.errors
    assert evidence(report, "keyed").state is WatermarkState.DETECTED
    assert evidence(report, "dwtdct").state is not WatermarkState.DETECTED


def test_truncated_clip_gives_partial_evidence_and_an_error(
    tmp_path: Path, base_picture: np.ndarray
) -> None:
    clip = write_frames(
        tmp_path / "whole.mkv", 96, keyed_frames(base_picture, KEY), options={"crf": "20"}
    )
    data = clip.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 55 // 100])
    options = CheckOptions(
        watermarks=WatermarkOptions(keys=(KEY,), sampling=Sampling(SamplingMode.EVERY_NTH, 4))
    )
    report = check(cut, options)
    mark = evidence(report, "keyed")
    assert mark.state is WatermarkState.DETECTED
    assert 0 < mark.frames_used < 24
    watermark_errors = [e for e in report.errors if e.stage == "watermark"]
    assert watermark_errors, report.errors
    assert "frames read" in watermark_errors[0].message
    assert VerdictCode.ERROR in report.verdict.labels


def test_detect_watermarks_refuses_a_file_without_frames(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 4096)
    from provenance.errors import MediaError

    with pytest.raises(MediaError):
        detect_watermarks(junk)


def test_options_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown watermark detector"):
        WatermarkOptions(detectors=("trustmark",))
    with pytest.raises(ValueError, match="needs at least one key"):
        WatermarkOptions(detectors=("keyed",))
    with pytest.raises(ValueError, match=r"unknown dwtDct payload .sd3.; choose from sdxl"):
        WatermarkOptions(payloads=("sd3",))
    with pytest.raises(ValueError, match="sometimes"):
        WatermarkOptions(crop_search="sometimes")  # type: ignore[arg-type]
    assert WatermarkOptions().active == ("dwtdct",)
    assert WatermarkOptions(keys=("k",)).active == ("dwtdct", "keyed")
    assert WatermarkOptions(detectors=()).active == ()


@pytest.mark.parametrize("pix_fmt", ["yuv420p", "yuvj420p", "yuv444p", "yuv422p", "nv12"])
def test_chroma_planes_read_the_mark_like_the_bgr_path(pix_fmt: str) -> None:
    from provenance.media.frame import frame_chroma
    from provenance.watermark.dwtdct_frame import aligned, aligned_chroma

    picture = sdxl_marked(textured_bgr(576, 1024, seed=8))
    frame = av.VideoFrame.from_ndarray(picture, format="bgr24").reformat(format=pix_fmt)
    planes = frame_chroma(frame)
    assert planes is not None
    assert planes[0].shape == planes[1].shape == (288, 512)
    if pix_fmt == "yuv444p":
        full = frame.to_ndarray()  # (3, H, W) planar
        expected = np.rint(full[1].reshape(288, 2, 512, 2).mean(axis=(1, 3))).astype(np.uint8)
        np.testing.assert_array_equal(planes[0], expected)
    fast = aligned_chroma(planes, full_range=pix_fmt.startswith("yuvj"))
    exact = aligned(frame.to_ndarray(format="bgr24"))
    best_fast = max(fast, key=lambda r: r.z or -1.0)
    best_exact = max(exact, key=lambda r: r.z or -1.0)
    assert (best_fast.payload, best_fast.hypothesis) == (best_exact.payload, best_exact.hypothesis)
    assert best_fast.payload == "sdxl"
    assert best_fast.z is not None
    assert best_exact.z is not None
    assert best_fast.z > 0.6 * best_exact.z > 10
    plain = av.VideoFrame.from_ndarray(textured_bgr(576, 1024, seed=8), format="bgr24")
    unmarked = frame_chroma(plain.reformat(format=pix_fmt))
    assert unmarked is not None
    assert max(r.z or 0.0 for r in aligned_chroma(unmarked)) < 7
    rgb = av.VideoFrame.from_ndarray(picture, format="bgr24")
    assert frame_chroma(rgb) is None  # RGB frames use the BGR path


def test_timelines_stay_bounded_on_long_clips() -> None:
    from provenance.watermark.dwtdct_detector import _max_segments

    hours = [
        (float(second), 1.0 + (second % 7), {"sdxl": 1.0 + (second % 7)})
        for second in range(0, 4 * 3600, 3)
    ]
    segments = _max_segments(hours, lambda payloads: payloads["sdxl"] >= 7.0)
    assert 120 <= len(segments) < 240
    assert segments[0].end_seconds - segments[0].start_seconds == 64.0
    assert max(s.statistic or 0.0 for s in segments) == 7.0
    assert all(s.detected for s in segments)  # every 64 s window holds a frame at z 7
    assert _max_segments([(None, 3.0, {"sdxl": 3.0})], lambda payloads: False) == ()

    accumulator = keyed_clip.KeyedAccumulator(scales=(1.0,), seconds=1.0, max_segments=8)
    surface = keyed.FrameScore((np.zeros((128, 128), np.float32),), (1.0,))
    for second in range(100):
        accumulator.add(surface, float(second))
    windows = accumulator.segments()
    assert len(windows) <= 8
    assert accumulator.seconds == 16.0
    assert sum(window.frames for window in windows) == 100


def test_unmarked_real_clips_stay_negative(shared_dir: Path) -> None:
    """Real camera footage (../shared/fixtures/natural): no detector fires, with a key too."""
    clips = sorted((shared_dir / "fixtures" / "natural").glob("*.m[kp][v4]"))
    assert len(clips) >= 10
    options = CheckOptions(watermarks=WatermarkOptions(keys=(KEY,)))
    highest = {"dwtdct": 0.0, "keyed": 0.0}
    for clip in clips:
        report = check(clip, options)
        assert not report.errors, (clip.name, report.errors)
        for mark in report.watermarks:
            assert mark.state is not WatermarkState.DETECTED, (clip.name, mark)
            if mark.statistic is not None:
                highest[mark.detector] = max(highest[mark.detector], mark.statistic)
        assert report.verdict.code is VerdictCode.NO_SIGNAL
    # measured: dwtDct at most 3.3, keyed at most 5.3 on these clips
    assert highest["keyed"] > 0
