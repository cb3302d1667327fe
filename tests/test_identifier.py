"""The keyed mark's identifier layer: coded, embedded in quadrature, read once the mark is found."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from provenance import CheckOptions, check
from provenance.errors import ArgumentError
from provenance.media.transcode import rewrite_luma
from provenance.report import Detector, WatermarkState
from provenance.testing.synth import write_clip
from provenance.watermark import identifier as ids
from provenance.watermark import keyed, keyed_clip
from provenance.watermark.detect import detect_watermarks
from provenance.watermark.options import WatermarkOptions
from provenance.watermark.policy import keyed_threshold
from tests.test_keyed import psnr, textured

KEY = "platform identifier key"
IDENT = 0x0123_4567_89AB_CDEF


def _read(planes: list[np.ndarray], key: str) -> tuple[float, keyed_clip.ReadIdentifier | None]:
    accumulator = keyed_clip.KeyedAccumulator(key=key)
    for index, plane in enumerate(planes):
        accumulator.add(keyed.score_frame(plane, key), index / 24)
    result = accumulator.result()
    found = accumulator.identifier() if result.z >= keyed_threshold(result.tests) else None
    return result.z, found


def test_code_round_trip_and_noise() -> None:
    coded = ids.encode(IDENT, KEY)
    assert coded.shape == (ids.CODED_BITS,)
    assert set(np.unique(coded)) == {-1.0, 1.0}
    bits = ids.viterbi(coded)
    assert int("".join(map(str, bits[: ids.IDENTIFIER_BITS])), 2) == IDENT
    rng = np.random.default_rng(3)
    # 1.5 per coded bit (total z 27) is decoded every time; 0.3 (total z 5) never passes
    decoded = 0
    for _trial in range(20):
        noisy = coded * 1.5 + rng.standard_normal(coded.shape)
        bits = ids.viterbi(noisy)
        decoded += int("".join(map(str, bits[: ids.IDENTIFIER_BITS])), 2) == IDENT
    assert decoded == 20


def test_check_depends_on_the_key() -> None:
    assert not np.array_equal(ids.encode(IDENT, KEY), ids.encode(IDENT, "other"))
    assert not np.array_equal(ids.encode(IDENT, KEY), ids.encode(IDENT + 1, KEY))
    with pytest.raises(ArgumentError):
        ids.encode(1 << 64, KEY)
    with pytest.raises(ArgumentError):
        ids.encode(-1, KEY)


def test_binding_value_round_trip() -> None:
    value = ids.binding_value(IDENT)
    assert value == "ASNFZ4mrze8="
    assert ids.parse_binding_value(value) == IDENT
    for bad in ("not base64!", "AAAA", ""):
        with pytest.raises(ArgumentError):
            ids.parse_binding_value(bad)


def test_frame_carries_the_identifier_at_the_target_psnr() -> None:
    luma = textured(480, 640, seed=1)
    marked = keyed.embed_luma(luma, KEY, identifier=IDENT)
    assert psnr(luma, marked) == pytest.approx(keyed.DEFAULT_PSNR, abs=0.2)
    z, found = _read([marked], KEY)
    assert found is not None
    assert found.identifier == IDENT
    # the plain keyed detector still finds the mark (the sync layer is the key tile)
    assert z > keyed_threshold(keyed.hypotheses_per_frame() * 2)


def test_identifier_survives_downscale_and_crop() -> None:
    import cv2

    luma = textured(720, 1280, seed=2)
    marked = keyed.embed_luma(luma, KEY, identifier=IDENT)
    half = np.asarray(cv2.resize(marked, (640, 360), interpolation=cv2.INTER_AREA))
    cropped = np.ascontiguousarray(marked[37:-41, 61:-67])
    for attacked in (half, cropped):
        _, found = _read([attacked], KEY)
        assert found is not None
        assert found.identifier == IDENT


def test_negative_side_no_identifier() -> None:
    luma = textured(480, 640, seed=4)
    plain = keyed.embed_luma(luma, KEY)  # the keyed mark without an identifier
    z, found = _read([plain], KEY)
    assert z > keyed_threshold(keyed.hypotheses_per_frame() * 2)
    assert found is None  # marked, but the check of whatever the data reads fails
    for planes, key in (
        ([luma], KEY),  # unmarked
        ([keyed.embed_luma(luma, "another key", identifier=IDENT)], KEY),  # another key
    ):
        z, found = _read(planes, key)
        assert z < keyed_threshold(keyed.hypotheses_per_frame() * 2)
        assert found is None
        # even read without the presence test, no identifier passes the check
        accumulator = keyed_clip.KeyedAccumulator(key=key)
        accumulator.add(keyed.score_frame(planes[0], key))
        assert accumulator.identifier() is None


def test_wrong_identifiers_are_rejected_by_the_check() -> None:
    """Random products (what an unmarked or wrongly keyed file gives) never pass the check."""
    rng = np.random.default_rng(11)
    count = len(ids.layout(KEY).rows)
    passed = 0
    for _ in range(300):
        noise = rng.standard_normal(count) + 1j * rng.standard_normal(count)
        passed += ids.decode_products(noise, KEY) is not None
    assert passed == 0
    assert math.isclose(ids.MAX_DECODES * 2.0**-ids.CHECK_BITS, 4.38e-10, rel_tol=0.01)


def test_clip_after_transcode_reports_the_identifier(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "src.mp4", seconds=2.0, width=640, height=480, fps=24, seed=5)
    marked = tmp_path / "marked.mp4"
    keyed.mark_file(source, marked, KEY, identifier=IDENT)
    options = CheckOptions(watermarks=WatermarkOptions(keys=(KEY,)))
    report = check(marked, options)
    (evidence,) = [w for w in report.watermarks if w.detector == "keyed"]
    assert evidence.state is WatermarkState.DETECTED
    assert [found.value for found in evidence.identifiers] == [ids.binding_value(IDENT)]
    assert evidence.identifiers[0].algorithm == ids.ALGORITHM
    assert ids.binding_value(IDENT) in (evidence.message or "")
    unmarked = check(source, options)
    (evidence,) = [w for w in unmarked.watermarks if w.detector == "keyed"]
    assert evidence.state is not WatermarkState.DETECTED
    assert evidence.identifiers == ()


def test_spliced_clip_shows_both_identifiers_with_their_times(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "src.mp4", seconds=4.0, width=640, height=480, fps=24, seed=6)
    spliced = tmp_path / "spliced.mp4"
    other = 0xFEED_FACE_0000_0001

    def two_sources(luma: np.ndarray, index: int) -> np.ndarray:
        return keyed.embed_luma(luma, KEY, identifier=IDENT if index < 48 else other)

    rewrite_luma(source, spliced, two_sources, crf=18)
    report = check(spliced, CheckOptions(watermarks=WatermarkOptions(keys=(KEY,))))
    (evidence,) = [w for w in report.watermarks if w.detector == "keyed"]
    runs = [(f.value, f.start_seconds, f.end_seconds) for f in evidence.identifiers]
    by_value = {value: (start, end) for value, start, end in runs if start is not None}
    assert set(by_value) == {ids.binding_value(IDENT), ids.binding_value(other)}
    assert by_value[ids.binding_value(IDENT)][1] <= 2.0 + 1e-6
    assert by_value[ids.binding_value(other)][0] >= 2.0 - 1e-6


def test_a_faint_spliced_clip_s_segments_are_matched_among_known_identifiers(
    tmp_path: Path,
) -> None:
    # At 50 dB the key tile is found but neither identifier can be decoded blind, and the
    # clip as a whole carries two: only its segments, matched one by one, tell them apart.
    source = write_clip(tmp_path / "src.mp4", seconds=4.0, width=640, height=480, fps=24, seed=6)
    spliced = tmp_path / "spliced.mp4"
    other = 0xFEED_FACE_0000_0001

    def two_sources(luma: np.ndarray, index: int) -> np.ndarray:
        return keyed.embed_luma(luma, KEY, psnr=50.0, identifier=IDENT if index < 48 else other)

    rewrite_luma(source, spliced, two_sources, crf=18)
    decoys = [int(x) for x in np.random.default_rng(4).integers(0, 2**63, size=2000)]
    options = WatermarkOptions(detectors=(Detector.KEYED,), keys=(KEY,))

    def identifiers(known: list[int]) -> list[tuple[str, float | None, float | None, bool]]:
        (evidence,) = detect_watermarks(spliced, options, known_identifiers=tuple(known)).evidence
        return [(f.value, f.start_seconds, f.end_seconds, f.matched) for f in evidence.identifiers]

    assert identifiers([]) == []  # blind: nothing
    runs = identifiers(sorted([*decoys, IDENT, other]))
    by_value = {value: (start, end, matched) for value, start, end, matched in runs}
    assert set(by_value) == {ids.binding_value(IDENT), ids.binding_value(other)}
    first, second = by_value[ids.binding_value(IDENT)], by_value[ids.binding_value(other)]
    assert first[2]
    assert second[2]
    assert first[0] is not None
    assert first[1] is not None
    assert first[1] <= 2.0 + 1e-6
    assert second[0] is not None
    assert second[0] >= 2.0 - 1e-6
    assert identifiers(sorted(decoys)) == []  # neither is known: no match, none made up


def test_mark_command_carries_an_identifier_in_an_image(tmp_path: Path) -> None:
    import cv2
    from typer.testing import CliRunner

    from provenance.cli import app

    luma = textured(480, 640, seed=8)
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), cv2.merge([luma, np.roll(luma, 5, 1), np.roll(luma, 9, 0)]))
    runner = CliRunner()
    marked = runner.invoke(
        app,
        ["mark", str(source), str(tmp_path / "out.webp"), "--key", KEY, "--identifier",
         "0123456789abcdef"],
    )  # fmt: skip
    assert marked.exit_code == 0, marked.output
    report = check(tmp_path / "out.webp", CheckOptions(watermarks=WatermarkOptions(keys=(KEY,))))
    (evidence,) = [w for w in report.watermarks if w.detector == "keyed"]
    assert [f.value for f in evidence.identifiers] == [ids.binding_value(IDENT)]
    bad = runner.invoke(
        app, ["mark", str(source), str(tmp_path / "x.png"), "--key", KEY, "--identifier", "xyz"]
    )
    assert bad.exit_code == 2
    assert "16 hex digits" in bad.output
    wrong_suffix = runner.invoke(app, ["mark", str(source), str(tmp_path / "x.gif"), "--key", KEY])
    assert wrong_suffix.exit_code == 3
    assert "is an image" in wrong_suffix.output


def test_codewords_are_the_encoder_s_for_many_identifiers_at_once() -> None:
    many = [0, 1, IDENT, (1 << 64) - 1, 0x0DE0_0000_0000_000A]
    table = ids.codewords(many, KEY)
    assert table.shape == (len(many), ids.CODED_BITS)
    for row, identifier in zip(table, many, strict=True):
        assert np.array_equal(row, ids.encode(identifier, KEY))
    assert ids.known_identifiers(["ASNFZ4mrze8=", "not an identifier", "AAAAAAAAAAE="]) == (
        1,
        IDENT,
    )
    assert ids.match_threshold(1) < ids.match_threshold(10_000) < ids.match_threshold(10**6)


def _weak(luma: np.ndarray, key: str, identifier: int) -> np.ndarray:
    """A faint mark (52 dB) on a frame, then downscaled: too weak to decode blind."""
    import cv2

    marked = keyed.embed_luma(luma, key, psnr=52.0, identifier=identifier)
    return np.asarray(cv2.resize(marked, (320, 240), interpolation=cv2.INTER_AREA))


def test_a_mark_too_weak_to_decode_is_matched_among_known_identifiers() -> None:
    rng = np.random.default_rng(5)
    decoys = [int(x) for x in rng.integers(0, 1 << 62, size=3000)]
    known = tuple(sorted([*decoys, IDENT]))
    luma = textured(480, 640, seed=12)
    accumulator = keyed_clip.KeyedAccumulator(key=KEY)
    accumulator.add(keyed.score_frame(_weak(luma, KEY, IDENT), KEY))
    assert accumulator.identifier() is None  # blind: not enough signal for 104 bits
    matched = accumulator.match(known)
    assert matched is not None
    assert matched[0].identifier == IDENT
    assert matched[1] >= ids.match_threshold(len(known))


def test_matching_never_matches_unmarked_or_another_key() -> None:
    rng = np.random.default_rng(6)
    known = tuple(sorted(int(x) for x in rng.integers(0, 1 << 62, size=3000)))
    for seed in range(6):
        luma = textured(480, 640, seed=20 + seed)
        for plane, key in (
            (luma, KEY),  # unmarked
            (keyed.embed_luma(luma, "another key", identifier=known[seed]), KEY),  # other key
        ):
            accumulator = keyed_clip.KeyedAccumulator(key=key)
            accumulator.add(keyed.score_frame(plane, key))
            assert accumulator.match(known) is None
