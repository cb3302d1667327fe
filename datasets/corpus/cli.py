"""Build the seeded evaluation corpus for the watermark detectors (dwtDct and keyed), with attacks.

The command line (``python -m datasets.corpus OUTDIR ...``, see :mod:`datasets.corpus`):
:func:`main` builds the corpus and prints a summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .build import build_corpus
from .manifest import SUMMARY_NAME
from .sizes import DEFAULT_SEED, SIZES


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: build the corpus and print a summary."""
    parser = argparse.ArgumentParser(
        prog="python -m datasets.corpus",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument("outdir", type=Path, help="folder to write the corpus into")
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"corpus seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--size", choices=sorted(SIZES), default="full", help="corpus size (default full)"
    )
    parser.add_argument(
        "--shared", type=Path, default=None, help="the shared folder (default ../shared)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="PATTERN",
        help="build only these roots (shell patterns)",
    )
    arguments = parser.parse_args(argv)
    manifest_path = build_corpus(
        arguments.outdir,
        seed=arguments.seed,
        size=arguments.size,
        shared=arguments.shared,
        jobs=arguments.jobs,
        only=arguments.only,
        progress=lambda message: print(message, flush=True),
    )
    summary = json.loads((manifest_path.parent / SUMMARY_NAME).read_text(encoding="utf-8"))
    counts = summary["counts"]
    print(
        f"Manifest: {manifest_path} ({summary['items']} items, {summary['bytes'] / 1e6:.0f} MB, {summary['build_seconds']:.0f} s)"
    )
    unmarked = counts["unmarked"]
    print(
        f"  unmarked: {unmarked['images']} images + {unmarked['video_frames']} frames in {unmarked['video_items']} clips"
    )
    written = sum(sum(marks.values()) for marks in counts["generator_writer_items"].values())
    if written:
        print(f"  written as the generators write them: {written} items")
    if counts["keyed_target_clips_per_attack"]:
        low = min(counts["keyed_target_clips_per_attack"].values())
        print(f"  keyed: >= {low} marked target clips per attack")
    return 0
