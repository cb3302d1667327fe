"""Train the mark-survival models on a corpus built by ``python -m datasets.corpus``.

Usage::

    python -m datasets.survival CORPUS_DIR [--jobs N] [--output DIR] [--install]
                                           [--cache FILE] [--sampling auto:8] [--scorer best]

A survival model gives the probability that a mark of one kind (dwtDct; keyed) would be
detected by the default check in a file, had it been embedded before the file was made, from
the file's measurable properties (:mod:`provenance.watermark.survival`). The labels are exact:

1. every marked item of the corpus (``mark`` dwtdct or keyed), and of its survival grid
   (:mod:`datasets.survival_grid`: more codecs and qualities), is read once with the options
   ``datasets/evaluate.py`` uses (the default watermark options and the corpus key; the crop
   search on cropped dwtDct clips), only the item's own detector running; its label is
   "detected with the right mark" (the evaluation's own hit rule);
2. the same frames give the file's features, through the collector a check runs;
3. scikit-learn fits a scorer (logistic regression, gradient-boosted trees) plus an isotonic
   calibration, evaluated grouped by source clip and with whole codecs held out
   (:mod:`datasets.survival_fit`).

Per-item results are cached in a JSON Lines file (``--cache``, default
``CORPUS_DIR/survival-items.jsonl``), keyed by a digest of the code that makes them: a rerun
re-reads an item only when the detectors, the collector, the sampling or the media code
changed. Writes ``SURVIVAL.md`` (a section for
``datasets/RESULTS.md``), ``survival_reliability.png`` and ``survival-<detector>.json`` into
``--output`` (default ``datasets/``; the model files into ``survival-models/`` under it);
``--install`` also copies the models into ``provenance/watermark/models/``.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from datasets import evaluate
from datasets.survival_grid import jsonl_records
from provenance.batch.pool import Job, Task, WorkerPool
from provenance.watermark.options import DEFAULT_SAMPLING

__all__ = ["DWTDCT_EDITS", "EDITS", "collect", "is_edit", "main", "start", "train"]

#: The repository root: workers need it on their path, digests read the sources under it.
REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "provenance"
#: Where ``--install`` puts the models (package data, see pyproject.toml).
MODELS_DIR = PACKAGE / "watermark" / "models"
#: The marks a model is trained for (the corpus's ``mark`` field).
MARKS = ("dwtdct", "keyed")

#: Attacks that edit the picture rather than re-encode it, left out of training: brightness
#: changes, and (for dwtDct) a resize that is not undone (the detector reads pictures back at
#: the generators' native sizes; at any other size the mark is gone). A file cannot show that
#: it was edited, and a model answers what the encoding of a file left of a mark. The keyed
#: mark's resizes stay: it is read at any scale.
EDITS = ("bright_",)
DWTDCT_EDITS = ("scale50",)


def is_edit(item: Mapping[str, Any]) -> bool:
    """Whether a corpus item's attack is an edit (:data:`EDITS`, :data:`DWTDCT_EDITS`)."""
    attack = str(item["attack"])
    if any(part in attack for part in EDITS):
        return True
    return item["mark"] == "dwtdct" and attack in DWTDCT_EDITS


#: Files of the check path that do not change a label or a feature (they weigh an absence
#: with a shipped model, which never turns a miss into a detection).
_NEUTRAL = ("watermark/survival_model.py", "watermark/absence.py")


def _digest(paths: Sequence[Path], *extra: str) -> str:
    sha = hashlib.sha256()
    for path in sorted(paths):
        sha.update(str(path.relative_to(REPO)).encode())
        sha.update(path.read_bytes())
    for text in extra:
        sha.update(text.encode())
    return sha.hexdigest()[:16]


def code_key(sampling: str) -> str:
    """A digest of the code behind an item's record (media reading, the detectors and the
    feature collector, the check's options, the evaluation's hit rule, :func:`_measure`): a
    cached record is used only while it is unchanged."""
    sources = [
        path
        for folder in ("media", "watermark")
        for path in (PACKAGE / folder).glob("*.py")
        if str(path.relative_to(PACKAGE)) not in _NEUTRAL
    ]
    sources += [PACKAGE / "options.py", REPO / "datasets" / "evaluate.py"]
    return _digest(sources, sampling, inspect.getsource(_measure))


# --------------------------------------------------------------------------- one item


