"""Calibrated absence: every detector's evidence carries its mark-survival probability, and a
mark that is not found is ``not_detected`` only where the model says it would have been found.

The end-to-end tests run the real check with the models shipped in the package on clips made
here: the same picture written losslessly (a mark would survive) and crushed by H.265 at CRF
40 (a mark would not), marked and unmarked.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import jsonschema
import numpy as np
import pytest

from provenance import CheckOptions, check
from provenance.report import (
    SCHEMA_VERSION,
    Detector,
    Report,
    WatermarkEvidence,
    WatermarkState,
    load_schema,
)
from provenance.watermark import SDXL, dwtdct_embed, policy
from provenance.watermark.absence import weigh_absence
from provenance.watermark.options import WatermarkOptions
from provenance.watermark.survival_model import shipped_model

KEY = "absence test key"


def _evidence(
    state: WatermarkState, message: str | None = "Best frame: z = 1.0."
) -> WatermarkEvidence:
    return WatermarkEvidence(detector=Detector.DWTDCT, state=state, statistic=1.0, message=message)


# --------------------------------------------------------------------------- the rule


def test_a_likely_survivor_keeps_not_detected_and_says_how_strong_that_is() -> None:
    weighed = weigh_absence(_evidence(WatermarkState.NOT_DETECTED), 0.9731)
    assert weighed.state is WatermarkState.NOT_DETECTED
    assert weighed.survival_probability == 0.973
    assert weighed.message == (
        "Best frame: z = 1.0. Had this mark been embedded, it would have been found with "
        "p = 0.97 in a file like this one (mark-survival model)."
    )


def test_an_unlikely_survivor_makes_the_absence_inconclusive() -> None:
    below = policy.SURVIVAL_LEVEL - 0.01
    weighed = weigh_absence(_evidence(WatermarkState.NOT_DETECTED, None), below)
    assert weighed.state is WatermarkState.INCONCLUSIVE
    assert weighed.survival_probability == pytest.approx(below)
    assert weighed.message is not None
    assert f"only with p = {below:.2f}" in weighed.message
    assert f"below {policy.SURVIVAL_LEVEL:.2f}" in weighed.message
    at_level = weigh_absence(_evidence(WatermarkState.NOT_DETECTED), policy.SURVIVAL_LEVEL)
    assert at_level.state is WatermarkState.NOT_DETECTED


@pytest.mark.parametrize("state", [WatermarkState.DETECTED, WatermarkState.INCONCLUSIVE])
def test_the_model_never_changes_a_detection_or_strengthens_an_inconclusive(
    state: WatermarkState,
) -> None:
    for probability in (0.01, 0.99):
        weighed = weigh_absence(_evidence(state), probability)
        assert weighed.state is state
        assert weighed.message == "Best frame: z = 1.0."
        assert weighed.survival_probability == probability


def test_probabilities_are_clipped_to_the_unit_interval() -> None:
    assert weigh_absence(_evidence(WatermarkState.DETECTED), 1.2).survival_probability == 1.0
    assert weigh_absence(_evidence(WatermarkState.DETECTED), -0.1).survival_probability == 0.0


# --------------------------------------------------------------------------- end to end


def _picture(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(
        rng.integers(0, 255, (14, 23, 3), dtype=np.uint8),
        (1024, 576),
        interpolation=cv2.INTER_CUBIC,
    ).astype(np.float32)
    fine = cv2.GaussianBlur(rng.normal(0, 18, (576, 1024, 3)).astype(np.float32), (0, 0), 1.0)
    return np.clip(coarse + fine, 0, 255).astype(np.uint8)


def _write(path: Path, frames: list[np.ndarray], codec: str, options: dict[str, str]) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=Fraction(7))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = options
        for picture in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """14 frames at 1024x576 (SVD's shape), unmarked and SDXL-marked, lossless and crushed by
    H.265 at CRF 40 (whose decoder reports no quantisers: only the model can say that a mark
    would not have survived)."""
    folder = tmp_path_factory.mktemp("absence")
    base = _picture(11)
    plain = [np.roll(base, 3 * i, axis=1) for i in range(14)]
    marked = [
        np.clip(np.rint(dwtdct_embed.embed(p, SDXL, domain="float32")), 0, 255).astype(np.uint8)
        for p in plain
    ]
    made = {}
    for name, frames in (("plain", plain), ("marked", marked)):
        made[f"{name}_lossless"] = _write(folder / f"{name}.mkv", frames, "ffv1", {})
        made[f"{name}_crushed"] = _write(
            folder / f"{name}_hevc.mp4",
            frames,
            "libx265",
            {"crf": "40", "x265-params": "log-level=error"},
        )
    return made


def _dwtdct(path: Path) -> WatermarkEvidence:
    report = check(path)
    assert not report.errors, report.errors
    (found,) = [w for w in report.watermarks if w.detector is Detector.DWTDCT]
    return found


@pytest.mark.parametrize("detector", [Detector.DWTDCT, Detector.KEYED])
def test_every_detector_ships_a_survival_model(detector: Detector) -> None:
    assert shipped_model(detector) is not None


def test_an_unmarked_lossless_clip_is_not_detected_with_a_high_survival(
    clips: dict[str, Path],
) -> None:
    found = _dwtdct(clips["plain_lossless"])
    assert found.state is WatermarkState.NOT_DETECTED
    assert found.survival_probability is not None
    assert found.survival_probability >= policy.SURVIVAL_LEVEL
    assert f"found with p = {found.survival_probability:.2f}" in (found.message or "")


def test_an_unmarked_crushed_clip_is_inconclusive_with_a_low_survival(
    clips: dict[str, Path],
) -> None:
    found = _dwtdct(clips["plain_crushed"])
    assert found.state is WatermarkState.INCONCLUSIVE
    assert "so its absence says little" in (found.message or "")
    report = check(clips["plain_crushed"])
    assert (
        f"Watermark dwtdct was not found, but had it been embedded it would have been found "
        f"only with p = {found.survival_probability:.2f} in a file like this one, so its "
        "absence says little."
    ) in report.verdict.caveats
    assert found.survival_probability is not None
    assert found.survival_probability < 0.5
    # and the model is right: the same marked frames crushed the same way lose the mark
    assert _dwtdct(clips["marked_crushed"]).state is not WatermarkState.DETECTED


def test_a_detection_carries_its_survival_probability(clips: dict[str, Path]) -> None:
    found = _dwtdct(clips["marked_lossless"])
    assert found.state is WatermarkState.DETECTED
    assert found.mark == "sdxl"
    assert found.survival_probability is not None
    assert found.survival_probability >= policy.SURVIVAL_LEVEL


def test_the_keyed_mark_is_weighed_too_and_the_report_round_trips(
    clips: dict[str, Path],
) -> None:
    options = CheckOptions(watermarks=WatermarkOptions(keys=(KEY,)))
    report = check(clips["plain_lossless"], options)
    (keyed,) = [w for w in report.watermarks if w.detector is Detector.KEYED]
    assert keyed.state is WatermarkState.NOT_DETECTED
    assert keyed.survival_probability is not None
    assert keyed.survival_probability >= policy.SURVIVAL_LEVEL
    data = json.loads(json.dumps(report.to_dict()))
    jsonschema.validate(data, load_schema())
    again = Report.from_dict(data)
    assert again.watermarks == report.watermarks
    assert data["schema_version"] == SCHEMA_VERSION


def test_the_html_report_states_the_survival_probability(clips: dict[str, Path]) -> None:
    from provenance.render.html import render_evidence_html

    report = check(clips["plain_crushed"])
    (found,) = [w for w in report.watermarks if w.detector is Detector.DWTDCT]
    assert found.survival_probability is not None
    page = render_evidence_html([report])
    assert f"p = {found.survival_probability:.2f} that a mark would have been found here" in page
