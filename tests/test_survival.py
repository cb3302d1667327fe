"""The mark-survival features (provenance/watermark/survival.py), the models as plain data
(survival_model.py), the shipped models, and the training command (datasets/survival.py)."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from provenance.errors import ArgumentError, ProvenanceError
from provenance.media.frame import SampledFrame
from provenance.media.frames import FrameSampler
from provenance.media.probe import probe
from provenance.media.sampling import Sampling
from provenance.report import Detector
from provenance.testing.synth import synthetic_frame, write_image
from provenance.watermark.survival import (
    CODECS,
    FEATURES,
    SURVIVAL_FRAME_NEEDS,
    FileFacts,
    SurvivalFeatures,
    feature_vector,
)
from provenance.watermark.survival_model import (
    SurvivalModel,
    SurvivalModelError,
    load_model,
    shipped_model,
    survival_probability,
)


def _write(path: Path, codec: str, pix_fmt: str, options: dict[str, str], frames: int = 30) -> Path:
    """A clip of seeded texture written with PyAV (single-threaded, so bit-exact)."""
    import av

    with av.open(str(path), mode="w") as container:
        stream: Any = container.add_stream(codec, rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 320, 240, pix_fmt
        stream.options = {**options, "threads": "1"}
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(
                synthetic_frame(index, width=320, height=240, seed=7), format="rgb24"
            )
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _collect(path: Path, sampling: str = "evenly:8") -> tuple[SurvivalFeatures, list[SampledFrame]]:
    collector = SurvivalFeatures(FileFacts.from_media(probe(path)))
    needs = SURVIVAL_FRAME_NEEDS
    sampler = FrameSampler(
        path,
        Sampling.parse(sampling),
        colour=needs.colour,
        chroma=needs.chroma,
        quantisers=needs.quantisers,
    )
    frames = list(sampler)
    for frame in frames:
        collector.add(frame)
    return collector, frames


def _codec_entries(values: dict[str, float]) -> dict[str, float]:
    return {name: value for name, value in values.items() if name.startswith("codec_")}


# --------------------------------------------------------------------------- the collector


def test_h264_clip_features_summarise_the_frames_quantisers(tmp_path: Path) -> None:
    clip = _write(tmp_path / "a.mp4", "libx264", "yuv420p", {"crf": "30", "bf": "2"})
    collector, frames = _collect(clip)
    values = collector.values()
    assert list(values) == list(FEATURES)
    assert all(math.isfinite(v) for v in values.values())
    assert {k for k, v in _codec_entries(values).items() if v} == {"codec_h264"}
    assert values["kind_image"] == 0
    assert values["lossless_codec"] == 0
    qps = [f.mean_qp for f in frames]
    assert len(frames) == 8
    assert all(qp is not None for qp in qps)
    known = [qp for qp in qps if qp is not None]
    assert values["qp_reported"] == 1.0
    assert values["qp_mean"] == pytest.approx(np.mean(known))
    assert values["qp_min"] == pytest.approx(min(known))
    assert values["qp_max"] == pytest.approx(max(known))
    intra = [f.mean_qp for f in frames if f.picture_type == "I"]
    assert values["qp_intra"] == pytest.approx(np.mean(intra))
    types = [f.picture_type for f in frames]
    assert values["picture_i"] == types.count("I") / 8
    assert values["picture_b"] == types.count("B") / 8 > 0
    assert values["log2_pixels"] == pytest.approx(math.log2(320 * 240))
    assert values["fps"] == 25.0
    bits = clip.stat().st_size * 8 / (320 * 240 * 30)
    assert values["log2_bits_per_pixel"] == pytest.approx(math.log2(bits))
    assert values["chroma_read"] == 1.0
    assert collector.vector().shape == (len(FEATURES),)


def test_lossless_and_unlisted_codecs(tmp_path: Path) -> None:
    ffv1, _ = _collect(_write(tmp_path / "b.mkv", "ffv1", "yuv420p", {}))
    values = ffv1.values()
    assert {k for k, v in _codec_entries(values).items() if v} == {"codec_ffv1"}
    assert values["lossless_codec"] == 1.0
    assert values["qp_reported"] == 0.0
    assert values["qp_mean"] == 0.0
    huffyuv, _ = _collect(_write(tmp_path / "c.avi", "huffyuv", "yuv422p", {}))
    values = huffyuv.values()
    assert "huffyuv" not in CODECS
    assert {k for k, v in _codec_entries(values).items() if v} == {"codec_other"}
    assert values["lossless_codec"] == 1.0
    assert all(math.isfinite(v) for v in values.values())


def test_images_read_chroma_from_their_colour_and_know_their_subsampling(tmp_path: Path) -> None:
    import cv2

    png, _ = _collect(write_image(tmp_path / "d.png", width=300, height=200))
    values = png.values()
    assert values["kind_image"] == 1.0
    assert values["codec_png"] == 1.0
    assert values["fps"] == 0.0
    assert values["qp_reported"] == 0.0
    assert values["chroma_read"] == 1.0
    assert values["chroma_std"] > 0
    assert values["image_chroma_subsampled"] == 0.0
    jpeg, _ = _collect(write_image(tmp_path / "e.jpg", width=300, height=200))
    values = jpeg.values()
    assert values["codec_jpeg"] == 1.0
    assert values["image_chroma_subsampled"] == 1.0  # OpenCV writes 4:2:0 by default
    assert values["lossless_codec"] == 0.0
    picture = synthetic_frame(0, width=300, height=200)
    cv2.imwrite(str(tmp_path / "f.webp"), picture, [cv2.IMWRITE_WEBP_QUALITY, 90])
    values = _collect(tmp_path / "f.webp")[0].values()
    assert values["codec_webp"] == 1.0
    assert values["image_chroma_subsampled"] == 1.0  # lossy WebP is always 4:2:0
    assert values["lossless_codec"] == 0.0
    cv2.imwrite(str(tmp_path / "g.webp"), picture, [cv2.IMWRITE_WEBP_QUALITY, 101])
    values = _collect(tmp_path / "g.webp")[0].values()
    assert values["image_chroma_subsampled"] == 0.0
    assert values["lossless_codec"] == 1.0


def test_compression_lowers_the_fine_detail(tmp_path: Path) -> None:
    light, _ = _collect(_write(tmp_path / "f.mp4", "libx264", "yuv420p", {"crf": "12"}))
    heavy, _ = _collect(_write(tmp_path / "g.mp4", "libx264", "yuv420p", {"crf": "40"}))
    a, b = light.values(), heavy.values()
    assert b["qp_mean"] > a["qp_mean"] + 10
    assert b["log_chroma_detail"] < a["log_chroma_detail"]
    assert b["luma_flat_blocks"] > a["luma_flat_blocks"]


def test_feature_vector_names_every_entry() -> None:
    collector = SurvivalFeatures(FileFacts("video", "av1", 640, 360, 30.0, None, None))
    values = collector.values()  # no frame read: still a full, finite vector
    assert values["codec_av1"] == 1.0
    assert values["bits_per_pixel_known"] == 0.0
    assert np.array_equal(feature_vector(values), collector.vector())
    with pytest.raises(ArgumentError, match="missing"):
        feature_vector({k: v for k, v in values.items() if k != "qp_mean"})
    with pytest.raises(ArgumentError, match="finite"):
        feature_vector({**values, "qp_mean": math.nan})
    with pytest.raises(ArgumentError):
        SurvivalFeatures(FileFacts("audio", None))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- models as data


def _training_set(seed: int = 3, n: int = 400) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features where survival falls with the quantiser, in 40 groups."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    qp = FEATURES.index("qp_mean")
    x[:, qp] = rng.uniform(10, 45, n)
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(x[:, qp] - 26))).astype(float)
    return x, y, np.arange(n) % 40


def _identity_link(model: SurvivalModel) -> SurvivalModel:
    """The same scorer read through the logistic link (as predict_proba does)."""
    x = np.linspace(-40, 40, 80001)
    data = model.to_dict()
    for member in data["members"]:
        member["calibration"] = {
            "method": "isotonic",
            "x": x.tolist(),
            "y": (1 / (1 + np.exp(-x))).tolist(),
        }
    return SurvivalModel.from_dict(data)


@pytest.mark.parametrize("kind", ["logistic", "trees"])
def test_the_numpy_evaluator_agrees_with_scikit_learn(kind: str, tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is in the train and dev extras")
    from datasets import survival_fit

    x, y, groups = _training_set()
    fitted = survival_fit.fit_calibrated(kind, x, y, groups, seed=0)
    assert len(fitted.members) == survival_fit.FOLDS
    assert all(m.estimator is not None and m.isotonic is not None for m in fitted.members)
    model = survival_fit.export(fitted, Detector.DWTDCT, {"seed": 0}, {})
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model.to_dict()), "utf-8")
    loaded = load_model(path)
    assert loaded.kind == kind
    assert len(loaded.members) == survival_fit.FOLDS
    assert loaded.training == {"seed": 0}
    probe_x = np.random.default_rng(9).normal(size=(50, len(FEATURES)))
    probe_x[:, FEATURES.index("qp_mean")] = np.linspace(5, 50, 50)
    ours = np.array([survival_probability(loaded, row) for row in probe_x])
    assert np.allclose(ours, fitted.predict(probe_x), atol=1e-9)  # calibrated: exact
    linked = _identity_link(loaded)
    raw = np.array([survival_probability(linked, row) for row in probe_x])
    expected = []
    for member in fitted.members:
        estimator: Any = member.estimator
        data = member.scaler.transform(probe_x) if member.scaler is not None else probe_x
        expected.append(estimator.predict_proba(data)[:, 1])
    assert np.allclose(raw, np.mean(expected, axis=0), atol=1e-5)
    named = dict(zip(FEATURES, probe_x[0], strict=True))
    assert survival_probability(loaded, named) == ours[0]


def _valid_model() -> dict[str, Any]:
    zeros = [0.0] * len(FEATURES)
    return SurvivalModel.from_dict(
        {
            "format": "provenance-survival-model",
            "format_version": 1,
            "detector": "keyed",
            "features": list(FEATURES),
            "members": [
                {
                    "scorer": {
                        "kind": "logistic",
                        "mean": zeros,
                        "scale": [1.0] * len(FEATURES),
                        "coefficients": zeros,
                        "intercept": 0.5,
                    },
                    "calibration": {"method": "isotonic", "x": [0.0, 1.0], "y": [0.2, 0.9]},
                }
            ],
        }
    ).to_dict()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format="something"), "not a survival model"),
        (lambda d: d.update(format_version=9), "format version"),
        (lambda d: d.update(members=[]), "members must be a non-empty list"),
        (lambda d: d.update(detector="trustmark"), "unknown detector"),
        (lambda d: d.update(features=d["features"][:-1]), "missing \\['chroma_read'\\]"),
        (lambda d: d.update(features=d["features"][::-1]), "another order"),
        (
            lambda d: d["members"][0]["scorer"].update(coefficients=[1.0]),
            "coefficients has 1 entries",
        ),
        (
            lambda d: d["members"][0]["scorer"].update(scale=[0.0] * len(FEATURES)),
            "scale must be positive",
        ),
        (lambda d: d["members"][0]["scorer"].update(kind="forest"), "unknown scorer kind"),
        (lambda d: d["members"][0]["calibration"].update(y=[0.9, 0.2]), "non-decreasing"),
        (lambda d: d["members"][0]["calibration"].update(y=[0.2, 1.5]), "\\[0, 1\\]"),
        (lambda d: d["members"][0]["scorer"].update(intercept="x"), "finite number"),
        (
            lambda d: d["members"][0].update(
                scorer={
                    "kind": "trees",
                    "baseline": 0.0,
                    "trees": [
                        {
                            "feature": [0, 0, 0],
                            "threshold": [0.0] * 3,
                            "left": [0, -1, -1],
                            "right": [2, -1, -1],
                            "value": [0.0] * 3,
                        }
                    ],
                }
            ),
            "not a valid tree",
        ),
    ],
)
def test_a_malformed_model_is_refused_with_its_reason(
    change: Any, message: str, tmp_path: Path
) -> None:
    data = _valid_model()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(SurvivalModelError, match=message) as raised:
        load_model(path)
    assert isinstance(raised.value, ProvenanceError)
    assert str(path) in str(raised.value)


def test_unreadable_model_files(tmp_path: Path) -> None:
    with pytest.raises(SurvivalModelError, match="cannot be read"):
        load_model(tmp_path / "missing.json")
    (tmp_path / "text.json").write_text("not json", "utf-8")
    with pytest.raises(SurvivalModelError, match="is not JSON"):
        load_model(tmp_path / "text.json")


def test_the_evaluator_checks_its_input() -> None:
    model = SurvivalModel.from_dict(_valid_model())
    assert survival_probability(model, np.zeros(len(FEATURES))) == pytest.approx(0.2 + 0.7 * 0.5)
    with pytest.raises(ArgumentError, match="expected a vector of"):
        survival_probability(model, np.zeros(3))
    with pytest.raises(ArgumentError, match="finite"):
        survival_probability(model, np.full(len(FEATURES), np.inf))


# --------------------------------------------------------------------------- shipped models


def _typical_clip(qp: float) -> dict[str, float]:
    """A 854x480 H.264 clip whose frames all have mean quantiser ``qp``."""
    facts = FileFacts("video", "h264", 854, 480, 30.0, 400_000, 75)
    values = SurvivalFeatures(facts).values()
    values.update(
        log2_frames_read=math.log2(9),
        qp_reported=1.0,
        qp_mean=qp,
        qp_min=qp,
        qp_max=qp,
        qp_intra=qp,
        picture_i=0.25,
        picture_p=0.375,
        picture_b=0.375,
        luma_mean=110.0,
        luma_std=45.0,
        log_luma_detail=math.log1p(6.0),
        luma_fine_ratio=0.6,
        luma_flat_blocks=0.3,
        chroma_std=12.0,
        log_chroma_detail=math.log1p(1.5),
        chroma_fine_ratio=0.6,
        chroma_flat_blocks=0.6,
        chroma_read=1.0,
    )
    return values


@pytest.mark.parametrize("detector", [Detector.DWTDCT, Detector.KEYED])
def test_shipped_models_load_and_survival_rises_as_the_quantiser_falls(
    detector: Detector,
) -> None:
    model = shipped_model(detector)
    assert model is not None, f"no survival model shipped for {detector.value}"
    assert model.detector is detector
    assert model.features == FEATURES
    assert model.training["items"] > 1000  # trained on the full corpus
    quantisers = [45, 40, 35, 30, 26, 22, 18, 14]
    chances = [survival_probability(model, _typical_clip(qp)) for qp in quantisers]
    assert all(0.0 <= p <= 1.0 for p in chances)
    assert all(later >= earlier for earlier, later in itertools.pairwise(chances))
    assert chances[-1] > chances[0]


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def quick_slice(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A slice of the quick corpus: dwtDct clips (every CRF) and images (every attack) of
    one source each, and the keyed clips of two sources."""
    import datasets.corpus

    corpus = tmp_path_factory.mktemp("survival") / "corpus"
    datasets.corpus.build_corpus(
        corpus,
        size="quick",
        shared=shared_dir,
        jobs=2,
        only=["synth_textured_426x240_00", "still_photo_astronaut", "natural_asl_gestures_bird"],
    )
    return corpus


