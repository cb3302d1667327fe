"""Evaluate the watermark detectors on a corpus built by ``python -m datasets.corpus``.

Usage::

    python -m datasets.evaluate CORPUS_DIR [--jobs N] [--output datasets/RESULTS.md]
                                           [--frames-per-clip N] [--sampling evenly:8]
                                           [--keyed-only]

Two measurements, both printed and written to ``--output`` (Markdown):

1. **Robustness matrix.** Every marked item is checked exactly as a user would check it
   (``provenance.check`` with the default watermark options, plus the corpus key for keyed
   items). A hit is ``detected`` with the right mark: the item's own payload for dwtDct, the
   corpus key for the keyed mark. TPR per attack (and per payload x hypothesis for dwtDct),
   with the number of items, inconclusive results and the median statistic.
2. **False positives.** Every unmarked item (originals and every attack) is checked the same
   way, with the corpus key and a decoy key: a file-level false positive is any ``detected``.
   Then, frame by frame, up to ``--frames-per-clip`` frames of every unmarked clip and every
   unmarked image are scored on their own by the shipped detectors, through the same routing
   a check uses (:mod:`provenance.watermark.detect`): the dwtDct statistic at the frame's own
   alignment (frames the detector skips, too compressed or with subsampled chroma, are not
   scored, as in a check), the crop search on images, and the keyed-mark peak for the corpus
   key; each is compared with the single-frame thresholds. The bound a zero count supports is
   the "rule of three" (95 % upper bound 3 / N).

``--keyed-only`` measures the keyed mark alone (its marked items and every unmarked one, the
checks running that detector only): the run to repeat after a change to the keyed reader.

Both run on the project's worker pool (:mod:`provenance.batch.pool`), one isolated process per
``--jobs``.

From Python (``from datasets import evaluate``), :func:`evaluate` returns the tables.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from provenance import CheckOptions, check
from provenance._version import engine_versions
from provenance.batch.pool import Job, Task, WorkerPool
from provenance.media.sampling import Sampling, SamplingMode
from provenance.report import Detector
from provenance.watermark import keyed, policy
from provenance.watermark.detect import DetectorRun, sample_for
from provenance.watermark.detector import DetectionContext
from provenance.watermark.dwtdct_scheme import ALL_HYPOTHESES
from provenance.watermark.dwtdct_search import search_tests
from provenance.watermark.keys import keyed_mark_name
from provenance.watermark.options import DEFAULT_SAMPLING, CropSearch, WatermarkOptions
from provenance.watermark.payloads import PAYLOADS

__all__ = ["evaluate", "main", "start"]

#: The repository root, which the worker processes need on their path to import this module.
REPO = Path(__file__).resolve().parents[1]

DECOY_KEY = "decoy key that marked nothing"
#: The keyed-mark attacks the issue sets targets for, with the target TPR.
KEYED_TARGETS = {
    "h264_crf23": 0.99,
    "h264_crf28": 0.99,
    "h264_crf35": 0.99,
    "scale50_crf23": 0.99,
    "crop10_crf23": 0.99,
    "crop10_scale50_crf35": 0.95,
}


def _load(corpus: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    manifest = corpus / "corpus.jsonl"
    if not manifest.is_file():
        raise SystemExit(
            f"{manifest}: not found. Build a corpus first: python -m datasets.corpus DIR"
        )
    items = [json.loads(line) for line in manifest.read_text("utf-8").splitlines() if line]
    info_path = corpus / "CORPUS.json"
    info = json.loads(info_path.read_text("utf-8")) if info_path.is_file() else {}
    return items, info


# --------------------------------------------------------------------------- file level


def _detectors(keyed_only: bool) -> tuple[Detector, ...] | None:
    return (Detector.KEYED,) if keyed_only else None


def _check_item(
    corpus: str, item: Mapping[str, Any], key: str, sampling: str, keyed_only: bool = False
) -> dict[str, Any]:
    # A cropped dwtDct clip is only found with the crop search, which a user turns on for
    # video (--crop-search on); everything else is checked with the defaults.
    crop_search = CropSearch.AUTO
    if item["mark"] == "dwtdct" and item["kind"] == "video" and "crop" in item["attack"]:
        crop_search = CropSearch.ON
    options = CheckOptions(
        trust_sources=(),
        watermarks=WatermarkOptions(
            detectors=_detectors(keyed_only),
            keys=(key, DECOY_KEY),
            sampling=Sampling.parse(sampling),
            crop_search=crop_search,
        ),
    )
    started = time.perf_counter()
    report = check(Path(corpus) / item["path"], options)
    out: dict[str, Any] = {"path": item["path"], "seconds": time.perf_counter() - started}
    out["errors"] = [e.code for e in report.errors]
    for mark in report.watermarks:
        if mark.detector is Detector.DWTDCT:
            name = "dwtdct"
        elif mark.mark == keyed_mark_name(key):
            name = "keyed"
        else:
            name = "decoy"
        out[name] = {
            "state": mark.state.value,
            "mark": mark.mark,
            "z": mark.statistic,
            "threshold": mark.threshold,
            "frames": mark.frames_used,
            "summed": mark.summed_statistic,
            "best_frame": mark.best_frame_statistic,
        }
    return out


# --------------------------------------------------------------------------- frame level


def _frame_statistics(
    path: Path, options: WatermarkOptions
) -> tuple[str, int, dict[Detector, list[float]]]:
    """(kind, frames read, each detector's statistic per frame it could score) of one file,
    through the routing a check uses."""
    sampler = sample_for(path, options)
    run: DetectorRun | None = None
    scored: dict[Detector, list[float]] = collections.defaultdict(list)
    frames = 0
    for frame in sampler:
        frames += 1
        if run is None:  # the kind is known once a frame is out
            run = DetectorRun(
                options, DetectionContext("image" if sampler.kind == "image" else "video")
            )
        for detector, value in zip(run.detectors, run.add(frame), strict=True):
            if value is not None:
                scored[detector.name].append(value)
    return sampler.kind or "video", frames, scored


def _score_frames(
    corpus: str, item: Mapping[str, Any], key: str, limit: int, keyed_only: bool = False
) -> dict[str, Any]:
    path = Path(corpus) / item["path"]
    sampling = Sampling(SamplingMode.ALL, max_frames=limit)
    # each frame at its own alignment: no crop search, no resizing back
    own = WatermarkOptions(
        detectors=_detectors(keyed_only),
        keys=(key,),
        sampling=sampling,
        crop_search=CropSearch.OFF,
        resize_search=False,
    )
    kind, frames, scored = _frame_statistics(path, own)
    searched: list[float] = []
    if kind == "image" and not keyed_only:
        search = WatermarkOptions(
            detectors=(Detector.DWTDCT,),
            sampling=sampling,
            crop_search=CropSearch.ON,
            resize_search=False,
        )
        searched = _frame_statistics(path, search)[2][Detector.DWTDCT]
    return {
        "path": item["path"],
        "kind": item["kind"],
        "frames": frames,
        "dwtdct": scored[Detector.DWTDCT],
        "dwtdct_search": searched,
        "keyed": scored[Detector.KEYED],
    }


# --------------------------------------------------------------------------- tables


def _rate(hits: int, total: int) -> str:
    return "-" if total == 0 else f"{100.0 * hits / total:.1f}%"


def _upper_bound(count: int, total: int) -> str:
    """95 % upper bound of a rate seen ``count`` times in ``total`` (rule of three at 0)."""
    if total == 0:
        return "-"
    if count == 0:
        return f"{3.0 / total:.1e}"
    p = count / total
    return f"{min(1.0, p + 1.96 * math.sqrt(p * (1 - p) / total)):.1e}"


def _median(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


def _hit(item: dict[str, Any], result: dict[str, Any]) -> tuple[bool, bool, float | None]:
    """(hit, inconclusive, statistic) of a marked item."""
    if item["mark"] == "keyed":
        found = result.get("keyed", {})
        return (
            found.get("state") == "detected",
            found.get("state") == "inconclusive",
            found.get("z"),
        )
    found = result.get("dwtdct", {})
    hit = found.get("state") == "detected" and found.get("mark") == item["payload"]
    return hit, found.get("state") == "inconclusive", found.get("z")


def _keyed_matrix(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    rows = collections.defaultdict(list)
    for item, result in pairs:
        if item["mark"] == "keyed":
            rows[item["attack"]].append((item, result))
    lines = [
        "| attack | clips | detected | TPR | target | inconclusive | median z | min z |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for attack in sorted(rows, key=lambda a: (a != "none", a)):
        group = rows[attack]
        outcomes = [_hit(item, result) for item, result in group]
        hits = sum(1 for hit, _, _ in outcomes if hit)
        inconclusive = sum(1 for _, inc, _ in outcomes if inc)
        values = [z for _, _, z in outcomes if z is not None]
        target = KEYED_TARGETS.get(attack)
        verdict = "-"
        if target is not None:
            met = hits / len(group) >= target
            verdict = f"{target:.0%} " + ("met" if met else "**missed**")
        lines.append(
            f"| {attack} | {len(group)} | {hits} | {_rate(hits, len(group))} | {verdict} | "
            f"{inconclusive} | {_median(values)} | {min(values, default=float('nan')):.1f} |"
        )
    return lines


def _dwtdct_matrix(pairs: list[tuple[dict[str, Any], dict[str, Any]]], kind: str) -> list[str]:
    cells: dict[tuple[str, str], list[tuple[bool, bool, float | None]]] = collections.defaultdict(
        list
    )
    attacks: set[str] = set()
    for item, result in pairs:
        if item["mark"] != "dwtdct" or item["kind"] != kind:
            continue
        variant = f"{item['payload']} {item['hypothesis']}"
        cells[variant, item["attack"]].append(_hit(item, result))
        attacks.add(item["attack"])
    if not cells:
        return [f"(no dwtDct-marked {kind} items)"]
    ordered = sorted(attacks, key=lambda a: (a != "none", a))
    lines = [
        "| payload / hypothesis | " + " | ".join(ordered) + " |",
        "|---|" + "---:|" * len(ordered),
    ]
    variants = sorted({variant for variant, _ in cells})
    for variant in variants:
        row = []
        for attack in ordered:
            outcomes = cells.get((variant, attack), [])
            hits = sum(1 for hit, _, _ in outcomes if hit)
            inconclusive = sum(1 for _, inc, _ in outcomes if inc)
            text = f"{hits}/{len(outcomes)}" if outcomes else "-"
            if inconclusive:
                text += f" ({inconclusive} inc.)"
            row.append(text)
        lines.append(f"| {variant} | " + " | ".join(row) + " |")
    totals = []
    for attack in ordered:
        outcomes = [o for (v, a), group in cells.items() if a == attack for o in group]
        hits = sum(1 for hit, _, _ in outcomes if hit)
        inconclusive = sum(1 for _, inc, _ in outcomes if inc)
        text = f"**{_rate(hits, len(outcomes))}**"
        if inconclusive:
            text += f" ({_rate(inconclusive, len(outcomes))} inc.)"
        totals.append(text)
    lines.append("| **all** | " + " | ".join(totals) + " |")
    return lines


def _file_fp_table(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]], keyed_only: bool = False
) -> list[str]:
    rows = collections.defaultdict(list)
    for item, result in pairs:
        if item["mark"] == "none":
            rows[(item["kind"], item["attack"])].append(result)
    lines = [
        "| kind | attack | files | dwtDct detected | dwtDct inconclusive | keyed (corpus key) "
        "detected | keyed (decoy key) detected | max dwtDct z | max keyed z |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals: collections.Counter[str] = collections.Counter()
    for (kind, attack), group in sorted(rows.items()):
        dwt = sum(1 for r in group if r.get("dwtdct", {}).get("state") == "detected")
        inc = sum(1 for r in group if r.get("dwtdct", {}).get("state") == "inconclusive")
        key = sum(1 for r in group if r.get("keyed", {}).get("state") == "detected")
        decoy = sum(1 for r in group if r.get("decoy", {}).get("state") == "detected")
        dz = [r["dwtdct"]["z"] for r in group if r.get("dwtdct", {}).get("z") is not None]
        kz = [r["keyed"]["z"] for r in group if r.get("keyed", {}).get("z") is not None]
        totals.update(files=len(group), dwt=dwt, inc=inc, key=key, decoy=decoy)
        lines.append(
            f"| {kind} | {attack} | {len(group)} | {dwt} | {inc} | {key} | {decoy} | "
            f"{max(dz, default=float('nan')):.2f} | {max(kz, default=float('nan')):.2f} |"
        )
    lines.append(
        f"| **all** | | **{totals['files']}** | **{totals['dwt']}** | {totals['inc']} | "
        f"**{totals['key']}** | **{totals['decoy']}** | | |"
    )
    if keyed_only:  # dwtDct did not run: drop its three columns
        lines = [
            "|".join(c for i, c in enumerate(line.split("|")) if i not in (4, 5, 8))
            for line in lines
        ]
    return lines


def _clip_fp_table(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    """The dwtDct statistic of every unmarked clip's frames combined, by codec."""
    rows = collections.defaultdict(list)
    for item, result in pairs:
        summed = result.get("dwtdct", {}).get("summed")
        if item["mark"] == "none" and item["kind"] == "video" and summed is not None:
            rows[item.get("codec") or "?"].append(float(summed))
    lines = [
        "| codec | clips | combined z above 5.5 (the lowest floor) | max | 99th percentile | "
        "mean | std |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    every = [z for values in rows.values() for z in values]
    for codec, values in [*sorted(rows.items()), ("**all**", every)]:
        if not values:
            continue
        array = np.asarray(values)
        lines.append(
            f"| {codec} | {len(values):,} | {int(np.count_nonzero(array >= 5.5))} | "
            f"{array.max():.2f} | {np.percentile(array, 99):.2f} | {array.mean():.2f} | "
            f"{array.std():.2f} |"
        )
    return lines


def _frame_fp_table(
    scores: list[dict[str, Any]], keyed_only: bool = False
) -> tuple[list[str], dict[str, Any]]:
    dwt = [z for s in scores for z in s["dwtdct"]]
    dwt_search = [z for s in scores for z in s["dwtdct_search"]]
    key = [z for s in scores for z in s["keyed"]]
    frames = sum(s["frames"] for s in scores if s["kind"] == "video")
    images = sum(s["frames"] for s in scores if s["kind"] == "image")
    tests_frame = keyed.hypotheses_per_frame()
    aligned_tests = len(PAYLOADS) * len(ALL_HYPOTHESES)
    search_total = sum(search_tests(payload) for payload in PAYLOADS) * len(ALL_HYPOTHESES)
    thresholds = {
        f"dwtDct, frame's own alignment ({aligned_tests} payload x hypothesis tests; against "
        "the lowest payload floor, SDXL / FLUX's)": (
            dwt,
            policy.dwtdct_threshold(aligned_tests, floor=policy.DWTDCT_PLAIN_Z_FLOOR),
        ),
        f"dwtDct, crop search on images ({search_total / 1e6:.1f} million tests)": (
            dwt_search,
            policy.dwtdct_threshold(search_total, searched=True),
        ),
        f"keyed mark, one frame's peak ({tests_frame:,} shifts x scales; clip rule 2x)": (
            key,
            policy.keyed_threshold(tests_frame * 2),
        ),
    }
    lines = [
        f"Unmarked material scored frame by frame: **{frames:,} video frames and {images:,} "
        f"images ({frames + images:,} in all)**.",
        "",
        "| statistic | scored | threshold | above threshold | 95% upper bound on the rate | "
        "max | 99.9th percentile | mean | std |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    summary: dict[str, Any] = {"frames": frames, "images": images}
    for name, (values, threshold) in thresholds.items():
        if not values:
            if keyed_only:
                continue  # the other detectors did not run
            lines.append(f"| {name} | 0 | {threshold:.2f} | - | - | - | - | - | - |")
            continue
        array = np.asarray(values)
        above = int(np.count_nonzero(array >= threshold))
        summary[name] = {"n": len(values), "above": above, "max": float(array.max())}
        lines.append(
            f"| {name} | {len(values):,} | {threshold:.2f} | **{above}** | "
            f"{_upper_bound(above, len(values))} | {array.max():.2f} | "
            f"{np.percentile(array, 99.9):.2f} | {array.mean():.2f} | {array.std():.2f} |"
        )
    return lines, summary


# --------------------------------------------------------------------------- driver


def start(setup: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """In a worker process of the pool: the handler of one measurement (``{"measure": "check"
    or "frames", "item": ...}``)."""
    import cv2

    cv2.setNumThreads(1)  # one task per process
    corpus, key = setup["corpus"], setup["key"]

    def handle(payload: Mapping[str, Any]) -> dict[str, Any]:
        only = bool(setup.get("keyed_only"))
        if payload["measure"] == "check":
            return _check_item(corpus, payload["item"], key, setup["sampling"], only)
        return _score_frames(corpus, payload["item"], key, setup["frames_per_clip"], only)

    return handle


def _measure(
    pool: WorkerPool, measure: str, items: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One measurement of every item on the pool, in item order; progress every 50."""
    started = time.perf_counter()
    tasks = (
        Task(number, {"measure": measure, "item": dict(item)}) for number, item in enumerate(items)
    )
    results: dict[int, dict[str, Any]] = {}
    for outcome in pool.run(tasks):
        if outcome.result is None:
            path = items[outcome.task.id]["path"]
            raise RuntimeError(f"{measure} of {path} failed ({outcome.stopped}): {outcome.message}")
        results[outcome.task.id] = dict(outcome.result)
        done = len(results)
        if done % 50 == 0 or done == len(items):
            elapsed = time.perf_counter() - started
            print(f"  {measure}: {done}/{len(items)} in {elapsed:.0f} s", file=sys.stderr)
    return [results[number] for number in range(len(items))]


def evaluate(
    corpus: Path,
    *,
    jobs: int = 2,
    frames_per_clip: int = 60,
    sampling: str = str(DEFAULT_SAMPLING),
    keyed_only: bool = False,
) -> dict[str, Any]:
    """Run both measurements; return the Markdown lines and the summary figures."""
    items, info = _load(corpus)
    if keyed_only:
        items = [item for item in items if item["mark"] in ("keyed", "none")]
    keys = {item["key"] for item in items if item.get("key")}
    if len(keys) > 1:
        raise SystemExit(f"the corpus holds several keyed-mark keys ({len(keys)}); expected one")
    key = keys.pop() if keys else "corpus key"
    started = time.perf_counter()
    unmarked = [item for item in items if item["mark"] == "none"]
    setup = {
        "corpus": str(Path(corpus).resolve()),
        "key": key,
        "sampling": sampling,
        "frames_per_clip": frames_per_clip,
        "keyed_only": keyed_only,
    }
    job = Job("datasets.evaluate:start", setup)
    with WorkerPool(job, jobs=jobs, python_path=[REPO], show_errors=True) as pool:
        checked = _measure(pool, "check", items)
        scores = _measure(pool, "frames", unmarked)
    pairs = list(zip(items, checked, strict=True))
    frame_lines, frame_summary = _frame_fp_table(scores, keyed_only)
    elapsed = time.perf_counter() - started
    versions = engine_versions()
    head = [
        f"- **Corpus:** `{corpus}`, seed {info.get('seed', '?')}, size "
        f"{info.get('size', '?')}, {len(items):,} items ({len(unmarked):,} unmarked); built "
        f"with {info.get('versions', {})}.",
        f"- **Run:** {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} min with "
        f"{jobs} workers on {len(os.sched_getaffinity(0))} CPUs ({platform.machine()}); "
        f"sampling `{sampling}` for the file-level checks, up to {frames_per_clip} frames per "
        "clip for the frame-level table.",
        "- **Versions:** "
        + ", ".join(f"{k} {v}" for k, v in versions.items() if k != "python")
        + f", python {platform.python_version()}.",
    ]
    file_errors = sum(1 for r in checked if r["errors"])
    lines = [
        "## Keyed mark: per-clip TPR by attack",
        "",
        "Checked with the corpus key at the default threshold (false-positive rate 10⁻⁶ per "
        "clip). Targets from the watermark issue: at least 99 % under H.264 CRF 23/28/35, 0.5x "
        "downscale and 10 % crop; at least 95 % under crop + 0.5x + CRF 35.",
        "",
        *_keyed_matrix(pairs),
        "",
    ]
    if not keyed_only:
        lines += _dwtdct_lines(pairs)
    lines += [
        "## False positives: every unmarked file, checked as a user would",
        "",
        *_file_fp_table(pairs, keyed_only),
        "",
        "## False positives: unmarked frames and images scored one by one",
        "",
        *frame_lines,
        "",
        f"Files with an error in their report: {file_errors}.",
    ]
    return {
        "head": head,
        "lines": lines,
        "frames": frame_summary,
        "items": len(items),
        "checked": checked,
    }


def _dwtdct_lines(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[str]:
    return [
        "## dwtDct: detections with the right payload, images",
        "",
        *_dwtdct_matrix(pairs, "image"),
        "",
        "## dwtDct: detections with the right payload, clips",
        "",
        "Cropped clips are checked with `--crop-search on` (the default searches still images "
        "only); the other columns with the defaults.",
        "",
        *_dwtdct_matrix(pairs, "video"),
        "",
        "## False positives: unmarked clips, the frames combined",
        "",
        "dwtDct's clip statistic (every payload x hypothesis summed over all frames and over "
        "the I-frames; the payload nearest its threshold) of every unmarked clip, checked "
        "with the defaults.",
        "",
        *_clip_fp_table(pairs),
        "",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("corpus", type=Path, help="corpus folder (with corpus.jsonl)")
    parser.add_argument(
        "--jobs", type=int, default=len(os.sched_getaffinity(0)), help="worker processes"
    )
    parser.add_argument(
        "--frames-per-clip",
        type=int,
        default=60,
        help="frames of each unmarked clip scored one by one (default 60)",
    )
    parser.add_argument(
        "--sampling",
        default=str(DEFAULT_SAMPLING),
        help="frame sampling of the file-level checks (default: the check's default)",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="Markdown file to write (default: print only)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="also write every file-level check result as JSON lines (for re-analysis)",
    )
    parser.add_argument(
        "--keyed-only",
        action="store_true",
        help="measure the keyed mark alone (its marked items and every unmarked one)",
    )
    arguments = parser.parse_args(argv)
    result = evaluate(
        arguments.corpus,
        jobs=max(1, arguments.jobs),
        frames_per_clip=arguments.frames_per_clip,
        sampling=arguments.sampling,
        keyed_only=arguments.keyed_only,
    )
    text = "\n".join(
        [
            "# Watermark detection: robustness and false positives",
            "",
            "Written by `python -m datasets.evaluate` on a corpus from "
            "`python -m datasets.corpus` (see datasets/README.md).",
            "",
            *result["head"],
            "",
            *result["lines"],
        ]
    )
    print(text)
    if arguments.results is not None:
        with arguments.results.open("w", encoding="utf-8") as out:
            for record in result["checked"]:
                out.write(json.dumps(record, sort_keys=True) + "\n")
    if arguments.output is not None:
        arguments.output.write_text(text + "\n", "utf-8")
        print(f"wrote {arguments.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
