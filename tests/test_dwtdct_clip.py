"""The dwtDct clip statistic (frames combined), payload floors and quantiser scales."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from provenance import check
from provenance.media.frames import FrameSampler
from provenance.media.sampling import Sampling
from provenance.report import WatermarkState
from provenance.watermark import FLUX, INVOKEAI, SD1, SD2, SDXL, dwtdct_embed, policy
from provenance.watermark.dwtdct_clip import ClipCombiner
from provenance.watermark.dwtdct_frame import aligned
from provenance.watermark.dwtdct_scheme import ALL_HYPOTHESES
from provenance.watermark.payloads import PAYLOADS
from tests.test_detect import evidence, textured_bgr

FLOAT_BGR = "float32-bgr"


def weakly_marked(seed: int, strength: float, *, size: tuple[int, int] = (576, 1024)) -> np.ndarray:
    """A textured picture carrying ``strength`` times the SDXL/SVD mark (float32 embedding)."""
    picture = textured_bgr(*size, seed=seed).astype(np.float32)
    marked = dwtdct_embed.embed(picture, SDXL, domain="float32")
    return np.clip(np.rint(picture + strength * (marked - picture)), 0, 255).astype(np.uint8)


def own_z(results: list, payload: str = "sdxl", hypothesis: str = FLOAT_BGR) -> float:  # type: ignore[type-arg]
    (found,) = [r for r in results if r.payload == payload and r.hypothesis.name == hypothesis]
    return float(found.z)


def test_independent_weak_frames_add_up_and_unmarked_ones_do_not() -> None:
    combiner, plain = ClipCombiner(PAYLOADS), ClipCombiner(PAYLOADS)
    single = []
    for seed in range(12):
        results = aligned(weakly_marked(seed, 0.1), PAYLOADS)
        single.append(own_z(results))
        combiner.add(results)
        plain.add(aligned(textured_bgr(576, 1024, seed=100 + seed), PAYLOADS))
    best = combiner.best()[0]
    assert (best.payload, best.hypothesis.name, best.frames) == ("sdxl", FLOAT_BGR, 12)
    assert max(single) < 7.0  # no frame alone is convincing ...
    expected = float(np.mean(single)) * math.sqrt(12)
    assert best.z == pytest.approx(expected, rel=0.15)  # ... together they are
    assert best.matched_bits >= 40  # of 48, by majority vote over the frames
    assert max(score.z for score in plain.best()) < 4.0  # the negative side


def test_repeated_frames_do_not_inflate_the_clip_statistic() -> None:
    # A static scene repeats its block bits: summed as if independent, an unmarked clip's z
    # would grow as sqrt(frames). The per-block variance keeps it at one frame's z.
    results = aligned(weakly_marked(3, 0.06), PAYLOADS)
    combiner = ClipCombiner(PAYLOADS)
    for _ in range(25):
        combiner.add(results)
    scores = {score.payload: score.z for score in combiner.best()}
    for payload in PAYLOADS:
        frame = max(own_z(results, payload.name, h.name) for h in ALL_HYPOTHESES)
        assert scores[payload.name] <= max(frame, 0.0) * 1.1 + 0.5


def test_i_frames_are_also_combined_apart() -> None:
    combiner = ClipCombiner([SDXL])
    for seed in range(6):
        strength = 0.1 if seed % 3 == 0 else 0.0  # the mark kept only in the I-frames
        results = aligned(weakly_marked(seed, strength), [SDXL])
        combiner.add(results, key_frame=seed % 3 == 0)
    best = combiner.best()[0]
    assert best.key_frames_only
    assert best.frames == 2
    assert "I-frames combined" in best.describe()
    assert best.tests == 2 * 4  # (all frames, I-frames) x 4 hypotheses
    assert ClipCombiner([SDXL]).best() == []


def test_payloads_share_one_summed_grid_per_hypothesis() -> None:
    # the summed grid of centred bits depends on the hypothesis and the frames, not the
    # payload: one grid per (frames, hypothesis) is kept (memory), equal to the frames' sum
    combiner = ClipCombiner(PAYLOADS)
    frames = [aligned(weakly_marked(seed, 0.1, size=(288, 512)), PAYLOADS) for seed in range(4)]
    for number, results in enumerate(frames):
        combiner.add(results, key_frame=number % 2 == 0)
    sums = combiner._sums
    for (only_key, _payload, hypothesis, *_rest), entry in sums.items():
        used = frames[::2] if only_key else frames
        own = [r for results in used for r in results if r.hypothesis == hypothesis]
        expected = sum(r.tallies.centred for r in own if r.payload == PAYLOADS[0].name)
        assert entry.tallies.centred is not None
        assert np.allclose(entry.tallies.centred, expected)
        assert entry.tallies.frames == len(used)
    grids = {id(entry.tallies.centred) for entry in sums.values()}
    assert len(grids) == 2 * len(ALL_HYPOTHESES) < len(sums)


def test_a_clip_too_weak_in_every_frame_is_found_by_combining(tmp_path: Path) -> None:
    path = tmp_path / "weak.mkv"
    unmarked = tmp_path / "plain.mkv"
    for target, strength in ((path, 0.08), (unmarked, 0.0)):
        with av.open(str(target), "w") as container:
            stream = container.add_stream("ffv1", rate=Fraction(7))
            stream.width, stream.height, stream.pix_fmt = 1024, 576, "bgr0"
            for seed in range(10):
                frame = av.VideoFrame.from_ndarray(weakly_marked(seed, strength), format="bgr24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    mark = evidence(check(path), "dwtdct")
    assert mark.state is WatermarkState.DETECTED
    assert mark.mark == "sdxl"
    assert mark.best_frame_statistic is not None
    assert mark.summed_statistic is not None
    assert mark.threshold < mark.summed_statistic
    assert mark.frames_over_threshold == 0  # no frame reaches the frames' own threshold
    assert mark.statistic == mark.summed_statistic
    assert mark.hypothesis == f"{FLOAT_BGR}, the 10 frames combined"
    assert mark.frames_over_threshold == 0
    assert "the 10 frames combined: sdxl" in (mark.message or "")
    plain = evidence(check(unmarked), "dwtdct")
    assert plain.state is WatermarkState.NOT_DETECTED
    assert plain.summed_statistic is not None
    assert plain.summed_statistic < 4.0


def test_payload_floors() -> None:
    for payload in (SD1, SD2, INVOKEAI):  # byte text: a stripe pattern
        assert policy.dwtdct_floor(payload.bits) == policy.DWTDCT_Z_FLOOR == 7.0
    for payload in (SDXL, FLUX):
        assert policy.dwtdct_floor(payload.bits) == policy.DWTDCT_PLAIN_Z_FLOOR == 5.5
        assert policy.dwtdct_floor(payload.bits, combined=True) == 6.0
    assert policy.dwtdct_floor(SD1.bits, combined=True) == 7.0
    assert policy.dwtdct_threshold(20, floor=5.5) == 5.5
    assert policy.dwtdct_threshold(10_000, floor=5.5) > 6.0  # Bonferroni above the floor
    assert policy.dwtdct_threshold(20, searched=True, floor=5.5) == policy.DWTDCT_SEARCH_Z_FLOOR
    assert policy.dwtdct_clip_threshold(40, floor=7.0) == 7.0


@pytest.mark.parametrize(("codec", "suffix"), [("mpeg4", ".mp4"), ("mpeg2video", ".mpg")])
def test_mpeg_family_quantisers_are_read_on_the_h264_scale(
    tmp_path: Path, codec: str, suffix: str
) -> None:
    from av.sidedata.sidedata import Type

    path = tmp_path / f"clip{suffix}"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 352, 288, "yuv420p"
        stream.codec_context.bit_rate = 300_000
        for seed in range(6):
            picture = textured_bgr(288, 352, seed=seed)
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    raw: list[float | None] = []
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        video.thread_type = "SLICE"
        video.codec_context.options = {"export_side_data": "venc_params"}
        for frame in container.decode(video):
            params = frame.side_data.get(Type.VIDEO_ENC_PARAMS)  # type: ignore[call-overload]
            if params is None:  # skipped macroblocks only: nothing exported
                raw.append(None)
                continue
            assert int(params.codec_type) == 2  # the MPEG-2 quantiser scale
            raw.append(float(np.mean(params.qp_map())))
    read = [f.mean_qp for f in FrameSampler(path, Sampling.parse("all"), quantisers=True)]
    assert len(read) == len(raw) == 6
    assert sum(value is not None for value in raw) >= 3
    for value, converted in zip(raw, read, strict=True):
        if value is None:
            assert converted is None
        else:
            assert converted == pytest.approx(12 + 6 * math.log2(value / 1.7))
