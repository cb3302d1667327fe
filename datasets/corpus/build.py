"""The build: plan the roots, write them, then mark and attack them on the worker processes,
and write ``corpus.jsonl`` and ``CORPUS.json`` (:func:`build_corpus`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from provenance.watermark.dwtdct_scheme import ALL_HYPOTHESES
from provenance.watermark.payloads import PAYLOADS

from .generators import generator_cost, generator_roots
from .manifest import MANIFEST_NAME, SUMMARY_NAME
from .plan import Root, _plan, _recipe_size
from .sizes import DEFAULT_SEED, REPO, SIZES, corpus_key
from .summary import _summary
from .workers import Task, _root_json, corpus_pool, run_tasks


def _default_shared() -> Path:
    override = os.environ.get("PROVENANCE_SHARED_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return REPO.parent / "shared"


def build_corpus(
    outdir: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    size: str = "full",
    shared: str | Path | None = None,
    jobs: int = 1,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Build the corpus into ``outdir`` and return the path of ``corpus.jsonl``.

    Parameters
    ----------
    outdir
        Destination folder (created; files of a previous build with the same names are
        overwritten, other files are left alone).
    seed
        Corpus seed: every item's seed, the synthetic content, the photo motions, the colour
        crops and the keyed key (``corpus-key-<seed>``) follow from it.
    size
        ``"full"`` (the evaluation corpus) or ``"quick"`` (a smoke-test corpus).
    shared
        The ``shared`` folder holding ``fixtures/natural`` (default ``../shared`` next to the
        repository, or ``$PROVENANCE_SHARED_DIR``).
    jobs
        Worker processes, each a fresh interpreter (1: one worker, never this process).
    only
        Shell patterns: build only the roots whose name matches one, and what derives from them.
    progress
        Called with one-line progress messages (default: silent).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    say = progress or (lambda _message: None)
    started = time.perf_counter()
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    shared_dir = Path(shared).expanduser().resolve() if shared is not None else _default_shared()
    natural_dir = shared_dir / "fixtures" / "natural"
    if not natural_dir.is_dir():
        raise FileNotFoundError(
            f"natural clips not found in {natural_dir}; pass --shared DIR (the folder that holds "
            "fixtures/natural)"
        )
    spec = SIZES[size]
    key = corpus_key(seed)
    roots, natural_info = _plan(seed, spec, natural_dir)
    generated, generator_info = generator_roots(seed, spec, natural_dir)
    roots += generated
    natural_info = {**natural_info, **generator_info}
    # the float32-BGR finalisation alternates between the sources of the whole plan
    dwtdct_index = _dwtdct_indices(roots)
    if only:
        roots = [root for root in roots if any(fnmatch.fnmatchcase(root.name, p) for p in only)]
        if not roots:
            raise ValueError(f"no root matches {list(only)}")
    say(f"Planned {len(roots)} roots ({size}, seed {seed}); building the unmarked originals")

    root_tasks = [
        Task(
            "root",
            _video_cost(int(root.get("frames", 1)), *_recipe_size(root))
            if root.kind == "video"
            else 0.3,
            {
                "root": _root_json(root),
                "natural_dir": str(natural_dir),
                "natural_info": natural_info,
            },
        )
        for root in roots
    ]
    with corpus_pool(outdir, jobs) as pool:
        records, perturbed = run_tasks(pool, root_tasks, say)
        tasks = _derived_tasks(roots, records, dwtdct_index, key)
        say(f"Building {len(tasks)} marking / attack tasks on {jobs} process(es)")
        derived, more = run_tasks(pool, tasks, say)
        records += derived
        heap_perturbed = perturbed | more == {True}

    manifest = [result["record"] for result in records]
    manifest.sort(key=lambda record: record["path"])
    manifest_path = outdir / MANIFEST_NAME
    with manifest_path.open("w", encoding="utf-8") as handle:
        for record in manifest:
            handle.write(json.dumps(record, sort_keys=False) + "\n")
    elapsed = time.perf_counter() - started
    summary = _summary(
        manifest,
        seed=seed,
        size=size,
        key=key,
        jobs=jobs,
        only=only,
        natural_info=natural_info,
        elapsed=elapsed,
        heap_perturbed=heap_perturbed,
    )
    (outdir / SUMMARY_NAME).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    say(f"Wrote {len(manifest)} items in {elapsed:.0f} s")
    return manifest_path


def _derived_tasks(
    roots: Sequence[Root], records: list[dict[str, Any]], dwtdct_index: dict[str, int], key: str
) -> list[Task]:
    """The marking and attack tasks, once the unmarked originals are written."""
    bases = {Path(result["item"]["path"]).parent.name: result["item"] for result in records}

    tasks: list[Task] = []
    for root in roots:
        base = bases[root.name]
        area = base["width"] * base["height"] / 1e6
        if root.generator is not None:  # written only as the generator writes it
            args = {"base": base, "generator": root.generator, "pipeline": root.get("pipeline")}
            tasks.append(Task("generator", generator_cost(base), args))
            continue
        if root.kind == "image":
            tasks.append(Task("unmarked_attacks", 0.5, {"base": base}))
        else:
            tasks.append(Task("unmarked_attacks", base["frames"] * area * 16, {"base": base}))
            if root.keyed:
                tasks.append(Task("keyed", base["frames"] * area * 17, {"base": base, "key": key}))
        if root.dwtdct_image or root.dwtdct_frames:
            frames = root.dwtdct_frames
            cost = 2.0 if root.kind == "image" else frames * area * 8
            for payload in PAYLOADS:
                for hypothesis in ALL_HYPOTHESES:
                    args = {
                        "base": base,
                        "payload": payload.name,
                        "hypothesis": hypothesis.name,
                        "index": dwtdct_index[root.name],
                        "frames": frames,
                    }
                    tasks.append(Task("dwtdct", cost, args))
    return tasks


def _dwtdct_indices(roots: Sequence[Root]) -> dict[str, int]:
    """Position of each dwtDct source among those of its kind (alternates float32 rounding)."""
    indices: dict[str, int] = {}
    for kind in ("image", "video"):
        names = [r.name for r in roots if r.kind == kind and (r.dwtdct_image or r.dwtdct_frames)]
        indices.update((name, number) for number, name in enumerate(names))
    return indices


def _video_cost(frames: int, width: int, height: int) -> float:
    return frames * width * height / 1e6