def _measure(corpus: str, item: Mapping[str, Any], key: str, sampling: str) -> dict[str, Any]:
    """One marked item, read once through the check's own routing: the detector of the item's
    mark over the frames a check samples (the options of ``evaluate._check_item``: defaults,
    the corpus key, the crop search on cropped dwtDct clips), the evaluation's hit rule as the
    label, and the survival features of the same frames."""
    from provenance.media.probe import probe
    from provenance.media.sampling import Sampling
    from provenance.report import Detector
    from provenance.watermark.detect import detect_watermarks
    from provenance.watermark.options import CropSearch, WatermarkOptions
    from provenance.watermark.survival import FileFacts

    keyed = item["mark"] == "keyed"
    crop_search = CropSearch.AUTO
    if not keyed and item["kind"] == "video" and "crop" in item["attack"]:
        crop_search = CropSearch.ON
    options = WatermarkOptions(
        detectors=(Detector.KEYED if keyed else Detector.DWTDCT,),
        keys=(key,) if keyed else (),
        sampling=Sampling.parse(sampling),
        crop_search=crop_search,
    )
    path = Path(corpus) / item["path"]
    started = time.perf_counter()
    media = probe(path)
    run = detect_watermarks(path, options, media=media, measure_survival=True)
    assert run.survival_features is not None  # measured: the probe was given
    found = run.evidence[0]
    result = {item["mark"]: {"state": found.state.value, "mark": found.mark, "z": found.statistic}}
    hit, inconclusive, z = evaluate._hit(dict(item), result)
    return {
        "label": {
            "detected": hit,
            "state": found.state.value,
            "mark": found.mark,
            "inconclusive": inconclusive,
            "z": z,
        },
        "features": {
            "codec": FileFacts.from_media(media).codec,
            "values": run.survival_features,
            "frames": run.frames,
            "seconds": time.perf_counter() - started,
        },
    }


