"""The survival grid: more codecs and qualities for the marked items of a corpus.

The evaluation corpus attacks its marks with the settings the robustness tables need (H.264
at a few CRFs, one H.265 and one VP9 setting, 4:2:0 and 4:4:4 JPEG at q90). A survival model
needs more: survival measured along a compression scale in *several* codecs, so that a codec
held out of training (or never seen) is still predicted from what the file shows. This grid
re-encodes the corpus's unattacked marked items (the lossless dwtDct clips and images, the
keyed clips) with the settings below and writes them next to the corpus, in the corpus's own
manifest format (``survival-grid.jsonl``, paths relative to the corpus folder, each item's
``parent`` and ``root`` pointing into the corpus), so labels and groups work the same.

Every encoder is single-threaded; each worker uses the corpus builder's deterministic heap.
Files already written (listed in the manifest) are kept: an interrupted build resumes.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from datasets.corpus.attacks import Attack, _attack_image, _attack_video
from datasets.corpus.manifest import Item, _derived
from datasets.corpus.media_io import Codec, _read_image, h264
from datasets.corpus.workers import deterministic_heap
from provenance.batch.pool import Job, Task, WorkerPool

__all__ = [
    "GRID_DIR",
    "GRID_MANIFEST",
    "build_grid",
    "grid_attacks",
    "jsonl_records",
    "start",
]

GRID_DIR = "survival-grid"
GRID_MANIFEST = "survival-grid.jsonl"
_REPO = Path(__file__).resolve().parents[1]


def hevc(crf: int) -> Codec:
    """libx265, preset fast, one thread."""
    params = "pools=1:frame-threads=1:log-level=error"
    options = (("crf", str(crf)), ("preset", "fast"), ("x265-params", params))
    return Codec("libx265", "yuv420p", options, ".mp4")


def vp9(crf: int) -> Codec:
    """libvpx-vp9 constant quality, cpu-used 4, one thread."""
    options = (
        ("crf", str(crf)),
        ("b", "0"),
        ("deadline", "good"),
        ("cpu-used", "4"),
        ("row-mt", "0"),
        ("threads", "1"),
    )
    return Codec("libvpx-vp9", "yuv420p", options, ".webm")


def av1(crf: int) -> Codec:
    """SVT-AV1, preset 8, one logical processor."""
    options = (("crf", str(crf)), ("preset", "8"), ("svtav1-params", "lp=1"))
    return Codec("libsvtav1", "yuv420p", options, ".mp4")


def mpeg4(bitrate: str) -> Codec:
    """MPEG-4 Part 2 at a bit rate (its decoder reports no quantisers to us)."""
    return Codec("mpeg4", "yuv420p", (("b", bitrate), ("threads", "1")), ".mkv")


#: dwtDct clips (14 frames, lossless sources): between and beyond the corpus's H.264 CRFs.
DWTDCT_CLIP_GRID: tuple[Attack, ...] = (
    Attack("h264_crf21", "none", codec=h264(21)),
    Attack("h264_crf26", "none", codec=h264(26)),
    *(Attack(f"h265_crf{q}", "none", codec=hevc(q)) for q in (14, 22, 30)),
    *(Attack(f"vp9_crf{q}", "none", codec=vp9(q)) for q in (12, 28, 44)),
    *(Attack(f"av1_crf{q}", "none", codec=av1(q)) for q in (20, 35, 50)),
    *(Attack(f"mpeg4_{b}", "none", codec=mpeg4(b)) for b in ("8M", "2M")),
)
#: dwtDct images: 4:4:4 JPEG below the corpus's q90, and WebP (lossy: always 4:2:0).
DWTDCT_IMAGE_GRID: tuple[Attack, ...] = (
    Attack("jpeg60_444", "jpeg", 60, jpeg_sampling="4:4:4"),
    Attack("jpeg75_444", "jpeg", 75, jpeg_sampling="4:4:4"),
    Attack("webp90", "webp", 90),
    Attack("webp_lossless", "webp", 101),
)
#: Keyed clips: harsh settings of every codec, at full size and halved (where it fails).
KEYED_GRID: tuple[Attack, ...] = (
    Attack("h264_crf42", "none", codec=h264(42)),
    Attack("scale50_h264_crf40", "scale", 0.5, codec=h264(40)),
    Attack("h265_crf38", "none", codec=hevc(38)),
    Attack("scale50_h265_crf36", "scale", 0.5, codec=hevc(36)),
    Attack("vp9_crf56", "none", codec=vp9(56)),
    Attack("scale50_vp9_crf50", "scale", 0.5, codec=vp9(50)),
    Attack("av1_crf55", "none", codec=av1(55)),
    Attack("scale50_av1_crf50", "scale", 0.5, codec=av1(50)),
)


def grid_attacks(item: Mapping[str, Any]) -> tuple[Attack, ...]:
    """The grid's attacks of one corpus item (none unless it is an unattacked marked item)."""
    if item["attack"] != "none":
        return ()
    if item["mark"] == "keyed":
        return KEYED_GRID
    if item["mark"] == "dwtdct":
        return DWTDCT_IMAGE_GRID if item["kind"] == "image" else DWTDCT_CLIP_GRID
    return ()


def jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a JSON Lines file written as work goes (none when it is missing);
    a line cut off by an interruption is skipped, so that work is done again."""
    if not path.is_file():
        return
    for line in path.read_text("utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            yield record


def _item(record: Mapping[str, Any]) -> Item:
    fields = {k: v for k, v in record.items() if k not in ("duration_seconds", "bytes")}
    return Item(**{**fields, "tags": tuple(record.get("tags", ()))})


def _webp(corpus: Path, item: Item, attack: Attack, relative: str) -> Item:
    import cv2

    image = _read_image(corpus / item.path)
    path = corpus / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image, [cv2.IMWRITE_WEBP_QUALITY, int(attack.value)]):
        raise OSError(f"cannot write {path}")
    lossless = attack.value > 100
    return _derived(
        item,
        relative,
        attack=attack.name,
        attack_params={"webp_quality": int(attack.value), "writer": "OpenCV"},
        codec="libwebp",
        pix_fmt="bgr24" if lossless else "yuv420p",
        lossless=lossless,
        lossless_max_abs_diff=None,
    )


def _make(corpus: Path, record: Mapping[str, Any], name: str) -> dict[str, Any]:
    item = _item(record)
    attack = next(a for a in grid_attacks(record) if a.name == name)
    directory = f"{GRID_DIR}/{Path(item.path).parent}"
    if attack.op == "webp":
        made = _webp(corpus, item, attack, f"{directory}/{attack.name}.webp")
    elif item.kind == "image":
        made = _attack_image(corpus, item, attack, directory)
    else:
        assert attack.codec is not None
        made = _attack_video(corpus, item, attack, f"{directory}/{name}{attack.codec.suffix}")
    return made.as_json(corpus)


def start(setup: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """In a worker process of the pool: the handler of one grid item (``{"item": corpus
    record, "attack": name}``)."""
    import cv2

    cv2.setNumThreads(1)
    os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1: errors only
    deterministic_heap()
    corpus = Path(setup["corpus"])

    def handle(payload: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return {"record": _make(corpus, payload["item"], payload["attack"])}
        except Exception:  # the pool reports the message: make it the whole traceback
            raise RuntimeError(traceback.format_exc()) from None

    return handle


def build_grid(corpus: Path, items: list[dict[str, Any]], *, jobs: int = 2) -> list[dict[str, Any]]:
    """Write the grid of ``corpus`` (whose manifest lines are ``items``) and return its
    manifest lines, in plan order; items already in ``survival-grid.jsonl`` are kept."""
    manifest = corpus / GRID_MANIFEST
    done: dict[tuple[str, str], dict[str, Any]] = {}
    for record in jsonl_records(manifest):
        if (corpus / record["path"]).is_file():
            done[(record["parent"], record["attack"])] = record
    plan = [(item, attack.name) for item in items for attack in grid_attacks(item)]
    tasks = [
        Task(number, {"item": item, "attack": name})
        for number, (item, name) in enumerate(plan)
        if (item["path"], name) not in done
    ]
    print(
        f"survival grid: {len(plan)} items, {len(plan) - len(tasks)} already written, "
        f"{len(tasks)} to make",
        file=sys.stderr,
    )
    if tasks:
        started = time.perf_counter()
        job = Job("datasets.survival_grid:start", {"corpus": str(corpus.resolve())})
        with (
            WorkerPool(job, jobs=jobs, python_path=[_REPO], show_errors=True) as pool,
            manifest.open("a", encoding="utf-8") as out,
        ):
            for count, outcome in enumerate(pool.run(tasks), 1):
                item, name = plan[outcome.task.id]
                if outcome.result is None:
                    raise SystemExit(
                        f"grid {name} of {item['path']} failed ({outcome.stopped}): "
                        f"{outcome.message}"
                    )
                record = dict(outcome.result["record"])
                done[(item["path"], name)] = record
                out.write(json.dumps(record) + "\n")
                out.flush()
                if count % 100 == 0 or count == len(tasks):
                    elapsed = time.perf_counter() - started
                    print(f"  grid: {count}/{len(tasks)} in {elapsed:.0f} s", file=sys.stderr)
    return [done[(item["path"], name)] for item, name in plan]
