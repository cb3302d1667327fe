"""Keyed-mark speed: embedding and detection per 1080p frame, per searched scale.

Target (watermark issue): detection at most 20 ms per 1080p frame per scale.

    python benchmarks/bench_keyed.py                               # print the section
    python benchmarks/bench_keyed.py --output benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import cv2
import numpy as np
from _results import emit_section, section_head  # sibling module of the benchmark scripts

from provenance._version import __version__
from provenance.watermark import keyed

BENCH_NAME = "bench_keyed"
TARGET_MS_PER_SCALE = 20.0


def frames(count: int) -> list[np.ndarray]:
    """Distinct textured 1080p luma planes (seeded)."""
    planes = []
    for seed in range(count):
        rng = np.random.default_rng(seed)
        coarse = rng.integers(0, 255, (35, 61), dtype=np.uint8)
        base = cv2.resize(coarse, (1920, 1080), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        noise = cv2.GaussianBlur(rng.normal(0, 20, (1080, 1920)).astype(np.float32), (0, 0), 1.2)
        planes.append(np.clip(base + noise, 0, 255).astype(np.uint8))
    return planes


def timed(function, items, repeats: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for item in items:
            function(item)
        runs.append((time.perf_counter() - started) / len(items) * 1000)
    return statistics.median(runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6, help="distinct 1080p frames (6)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats, median taken (5)")
    parser.add_argument("--output", default="-", help="'-' to print, or a Markdown file")
    args = parser.parse_args(argv)
    planes = frames(args.frames)
    marked = [keyed.embed_luma(p, "bench") for p in planes]
    keyed.score_frame(marked[0], "bench")  # warm the key-tile cache
    embed_ms = timed(lambda p: keyed.embed_luma(p, "bench"), planes, args.repeats)
    rows = []
    for scale in keyed.DEFAULT_SCALES:
        ms = timed(
            lambda p, s=scale: keyed.score_frame(p, "bench", scales=(s,)), marked, args.repeats
        )
        rows.append((scale, ms))
    all_ms = timed(lambda p: keyed.score_frame(p, "bench"), marked, args.repeats)
    lines = [
        *section_head(
            BENCH_NAME,
            "Keyed mark: embedding and detection speed",
            f"numpy {np.__version__}, opencv {cv2.__version__}, provenance-checker {__version__}",
        ),
        f"- **Frames:** {args.frames} distinct textured 1920x1080 luma planes; median of "
        f"{args.repeats} repeats.",
        "",
        f"Target: detection at most {TARGET_MS_PER_SCALE:.0f} ms per 1080p frame per scale. "
        "There is no reference implementation of this mark to compare with.",
        "",
        "| step | ms per 1080p frame | target |",
        "|---|---:|---|",
        f"| embed (activity mask + tiled pattern) | {embed_ms:.1f} | - |",
    ]
    for scale, ms in rows:
        verdict = "met" if ms <= TARGET_MS_PER_SCALE else "**not met**"
        lines.append(
            f"| detect, scale {scale:.3g} ({round(128 * scale)} px period) | {ms:.1f} | {verdict} |"
        )
    lines += [
        f"| detect, all {len(rows)} scales (default search) | {all_ms:.1f} | - |",
        f"<!-- {BENCH_NAME}:end -->",
    ]
    section = "\n".join(lines) + "\n"
    emit_section(section, args.output, BENCH_NAME)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