@pytest.mark.shared
@pytest.mark.slow
def test_training_end_to_end_on_a_quick_corpus_slice(quick_slice: Path, tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="scikit-learn is in the train and dev extras")
    from datasets import survival

    output = tmp_path / "out"
    cache = tmp_path / "items.jsonl"
    result = survival.train(quick_slice, jobs=2, output=output, cache=cache, grid=False)
    assert {p.name for p in result["files"]} == {"survival-dwtdct.json", "survival-keyed.json"}
    for path in result["files"]:
        model = load_model(path)
        assert model.training["corpus_size"] == "quick"
        assert 0.0 <= survival_probability(model, _typical_clip(20)) <= 1.0
    text = (output / "SURVIVAL.md").read_text("utf-8")
    assert "## Mark survival: calibrated absence" in text
    assert "| source clips (grouped 5-fold) |" in text
    assert (output / "survival_reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = cache.read_text("utf-8").splitlines()
    again = survival.collect(quick_slice, jobs=1, cache=cache, grid=False)  # all from the cache
    assert len(again) == len(lines)
    assert cache.read_text("utf-8").splitlines() == lines
    assert all(record["label"]["detected"] in (True, False) for record in again)


@pytest.mark.shared
@pytest.mark.slow
def test_the_grid_adds_codecs_in_the_manifest_format(quick_slice: Path) -> None:
    from datasets import evaluate
    from datasets.corpus import MANIFEST_FIELDS
    from datasets.survival_grid import GRID_MANIFEST, build_grid, grid_attacks

    items, _ = evaluate._load(quick_slice)
    sources = {}
    for item in items:
        kind = (item["mark"], item["kind"])
        if item["attack"] == "none" and item["mark"] != "none" and kind not in sources:
            sources[kind] = item
    chosen = list(sources.values())
    assert len(chosen) == 3  # a dwtDct clip, a dwtDct image, a keyed clip
    made = build_grid(quick_slice, chosen, jobs=2)
    assert len(made) == sum(len(grid_attacks(item)) for item in chosen)
    codecs = {record["codec"] for record in made}
    assert {"libx265", "libvpx-vp9", "libsvtav1", "mpeg4", "libwebp", "mjpeg"} <= codecs
    by_path = {item["path"]: item for item in chosen}
    for record in made:
        assert list(record) == list(MANIFEST_FIELDS)
        assert (quick_slice / record["path"]).is_file()
        parent = by_path[record["parent"]]
        assert record["root"] == parent["root"]
        assert record["mark"] == parent["mark"]
        assert record["key"] == parent["key"]
    listed = (quick_slice / GRID_MANIFEST).read_text("utf-8").splitlines()
    assert build_grid(quick_slice, chosen, jobs=1) == made  # resumed: nothing made again
    assert (quick_slice / GRID_MANIFEST).read_text("utf-8").splitlines() == listed
