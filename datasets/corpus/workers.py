"""The build's work on worker processes: :class:`Task` (one unit of work, plain JSON), the
deterministic heap, and running the tasks on the project's one worker pool
(:mod:`provenance.batch.pool`): :func:`start` is the job each worker runs.
"""

from __future__ import annotations

import ctypes
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.batch.pool import Job, WorkerPool
from provenance.batch.pool import Task as PoolTask
from provenance.watermark.dwtdct_scheme import ALL_HYPOTHESES
from provenance.watermark.payloads import payload_by_name

from .attacks import VIDEO_ATTACKS, _attack_all
from .generators import generator_items
from .manifest import Item
from .marking import _dwtdct_items, _keyed_item
from .plan import Root
from .sizes import REPO
from .sources import _build_root


@dataclass(frozen=True)
class Task:
    """One unit of work for a worker process; ``args`` is plain JSON data."""

    stage: str  # root | unmarked_attacks | keyed | dwtdct | generator
    cost: float
    args: dict[str, Any]


def _root_json(root: Root) -> dict[str, Any]:
    values = dict(root.__dict__)
    values["recipe"] = [list(pair) for pair in root.recipe]
    return values


def _root_from(data: dict[str, Any]) -> Root:
    values = dict(data)
    values["recipe"] = tuple(
        (name, tuple(value) if isinstance(value, list) else value) for name, value in data["recipe"]
    )
    values["tags"] = tuple(data["tags"])
    values["native"] = tuple(data["native"]) if data["native"] is not None else None
    return Root(**values)


def _item_json(item: Item) -> dict[str, Any]:
    values = dict(item.__dict__)
    values["tags"] = list(item.tags)
    return values


def _item_from(data: dict[str, Any]) -> Item:
    return Item(**{**data, "tags": tuple(data["tags"])})


# glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_PERTURB = -6
_PERTURB_BYTE = 0x5A


def deterministic_heap() -> bool:
    """Make freshly allocated heap memory hold a fixed byte in this process (glibc only).

    libx264 reads some bytes it never wrote when the frame width is not a multiple of 16
    (854, 426, ...: measured here), so its bitstream, and the decoded pixels, would depend on
    what the process allocated and freed before. ``M_PERTURB`` fills every allocation with a
    fixed byte, and a fixed ``M_MMAP_THRESHOLD`` stops glibc from switching allocations
    between zeroed mmap pages and the heap according to history. Returns False when the C
    library has no ``mallopt`` (then files may differ between builds at such widths).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    threshold_set = mallopt(_M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1
    return bool(threshold_set and mallopt(_M_PERTURB, _PERTURB_BYTE) == 1)


def _run_task(outdir: Path, task: Task) -> list[dict[str, Any]]:
    """Run one task; returns each written item (as JSON data) and its manifest record."""
    args = task.args
    items: list[Item]
    if task.stage == "root":
        root = _root_from(args["root"])
        items = [_build_root(outdir, root, Path(args["natural_dir"]), args["natural_info"])]
    elif task.stage == "unmarked_attacks":
        base = _item_from(args["base"])
        items = _attack_all(outdir, base, str(Path(base.path).parent), VIDEO_ATTACKS)
    elif task.stage == "keyed":
        marked = _keyed_item(outdir, _item_from(args["base"]), args["key"])
        items = [marked, *_attack_all(outdir, marked, str(Path(marked.path).parent), VIDEO_ATTACKS)]
    elif task.stage == "generator":
        base = _item_from(args["base"])
        items = generator_items(outdir, base, args["generator"], args["pipeline"])
    elif task.stage == "dwtdct":
        payload = payload_by_name(args["payload"])
        hypothesis = next(h for h in ALL_HYPOTHESES if h.name == args["hypothesis"])
        items = _dwtdct_items(
            outdir, _item_from(args["base"]), payload, hypothesis, args["index"], args["frames"]
        )
    else:
        raise ValueError(f"unknown task stage {task.stage!r}")
    return [{"item": _item_json(item), "record": item.as_json(outdir)} for item in items]


def start(setup: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """In a worker process of the pool: one OpenCV thread, the deterministic heap; returns the
    handler of one task's payload (``{"stage": ..., "args": ...}``)."""
    import cv2

    cv2.setNumThreads(1)
    heap_perturbed = deterministic_heap()
    outdir = Path(setup["outdir"])

    def handle(payload: Mapping[str, Any]) -> dict[str, Any]:
        try:
            records = _run_task(outdir, Task(payload["stage"], 0.0, payload["args"]))
        except Exception:  # the pool reports the message: make it the whole traceback
            raise RuntimeError(traceback.format_exc()) from None
        return {"records": records, "heap_perturbed": heap_perturbed}

    return handle


def corpus_pool(outdir: Path, jobs: int) -> WorkerPool:
    """``jobs`` worker processes of :mod:`provenance.batch.pool` running :func:`start`.

    Fresh interpreters rather than forked ones: a fork inherits the caller's threads' locks
    (OpenCV's thread pool deadlocks the child) and heap. The repository root goes on the
    workers' ``PYTHONPATH`` so that they import this package. No time or memory limit: a task
    that fails stops the build.
    """
    job = Job("datasets.corpus.workers:start", {"outdir": str(outdir)})
    return WorkerPool(job, jobs=jobs, python_path=[REPO], show_errors=True)


def run_tasks(
    pool: WorkerPool, tasks: list[Task], progress: Callable[[str], None]
) -> tuple[list[dict[str, Any]], set[bool]]:
    """Run tasks, largest first; returns their results in that order, and whether each worker
    that answered had its heap perturbed."""
    ordered = sorted(tasks, key=lambda task: -task.cost)
    results: dict[int, list[dict[str, Any]]] = {}
    perturbed: set[bool] = set()
    started = time.perf_counter()
    work = (
        PoolTask(number, {"stage": task.stage, "args": task.args})
        for number, task in enumerate(ordered)
    )
    for outcome in pool.run(work):
        stage = ordered[outcome.task.id].stage
        if outcome.result is None:
            raise RuntimeError(
                f"corpus task {stage} failed ({outcome.stopped}):\n{outcome.message}"
            )
        results[outcome.task.id] = outcome.result["records"]
        perturbed.add(bool(outcome.result["heap_perturbed"]))
        _report(progress, len(results), len(ordered), started)
    return [record for number in sorted(results) for record in results[number]], perturbed


def _report(progress: Callable[[str], None], done: int, total: int, started: float) -> None:
    step = max(1, total // 20)
    if done == total or done % step == 0:
        progress(f"  {done}/{total} tasks, {time.perf_counter() - started:.0f} s")