def start(setup: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """In a worker process of the pool: the handler of one item (``{"item": ...}``)."""
    import cv2

    cv2.setNumThreads(1)  # one task per process
    corpus, key, sampling = setup["corpus"], setup["key"], setup["sampling"]

    def handle(payload: Mapping[str, Any]) -> dict[str, Any]:
        item = payload["item"]
        return {"path": item["path"], **_measure(corpus, item, key, sampling)}

    return handle


# --------------------------------------------------------------------------- the cache


def _read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """The latest record of each item path (unreadable lines are ignored: a cut-off write)."""
    records: dict[str, dict[str, Any]] = {}
    for record in jsonl_records(path):
        if isinstance(record.get("path"), str):
            records[record["path"]] = {**records.get(record["path"], {}), **record}
    return records


def collect(
    corpus: Path,
    *,
    jobs: int = 2,
    cache: Path | None = None,
    sampling: str = str(DEFAULT_SAMPLING),
    grid: bool = True,
) -> list[dict[str, Any]]:
    """Every marked item of ``corpus`` (and, with ``grid``, of its survival grid, built
    first where missing) with its label and features: measured on the worker pool, or read
    from ``cache`` when the code that makes them has not changed."""
    items, _ = evaluate._load(corpus)
    marked = [item for item in items if item["mark"] in MARKS and not is_edit(item)]
    if grid:
        from datasets.survival_grid import build_grid

        marked += build_grid(corpus, marked, jobs=jobs)
    keys = {item["key"] for item in items if item.get("key")}
    if len(keys) > 1:
        raise SystemExit(f"the corpus holds several keyed-mark keys ({len(keys)}); expected one")
    key = keys.pop() if keys else "corpus key"
    cache = cache or corpus / "survival-items.jsonl"
    code = code_key(sampling)
    known = _read_cache(cache)
    records: dict[str, dict[str, Any]] = {}
    tasks: list[Task] = []
    for number, item in enumerate(marked):
        record = known.get(item["path"], {})
        if record.get("code") == code and "label" in record and "features" in record:
            records[item["path"]] = record
            continue
        tasks.append(Task(number, {"item": item}))
        records[item["path"]] = {"path": item["path"]}
    print(
        f"survival: {len(marked)} marked items, {len(marked) - len(tasks)} from {cache}, "
        f"{len(tasks)} to measure",
        file=sys.stderr,
    )
    if tasks:
        setup = {"corpus": str(corpus.resolve()), "key": key, "sampling": sampling}
        started = time.perf_counter()
        cache.parent.mkdir(parents=True, exist_ok=True)
        with (
            WorkerPool(
                Job("datasets.survival:start", setup),
                jobs=jobs,
                python_path=[REPO],
                show_errors=True,
            ) as pool,
            cache.open("a", encoding="utf-8") as out,
        ):
            for done, outcome in enumerate(pool.run(tasks), 1):
                path = marked[outcome.task.id]["path"]
                if outcome.result is None:
                    raise SystemExit(f"{path}: failed ({outcome.stopped}): {outcome.message}")
                record = records[path]
                record.update(
                    label=outcome.result["label"], features=outcome.result["features"], code=code
                )
                out.write(json.dumps(record, sort_keys=True) + "\n")
                out.flush()
                if done % 100 == 0 or done == len(tasks):
                    elapsed = time.perf_counter() - started
                    print(f"  measured {done}/{len(tasks)} in {elapsed:.0f} s", file=sys.stderr)
    return [{"item": item, **records[item["path"]]} for item in marked]


# --------------------------------------------------------------------------- the command


def train(
    corpus: Path,
    *,
    jobs: int = 2,
    output: Path = REPO / "datasets",
    cache: Path | None = None,
    sampling: str = str(DEFAULT_SAMPLING),
    scorer: str = "best",
    install: bool = False,
    seed: int = 0,
    grid: bool = True,
) -> dict[str, Any]:
    """Collect, fit, evaluate and write the models and the report; returns the summary
    (``markdown``: the section text, ``models``: the written files, ``figures``)."""
    from datasets import survival_fit

    records = collect(corpus, jobs=jobs, cache=cache, sampling=sampling, grid=grid)
    _, info = evaluate._load(corpus)
    result = survival_fit.fit_all(
        records,
        corpus=str(corpus),
        corpus_info=info,
        sampling=sampling,
        scorer=scorer,
        seed=seed,
    )
    models_dir = output / "survival-models"
    models_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for mark, model in result["models"].items():
        path = models_dir / f"survival-{mark}.json"
        path.write_text(json.dumps(model.to_dict(), indent=1) + "\n", "utf-8")
        written.append(path)
        if install:
            MODELS_DIR.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, MODELS_DIR / path.name)
    figure = output / "survival_reliability.png"
    survival_fit.reliability_figure(result["reliability"], figure)
    markdown = output / "SURVIVAL.md"
    markdown.write_text("\n".join(result["lines"]) + "\n", "utf-8")
    return {**result, "markdown": markdown, "figure": figure, "files": written}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("corpus", type=Path, help="corpus folder (with corpus.jsonl)")
    parser.add_argument(
        "--jobs", type=int, default=len(os.sched_getaffinity(0)), help="worker processes"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=REPO / "datasets",
        help="folder for SURVIVAL.md, survival_reliability.png and survival-models/ "
        "(default: datasets/)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="per-item results (JSON Lines; default CORPUS_DIR/survival-items.jsonl)",
    )
    parser.add_argument(
        "--sampling",
        default=str(DEFAULT_SAMPLING),
        help="frame sampling of the checks (default: the check's default)",
    )
    parser.add_argument(
        "--scorer",
        choices=("best", "logistic", "trees"),
        default="best",
        help="the scorer shipped per detector (best: lower Brier score over grouped CV and "
        "held-out codecs together)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the folds and the trees")
    parser.add_argument(
        "--no-grid",
        dest="grid",
        action="store_false",
        help="train on the corpus's own items only, without the survival grid "
        "(datasets/survival_grid.py: more codecs and qualities, built next to the corpus)",
    )
    parser.add_argument(
        "--install",
        action="store_true",
        help="also write the models into provenance/watermark/models/",
    )
    arguments = parser.parse_args(argv)
    result = train(
        arguments.corpus,
        jobs=max(1, arguments.jobs),
        output=arguments.output,
        cache=arguments.cache,
        sampling=arguments.sampling,
        scorer=arguments.scorer,
        install=arguments.install,
        seed=arguments.seed,
        grid=arguments.grid,
    )
    print("\n".join(result["lines"]))
    for path in [result["markdown"], result["figure"], *result["files"]]:
        print(f"wrote {path}", file=sys.stderr)
    if arguments.install:
        print(f"installed the models into {MODELS_DIR}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
