"""The evaluation corpus builder (``datasets.corpus``), on its quick size.

One quick corpus is built per test module (about 20 s on 2 cores); the determinism checks
rebuild a single root (with everything derived from it) into fresh folders.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import datasets.corpus
from datasets.corpus import marking
from provenance.media.frames import sample_frames
from provenance.media.sampling import Sampling, SamplingMode
from provenance.watermark import dwtdct_frame, dwtdct_reference, dwtdct_scheme, keyed, keyed_clip
from provenance.watermark.payloads import PAYLOADS, payload_by_name
from provenance.watermark.policy import keyed_threshold

pytestmark = [pytest.mark.shared, pytest.mark.slow]

SEED = 20261124
ALL_FRAMES = Sampling(SamplingMode.ALL)
HYPOTHESES = {hypothesis.name: hypothesis for hypothesis in dwtdct_scheme.ALL_HYPOTHESES}
KEYED_THRESHOLD = keyed_threshold(keyed.hypotheses_per_frame())


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    return datasets.corpus


@pytest.fixture(scope="module")
def corpus(
    builder: ModuleType, shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, dict[str, Any]]]:
    outdir = tmp_path_factory.mktemp("quick-corpus")
    manifest_path = builder.build_corpus(outdir, seed=SEED, size="quick", shared=shared_dir, jobs=2)
    assert manifest_path == outdir / "corpus.jsonl"
    records = [json.loads(line) for line in manifest_path.read_text("utf-8").splitlines()]
    return outdir, {record["path"]: record for record in records}


def frames_of(path: Path, *, colour: bool = False) -> list[Any]:
    return list(sample_frames(path, ALL_FRAMES, colour=colour))


def best_z(image_bgr: np.ndarray, hypothesis: dwtdct_scheme.Hypothesis) -> dict[str, float]:
    results = dwtdct_reference.decode(image_bgr, hypotheses=[hypothesis])
    return {result.payload: (result.z if result.z is not None else -math.inf) for result in results}


def max_null_z(image_bgr: np.ndarray) -> float:
    values = [result.z for result in dwtdct_reference.decode(image_bgr) if result.z is not None]
    return max(values)


def clip_z(path: Path, key: str) -> float:
    scores = [keyed.score_frame(frame.luma, key) for frame in frames_of(path)]
    return keyed_clip.combine_frames(scores).z


# --------------------------------------------------------------------------- manifest


def test_manifest_schema_and_every_file_decodes(
    builder: ModuleType, corpus: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    outdir, records = corpus
    assert len(records) > 300
    for path, record in records.items():
        assert tuple(record)[: len(builder.MANIFEST_FIELDS)] == builder.MANIFEST_FIELDS, path
        assert record["kind"] in ("video", "image")
        assert record["mark"] in ("none", "dwtdct", "keyed")
        assert record["content"] in (
            "natural",
            "photo",
            "textured",
            "smooth",
            "dark",
            "cartoon",
            "colour",
        )
        assert (record["payload"] is not None) == (record["mark"] == "dwtdct")
        assert (record["hypothesis"] is not None) == (record["mark"] == "dwtdct")
        assert (record["key"] is not None) == (record["mark"] == "keyed")
        assert (record["parent"] is None) == (
            record["mark"] == "none" and record["attack"] == "none"
        )
        if record["parent"] is not None:
            assert record["parent"] in records
        if record["writer"] is not None:  # written as a generator writes: attack names it
            assert record["attack"] == record["writer"]
        assert records[record["root"]]["attack"] == "none"
        assert records[record["root"]]["mark"] == "none"
        file = outdir / path
        assert file.is_file()
        assert file.stat().st_size == record["bytes"]
        decoded = frames_of(file)
        assert len(decoded) == record["frames"], path
        assert (decoded[0].width, decoded[0].height) == (record["width"], record["height"]), path
        if record["kind"] == "video":
            assert record["duration_seconds"] == pytest.approx(
                record["frames"] / record["fps"], abs=1e-5
            )
        else:
            assert record["frames"] == 1
            assert record["fps"] is None
    # every class is present
    marks_attacks = {(record["mark"], record["attack"]) for record in records.values()}
    for attack in builder.VIDEO_ATTACKS:
        assert ("keyed", attack.name) in marks_attacks
        assert ("none", attack.name) in marks_attacks
    for attack in builder.IMAGE_ATTACKS:
        assert ("dwtdct", attack.name) in marks_attacks
        assert ("none", attack.name) in marks_attacks
    variants = {
        (record["payload"], record["hypothesis"])
        for record in records.values()
        if record["mark"] == "dwtdct" and record["attack"] == "none"
    }
    assert len(variants) == len(PAYLOADS) * len(dwtdct_scheme.ALL_HYPOTHESES)


def test_summary_names_seed_versions_and_counts(
    corpus: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    outdir, records = corpus
    summary = json.loads((outdir / "CORPUS.json").read_text("utf-8"))
    assert summary["seed"] == SEED
    assert summary["size"] == "quick"
    assert summary["keyed_key"] == f"corpus-key-{SEED}"
    assert summary["items"] == len(records)
    assert {"python", "av", "ffmpeg", "opencv", "numpy", "skimage"} <= set(summary["versions"])
    unmarked = summary["counts"]["unmarked"]
    frames = sum(r["frames"] for r in records.values() if r["mark"] == "none")
    assert unmarked["frames_plus_images"] == frames
    assert summary["counts"]["lossless_items_verified_bit_exact"] >= 20
    assert summary["build_seconds"] > 0
    writer_items = summary["counts"]["generator_writer_items"]
    for name in (
        "svd/svd_mp4v",
        "svd/svd_imageio_crf25",
        "svd_xt/svd_mp4v",
        "svd_xt/svd_imageio_crf25",
        "sdxl/sdxl_png",
        "flux/flux_jpeg95_444",
    ):
        assert writer_items[name] == {"dwtdct": 1, "none": 1}, name
    assert set(summary["writers"]) == {w.split("/")[1] for w in writer_items}
    # reported by the workers themselves, not assumed: byte-reproducibility rests on it (glibc)
    assert summary["heap_perturbation"] is True


# --------------------------------------------------------------------------- marks


def test_dwtdct_lossless_images_decode_to_their_payload_and_their_parent_does_not(
    corpus: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    outdir, records = corpus
    marked = [
        r
        for r in records.values()
        if r["mark"] == "dwtdct" and r["attack"] == "none" and r["kind"] == "image"
    ]
    assert len(marked) >= 20
    parents = {record["parent"] for record in marked}
    for parent in parents:
        (frame,) = frames_of(outdir / parent, colour=True)
        assert max_null_z(frame.bgr) < 7, parent
    for record in marked:
        (frame,) = frames_of(outdir / record["path"], colour=True)
        scores = best_z(frame.bgr, HYPOTHESES[record["hypothesis"]])
        assert max(scores, key=lambda name: scores[name]) == record["payload"], record["path"]
        assert scores[record["payload"]] >= 20, record["path"]


def test_dwtdct_lossless_clip_is_bit_exact_and_decodes(
    corpus: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    outdir, records = corpus
    clips = [
        r
        for r in records.values()
        if r["mark"] == "dwtdct" and r["attack"] == "none" and r["kind"] == "video"
    ]
    assert len(clips) == 20
    record = next(r for r in clips if r["payload"] == "sdxl" and r["hypothesis"] == "float32-bgr")
    assert record["codec"] == "ffv1"
    assert record["pix_fmt"] == "bgr0"
    assert record["lossless"]
    assert record["lossless_max_abs_diff"] == 0
    marked = frames_of(outdir / record["path"], colour=True)
    parent = frames_of(outdir / record["parent"], colour=True)[: len(marked)]
    payload = payload_by_name(record["payload"])
    hypothesis = HYPOTHESES[record["hypothesis"]]
    for decoded, original in zip(marked, parent, strict=True):
        # the file holds exactly what the embedder produced from the parent's frame (chroma too)
        expected = marking._dwtdct_mark(
            original.bgr, payload, hypothesis, record["embed"]["finalize"]
        )
        assert np.array_equal(decoded.bgr, expected)
    scores = best_z(marked[0].bgr, hypothesis)
    assert max(scores, key=lambda name: scores[name]) == "sdxl"
    assert scores["sdxl"] >= 10
    assert max_null_z(parent[0].bgr) < 7


def test_keyed_item_scores_high_at_its_key_and_its_parent_does_not(
    corpus: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    outdir, records = corpus
    record = records["keyed/natural_asl_gestures_bird/none.mp4"]
    assert record["key"] == f"corpus-key-{SEED}"
    assert record["parent"] == "unmarked/natural_asl_gestures_bird/none.mp4"
    assert clip_z(outdir / record["path"], record["key"]) > 20
    assert clip_z(outdir / record["parent"], record["key"]) < KEYED_THRESHOLD
    assert clip_z(outdir / record["path"], "some-other-key") < KEYED_THRESHOLD
    attacked = records["keyed/natural_asl_gestures_bird/h264_crf28.mp4"]
    assert attacked["parent"] == record["path"]
    assert clip_z(outdir / attacked["path"], record["key"]) > KEYED_THRESHOLD


# --------------------------------------------------------------------------- generators' writers


def stream_info(path: Path) -> dict[str, Any]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        return {
            "codec": context.name,
            "tag": stream.codec_tag if hasattr(stream, "codec_tag") else None,
            "pix_fmt": context.format.name if context.format is not None else None,
            "size": (context.width, context.height),
            "rate": stream.average_rate,
        }


def shipped_null_z(image_bgr: np.ndarray) -> float:
    """The largest z of the shipped (robust) statistic over every payload x hypothesis.

    The reference's iid z is not used here: on these 1024x1024 upscales of a 640x360 frame it
    reaches 12 for the InvokeAI payload (uint8-bgr) with no mark at all, the stripe pattern
    the robust statistic exists for.
    """
    values = [result.z for result in dwtdct_frame.aligned(image_bgr) if result.z is not None]
    return max(values)


def own_z(frame: Any, payload: str) -> float:
    """The z of ``payload`` under float32-bgr (the generators' hypothesis) at the frame's grid."""
    return best_z(frame.bgr, HYPOTHESES["float32-bgr"]).get(payload, -math.inf)


@pytest.mark.parametrize(("model", "length"), [("svd", 14), ("svd_xt", 25)])
def test_svd_clips_are_written_as_svd_writes_them(
    corpus: tuple[Path, dict[str, dict[str, Any]]], model: str, length: int
) -> None:
    outdir, records = corpus
    (root,) = [r for r in records.values() if model in r["tags"] and r["attack"] == "none"]
    assert (root["width"], root["height"], root["frames"], root["fps"]) == (1024, 576, length, 7)
    assert root["content"] == "natural"
    folder = Path(root["path"]).parent.name
    means: dict[tuple[str, str], float] = {}
    for mark, directory in (
        ("none", f"unmarked/{folder}"),
        ("dwtdct", f"dwtdct/sdxl/float32-bgr/{folder}"),
    ):
        mp4v = records[f"{directory}/svd_mp4v.mp4"]
        crf25 = records[f"{directory}/svd_imageio_crf25.mp4"]
        for record, writer in ((mp4v, "svd_mp4v"), (crf25, "svd_imageio_crf25")):
            assert record["writer"] == record["attack"] == writer
            assert record["mark"] == mark
            assert record["parent"] == record["root"] == root["path"]
            assert model in record["tags"]
            assert record["frames"] == length
            assert (record["width"], record["height"]) == (1024, 576)
        if mark == "dwtdct":
            assert mp4v["payload"] == "sdxl"
            assert mp4v["embed"]["finalize"] == "trunc"
        # SVD 2023: OpenCV's MPEG-4 Part 2 writer at 7 fps, an I-frame every 12 frames
        info = stream_info(outdir / mp4v["path"])
        assert (info["codec"], info["pix_fmt"], info["size"]) == ("mpeg4", "yuv420p", (1024, 576))
        assert info["tag"] in (None, "mp4v")
        assert info["rate"] == 7
        frames = frames_of(outdir / mp4v["path"], colour=True)
        assert len(frames) == length
        types = [frame.picture_type for frame in frames]
        assert types == ["I" if index % 12 == 0 else "P" for index in range(length)]
        scores = [own_z(frame, "sdxl") for frame in frames]
        means[mark, "svd_mp4v"] = float(np.mean([z for z in scores if math.isfinite(z)]))
        # SVD later: imageio-ffmpeg's defaults, libx264 CRF 25 yuv420p at 10 fps
        info = stream_info(outdir / crf25["path"])
        assert (info["codec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (1024, 576))
        assert info["rate"] == 10
        assert crf25["attack_params"]["crf"] == "25"
        frames = frames_of(outdir / crf25["path"], colour=True)
        assert len(frames) == length
        assert frames[0].picture_type == "I"
        assert "B" in {frame.picture_type for frame in frames}  # x264's defaults, B-frames on
        means[mark, "svd_imageio_crf25"] = own_z(frames[0], "sdxl")
    # the CRF 25 intra frame keeps the mark; MPEG-4 Part 2 weakens it but leaves a trace
    assert means["dwtdct", "svd_imageio_crf25"] >= 10
    assert means["none", "svd_imageio_crf25"] < 7
    assert means["dwtdct", "svd_mp4v"] > means["none", "svd_mp4v"] + 1


def test_sdxl_and_flux_stills_are_saved_as_their_pipelines_save_them(
    corpus: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    from PIL import Image, JpegImagePlugin

    outdir, records = corpus
    for model, writer, size in (
        ("sdxl", "sdxl_png", (1024, 1024)),
        ("flux", "flux_jpeg95_444", (1360, 768)),
    ):
        (root,) = [r for r in records.values() if model in r["tags"] and r["attack"] == "none"]
        assert (root["width"], root["height"]) == size
        folder = Path(root["path"]).parent.name
        suffix = ".png" if writer == "sdxl_png" else ".jpg"
        unmarked = records[f"unmarked/{folder}/{writer}{suffix}"]
        marked = records[f"dwtdct/{model}/float32-bgr/{folder}/{writer}{suffix}"]
        (parent,) = frames_of(outdir / root["path"], colour=True)
        for record in (unmarked, marked):
            assert record["writer"] == record["attack"] == writer
            assert record["parent"] == root["path"]
            assert (record["width"], record["height"]) == size
            info = stream_info(outdir / record["path"])
            assert (info["codec"], info["pix_fmt"]) == (
                ("png", "rgb24") if writer == "sdxl_png" else ("mjpeg", "yuvj444p")
            )
        (unmarked_frame,) = frames_of(outdir / unmarked["path"], colour=True)
        (marked_frame,) = frames_of(outdir / marked["path"], colour=True)
        assert own_z(marked_frame, model) >= 20
        assert shipped_null_z(unmarked_frame.bgr) < 7
        if writer == "sdxl_png":  # lossless: exactly the embedder's output and the root
            expected = marking._dwtdct_mark(
                parent.bgr,
                payload_by_name("sdxl"),
                HYPOTHESES["float32-bgr"],
                marked["embed"]["finalize"],
            )
            assert np.array_equal(marked_frame.bgr, expected)
            assert np.array_equal(unmarked_frame.bgr, parent.bgr)
        else:  # FLUX's save_image: Pillow JPEG quality 95, no chroma subsampling
            with Image.open(outdir / marked["path"]) as image:
                assert isinstance(image, JpegImagePlugin.JpegImageFile)
                assert JpegImagePlugin.get_sampling(image) == 0
                reference = outdir / "q95-reference.jpg"
                Image.new("RGB", (16, 16)).save(reference, quality=95, subsampling=0)
                with Image.open(reference) as expected_image:
                    assert image.quantization == expected_image.quantization  # type: ignore[attr-defined]
                reference.unlink()


# --------------------------------------------------------------------------- attacks


def test_attacked_items_have_the_attacked_geometry_and_rate(
    builder: ModuleType, corpus: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    outdir, records = corpus
    folder = "keyed/natural_bottle_s00_up480"
    marked = records[f"{folder}/none.mp4"]
    assert (marked["width"], marked["height"]) == (854, 480)
    assert "upscaled_480p" in marked["tags"]
    assert (marked["native_width"], marked["native_height"]) == (640, 360)

    def decoded(name: str) -> tuple[int, int, int, float | None]:
        frames = frames_of(outdir / f"{folder}/{name}")
        sampler_fps = records[f"{folder}/{name}"]["fps"]
        return frames[0].width, frames[0].height, len(frames), sampler_fps

    width, height, _, _ = decoded("scale50_crf23.mp4")
    assert abs(width - marked["width"] / 2) <= 1
    assert abs(height - marked["height"] / 2) <= 1
    x, y, crop_w, crop_h = builder.crop_box(marked["width"], marked["height"])
    assert x % 2 == 1
    assert y % 2 == 1
    assert decoded("crop10_crf23.mp4")[:2] == (crop_w, crop_h) == (768, 430)
    assert decoded("crop10_scale50_crf35.mp4")[:2] == (384, 216)
    assert decoded("scale75_crf23.mp4")[:2] == (640, 360)

    fps_item = records[f"{folder}/fps_resample_crf23.mp4"]
    assert marked["fps"] == pytest.approx(179 / 6, abs=1e-5)
    assert fps_item["fps"] == 24
    with_rate = list(sample_frames(outdir / fps_item["path"], ALL_FRAMES))
    assert len(with_rate) == fps_item["frames"] == round(marked["frames"] * 24 / (179 / 6))
    assert with_rate[-1].time_seconds == pytest.approx((len(with_rate) - 1) / 24, abs=0.002)

    image = records["unmarked/still_photo_astronaut/none.png"]
    assert (records["unmarked/still_photo_astronaut/scale50.png"]["width"]) == image["width"] // 2
    assert records["unmarked/still_photo_astronaut/crop10.png"]["width"] < image["width"]
    (jpeg,) = frames_of(outdir / "unmarked/still_photo_astronaut/jpeg90_420.jpg")
    assert (jpeg.width, jpeg.height) == (image["width"], image["height"])


def test_unmarked_attacked_brightness_moves_luma(
    corpus: tuple[Path, dict[str, dict[str, Any]]],
) -> None:
    outdir, _ = corpus
    folder = outdir / "unmarked/natural_asl_gestures_bird"
    base = float(np.mean(frames_of(folder / "h264_crf23.mp4")[0].luma))
    brighter = float(np.mean(frames_of(folder / "bright_p20_crf23.mp4")[0].luma))
    darker = float(np.mean(frames_of(folder / "bright_m20_crf23.mp4")[0].luma))
    assert brighter - base == pytest.approx(20, abs=3)
    assert base - darker == pytest.approx(20, abs=3)


# --------------------------------------------------------------------------- determinism


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_the_same_frames_and_another_seed_other_content(
    builder: ModuleType,
    corpus: tuple[Path, dict[str, dict[str, Any]]],
    shared_dir: Path,
    tmp_path: Path,
) -> None:
    outdir, records = corpus
    only = ["synth_cartoon_*"]
    again = builder.build_corpus(
        tmp_path / "again", seed=SEED, size="quick", shared=shared_dir, only=only
    ).parent
    other = builder.build_corpus(
        tmp_path / "other", seed=SEED + 1, size="quick", shared=shared_dir, only=only
    ).parent
    rebuilt = [json.loads(line) for line in (again / "corpus.jsonl").read_text().splitlines()]
    assert rebuilt
    assert all(r["path"].split("/")[1].startswith("synth_cartoon_") for r in rebuilt)
    names = [
        "unmarked/synth_cartoon_426x240_00/none.mp4",
        "unmarked/synth_cartoon_426x240_00/vp9_crf32.webm",
        "keyed/synth_cartoon_426x240_00/none.mp4",
        "keyed/synth_cartoon_426x240_00/crop10_scale50_crf35.mp4",
    ]
    for name in names:
        assert name in records
        first = frames_of(outdir / name, colour=True)
        second = frames_of(again / name, colour=True)
        assert len(first) == len(second) > 1
        for a, b in zip(first, second, strict=True):
            assert np.array_equal(a.bgr, b.bgr), name
        assert sha256(outdir / name) == sha256(again / name), name  # bit-exact muxing
    for record in rebuilt:
        assert record == records[record["path"]]
    base = names[0]
    mine = frames_of(outdir / base)
    theirs = frames_of(other / base)
    assert not np.array_equal(mine[0].luma, theirs[0].luma)
    other_records = [json.loads(line) for line in (other / "corpus.jsonl").read_text().splitlines()]
    assert {r["key"] for r in other_records if r["mark"] == "keyed"} == {f"corpus-key-{SEED + 1}"}


def test_generator_writers_are_byte_identical_between_builds(
    builder: ModuleType,
    corpus: tuple[Path, dict[str, dict[str, Any]]],
    shared_dir: Path,
    tmp_path: Path,
) -> None:
    outdir, records = corpus
    again = builder.build_corpus(
        tmp_path, seed=SEED, size="quick", shared=shared_dir, only=["svd_*", "flux_*"]
    ).parent
    rebuilt = [json.loads(line) for line in (again / "corpus.jsonl").read_text().splitlines()]
    writers = {r["writer"] for r in rebuilt if r["writer"]}
    assert writers == {"svd_mp4v", "svd_imageio_crf25", "flux_jpeg95_444"}
    for record in rebuilt:
        assert record == records[record["path"]]
        assert sha256(again / record["path"]) == sha256(outdir / record["path"]), record["path"]


def test_cli_builds_a_selection(builder: ModuleType, shared_dir: Path, tmp_path: Path) -> None:
    status = builder.main(
        [str(tmp_path), "--size", "quick", "--shared", str(shared_dir), "--only", "colour_*"]
    )
    assert status == 0
    records = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert {record["content"] for record in records} == {"colour"}
    assert len(records) == 4 * (1 + len(builder.IMAGE_ATTACKS))
    with pytest.raises(ValueError, match="no root"):
        builder.build_corpus(tmp_path, size="quick", shared=shared_dir, only=["nothing*"])
