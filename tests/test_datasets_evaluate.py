"""The evaluation harness (datasets/evaluate.py) on a small slice of the quick corpus: it runs
the shipped detectors through the routing a check uses, on the project's worker pool."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import datasets.corpus
from datasets import evaluate

pytestmark = [pytest.mark.shared, pytest.mark.slow]


@pytest.fixture(scope="module")
def evaluated(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    outdir = tmp_path_factory.mktemp("slice")
    datasets.corpus.build_corpus(
        outdir,
        size="quick",
        shared=shared_dir,
        jobs=2,
        only=["natural_asl_gestures_bird", "still_photo_camera"],
    )
    result: dict[str, Any] = evaluate.evaluate(outdir, jobs=1, frames_per_clip=4)
    result["text"] = "\n".join(result["lines"])
    result["corpus"] = str(outdir)
    return result


def rows(text: str, heading: str) -> list[list[str]]:
    """The table rows under a Markdown heading, as lists of cells."""
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_keyed_matrix_counts_every_attack(evaluated: dict[str, Any]) -> None:
    table = rows(evaluated["text"], "Keyed mark: per-clip TPR by attack")
    by_attack = {row[0]: row for row in table}
    assert {"none", "h264_crf23", "crop10_scale50_crf35"} <= set(by_attack)
    assert all(row[1] == "1" for row in table)  # one keyed clip per attack in this slice
    assert by_attack["none"][2] == "1"  # the unattacked marked clip is found
    assert by_attack["h264_crf23"][4].startswith("99%")  # targets are shown where set


def test_false_positive_tables(evaluated: dict[str, Any]) -> None:
    files = rows(evaluated["text"], "False positives: every unmarked file, checked as a user would")
    total = files[-1]
    assert total[0] == "**all**"
    assert int(total[2].strip("*")) >= 20  # unmarked clip and image, under every attack
    assert total[3] == total[5] == total[6] == "**0**"  # no detection of any kind
    frames = evaluated["frames"]
    assert frames["frames"] > 0
    assert frames["images"] > 0
    measured = [value for key, value in frames.items() if isinstance(value, dict)]
    assert measured
    assert all(entry["above"] == 0 for entry in measured)
    assert "Files with an error in their report: 0." in evaluated["text"]
    clips = rows(evaluated["text"], "False positives: unmarked clips, the frames combined")
    assert clips[-1][0] == "**all**"
    assert int(clips[-1][1].replace(",", "")) >= 5  # every unmarked clip's frames combined
    assert clips[-1][2] == "0"  # none reaches even the lowest floor
    summed = [r["dwtdct"]["summed"] for r in evaluated["checked"] if "dwtdct" in r]
    assert any(value is not None for value in summed)


def test_dwtdct_matrix_is_empty_for_a_slice_without_dwtdct_items(evaluated: dict[str, Any]) -> None:
    assert "(no dwtDct-marked image items)" in evaluated["text"]


def test_dwtdct_matrix_counts_right_payload_hits_and_inconclusive_results() -> None:
    # The corpus slice above holds no dwtDct-marked item, so the matrix is checked here on
    # hand-made results: a hit needs the item's own payload, not just any detection.
    def pair(payload: str, attack: str, state: str, mark: str | None) -> tuple[dict, dict]:
        item = {"mark": "dwtdct", "kind": "image", "payload": payload,
                "hypothesis": "uint8-bgr", "attack": attack}  # fmt: skip
        return item, {"dwtdct": {"state": state, "mark": mark, "z": 12.0}}

    pairs = [
        pair("sdxl", "none", "detected", "sdxl"),
        pair("sdxl", "none", "detected", "flux"),  # the wrong payload is a miss
        pair("sdxl", "jpeg90_420", "inconclusive", None),
        pair("flux", "none", "not_detected", None),
    ]
    lines = evaluate._dwtdct_matrix(pairs, "image")
    assert lines[0] == "| payload / hypothesis | none | jpeg90_420 |"
    assert "| flux uint8-bgr | 0/1 | - |" in lines
    assert "| sdxl uint8-bgr | 1/2 | 0/1 (1 inc.) |" in lines
    assert lines[-1] == "| **all** | **33.3%** | **0.0%** (100.0% inc.) |"
    assert evaluate._dwtdct_matrix(pairs, "video") == ["(no dwtDct-marked video items)"]


def test_keyed_only_runs_the_keyed_detector_alone(evaluated: dict[str, Any]) -> None:
    # the slice's corpus folder is the one the module fixture built
    corpus = Path(evaluated["corpus"])
    result = evaluate.evaluate(corpus, jobs=1, frames_per_clip=2, keyed_only=True)
    text = "\n".join(result["lines"])
    assert "dwtDct" not in text  # neither its tables nor its columns
    assert all("dwtdct" not in record for record in result["checked"])
    assert all("keyed" in record for record in result["checked"])
    matrix = {row[0]: row for row in rows(text, "Keyed mark: per-clip TPR by attack")}
    assert matrix["none"][2] == "1"
    files = rows(text, "False positives: every unmarked file, checked as a user would")
    assert len(files[0]) == 6  # kind, attack, files, key, decoy key, max keyed z
    assert files[-1][3] == files[-1][4] == "**0**"
    keyed_frames = [value for value in result["frames"].values() if isinstance(value, dict)]
    assert len(keyed_frames) == 1
    assert keyed_frames[0]["above"] == 0
