"""``CORPUS.json``: the seed, size, library versions, counts per class, attacks and build time."""

from __future__ import annotations

import datetime
import platform
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from .attacks import DWTDCT_VIDEO_ATTACKS, IMAGE_ATTACKS, VIDEO_ATTACKS
from .generators import GENERATORS
from .media_io import BASE_CODEC, FFV1_BGR0
from .writers import WRITERS


def _versions() -> dict[str, Any]:
    import av
    import cv2
    import skimage

    library = {
        name: ".".join(str(part) for part in value) for name, value in av.library_versions.items()
    }
    return {
        "python": platform.python_version(),
        "av": av.__version__,
        "ffmpeg": getattr(av, "ffmpeg_version_info", None),
        "ffmpeg_libraries": library,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "skimage": getattr(skimage, "__version__", None),
        "platform": platform.platform(),
    }


def _summary(
    manifest: list[dict[str, Any]],
    *,
    seed: int,
    size: str,
    key: str,
    jobs: int,
    only: Sequence[str] | None,
    natural_info: dict[str, Any],
    elapsed: float,
    heap_perturbed: bool,
) -> dict[str, Any]:
    by_class: Counter[str] = Counter()
    keyed_per_attack: Counter[str] = Counter()
    dwt: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    unmarked_images = unmarked_frames = unmarked_video = 0
    distinct_images = distinct_frames = 0
    by_content: Counter[str] = Counter()
    total_bytes = 0
    lossless_checked = 0
    writers: dict[str, Counter[str]] = defaultdict(Counter)
    for record in manifest:
        total_bytes += record["bytes"]
        if record["writer"]:
            model = next(tag for tag in record["tags"] if tag in GENERATORS)
            writers[f"{model}/{record['writer']}"][record["mark"]] += 1
        by_class[f"{record['mark']}/{record['kind']}/{record['attack']}"] += 1
        if record["mark"] == "keyed" and "keyed_target" in record["tags"]:
            keyed_per_attack[record["attack"]] += 1
        if record["mark"] == "dwtdct":
            variant = f"{record['payload']}/{record['hypothesis']}"
            dwt[record["kind"]][record["attack"]][variant] += 1
        if record.get("lossless_max_abs_diff") == 0:
            lossless_checked += 1
        if record["mark"] == "none":
            by_content[f"{record['kind']}/{record['content']}"] += record["frames"]
            if record["kind"] == "image":
                unmarked_images += 1
                distinct_images += record["attack"] == "none"
            else:
                unmarked_video += 1
                unmarked_frames += record["frames"]
                if record["attack"] == "none":
                    distinct_frames += record["frames"]
    dwtdct_counts = {
        kind: {
            attack: {"min_per_variant": min(counter.values()), "variants": len(counter)}
            for attack, counter in sorted(attacks.items())
        }
        for kind, attacks in sorted(dwt.items())
    }
    return {
        "generator": "python -m datasets.corpus",
        "seed": seed,
        "size": size,
        "only": list(only) if only else None,
        "keyed_key": key,
        "jobs": jobs,
        "build_seconds": round(elapsed, 1),
        "built_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": _versions(),
        "items": len(manifest),
        "bytes": total_bytes,
        "counts": {
            "by_mark_kind_attack": dict(sorted(by_class.items())),
            "keyed_target_clips_per_attack": dict(sorted(keyed_per_attack.items())),
            "dwtdct_items_per_payload_hypothesis": dwtdct_counts,
            "unmarked": {
                "images": unmarked_images,
                "video_items": unmarked_video,
                "video_frames": unmarked_frames,
                "frames_plus_images": unmarked_frames + unmarked_images,
                "distinct_images_unattacked": distinct_images,
                "distinct_video_frames_unattacked": distinct_frames,
                "frames_plus_images_by_kind_content": dict(sorted(by_content.items())),
            },
            "lossless_items_verified_bit_exact": lossless_checked,
            "generator_writer_items": {
                name: dict(sorted(marks.items())) for name, marks in sorted(writers.items())
            },
        },
        "natural_sources": natural_info,
        "attacks": {
            "video": {attack.name: attack.describe() for attack in VIDEO_ATTACKS},
            "dwtdct_video": {attack.name: attack.describe() for attack in DWTDCT_VIDEO_ATTACKS},
            "image": {attack.name: attack.describe() for attack in IMAGE_ATTACKS},
            "aliases": {"png": "none (every image 'none' item is a PNG)"},
        },
        "writers": {name: writer.params for name, writer in WRITERS.items()},
        "base_codec": BASE_CODEC.describe(),
        "lossless_codec": FFV1_BGR0.describe(),
        "heap_perturbation": heap_perturbed,  # every worker reported M_PERTURB in effect
        "determinism": (
            "Decoded frames depend only on the seed and the library versions. Encoders are "
            "single-threaded, frames are handed to them with their row padding filled, "
            "containers are muxed with fflags=+bitexact and the workers fill fresh heap memory "
            "with a fixed byte (glibc M_PERTURB; libx264 reads bytes it never wrote at widths "
            "that are not multiples of 16), so files are byte-identical for the same versions "
            "whatever --jobs or --only is. Only this file's build_seconds / built_utc differ."
        ),
    }
