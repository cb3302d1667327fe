"""Measure the keyed mark's identifier: read back after re-encoding, never wrong.

Usage::

    python -m datasets.identifier CORPUS_DIR OUT_DIR [--jobs N] [--limit N] [--report-only MIN]

From a corpus built by ``python -m datasets.corpus``, every unmarked clip of 2 s or more at
480p or more, and every unmarked still image, is marked with its own identifier (64 bits,
drawn from a seeded generator) under the evaluation key, then attacked as the durable-
credentials issue names (H.264 CRF 23/28/35, H.265 CRF 28, VP9, 0.5x, 10 % crop, brightness
+-20; for images JPEG q75/85/95 and resizing) with the corpus's own attack code. Each result
is checked with the library's ``check`` and the key, as a user would, and the identifiers in
the keyed evidence are compared with the one embedded:

* **correct** the embedded identifier is reported (and no other);
* **wrong** any other identifier is reported (the count the design bounds by 4.4e-10 a file);
* **missed** none is reported.

The negative side: every attacked marked file is checked again with a decoy key, and every
unmarked corpus file made from the same sources (the sources and all their corpus attacks)
with the key; any identifier reported there is a wrong one. Writes
``results.jsonl`` and ``IDENTIFIER.md`` (the section for ``datasets/RESULTS.md``) to OUT_DIR.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from datasets.corpus.attacks import VIDEO_ATTACKS, Attack, _attack_image, _attack_video
from datasets.corpus.manifest import Item

__all__ = ["IMAGE_ATTACKS", "KEY", "VIDEO_TARGETS", "main"]

KEY = "identifier-evaluation-key"
#: Identifiers a repository holds besides the ones marked here (matching is tested among all).
DECOYS = 10_000
DECOY = "identifier-decoy-key"
#: The issue's targets per video attack (the share of clips whose identifier must be read).
VIDEO_TARGETS = {
    "h264_crf23": 0.99,
    "h264_crf28": 0.99,
    "h265_crf28": 0.99,
    "vp9_crf32": 0.99,
    "scale50_crf23": 0.99,
    "crop10_crf23": 0.99,
    "bright_p20_crf23": 0.99,
    "bright_m20_crf23": 0.99,
    "h264_crf35": 0.95,
}
IMAGE_ATTACKS: tuple[Attack, ...] = (
    Attack("jpeg95_420", "jpeg", 95, jpeg_sampling="4:2:0"),
    Attack("jpeg85_420", "jpeg", 85, jpeg_sampling="4:2:0"),
    Attack("jpeg75_420", "jpeg", 75, jpeg_sampling="4:2:0"),
    Attack("scale75", "scale", 0.75),
    Attack("scale50", "scale", 0.5),
)


def _item(record: dict[str, Any]) -> Item:
    names = {f.name for f in fields(Item)}
    values = {k: v for k, v in record.items() if k in names}
    values["tags"] = tuple(values.get("tags") or ())
    return Item(**values)


def _identifiers(
    path: Path, key: str, known: tuple[int, ...] = ()
) -> tuple[list[str], float | None]:
    """The identifiers the keyed detector reports for ``path`` (as a check runs it, default
    sampling), blind or matched among ``known``, and its statistic."""
    from provenance.report import Detector
    from provenance.watermark.detect import detect_watermarks
    from provenance.watermark.options import WatermarkOptions

    options = WatermarkOptions(detectors=(Detector.KEYED,), keys=(key,))
    (evidence,) = detect_watermarks(path, options, known_identifiers=known).evidence
    return [found.value for found in evidence.identifiers], evidence.statistic


def _psnr(source: Path, key: str, identifier: int) -> float:
    """Luma PSNR of the first frame marked, against the original (before any encoding)."""
    from provenance.media.frames import sample_frames
    from provenance.media.sampling import Sampling, SamplingMode
    from provenance.watermark import keyed

    frame = next(iter(sample_frames(source, Sampling(SamplingMode.EVENLY, 1))))
    luma = frame.luma
    marked = keyed.embed_luma(luma, key, identifier=identifier)
    error = float(np.mean((marked.astype(np.float64) - luma) ** 2))
    return 10 * math.log10(255.0**2 / error)


def _one_source(
    task: tuple[str, dict[str, Any], int, tuple[int, ...]],
) -> list[dict[str, Any]]:
    """Mark one source, attack it, check every result with the key and the decoy."""
    from provenance.watermark import identifier as ids
    from provenance.watermark.marking import mark_media

    out, record, identifier, known = task
    outdir = Path(out)
    corpus = Path(record["corpus"])
    source = corpus / record["path"]
    kind = record["kind"]
    name = record["path"].split("/")[1]
    suffix = ".mp4" if kind == "video" else ".png"
    relative = f"marked/{name}/none{suffix}"
    (outdir / relative).parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    mark_media(source, outdir / relative, KEY, identifier=identifier)
    mark_seconds = time.perf_counter() - started
    item = _item({**record, "path": relative, "mark": "keyed-id", "key": KEY})
    rows = []
    expected = ids.binding_value(identifier)
    psnr = _psnr(source, KEY, identifier)
    attacks: Iterable[Attack] = (
        [a for a in VIDEO_ATTACKS if a.name in VIDEO_TARGETS] if kind == "video" else IMAGE_ATTACKS
    )
    targets: list[tuple[str | None, str]] = [(None, relative)]
    for attack in attacks:
        if kind == "video":
            ext = attack.codec.suffix if attack.codec is not None else ".mp4"
            made = _attack_video(outdir, item, attack, f"marked/{name}/{attack.name}{ext}")
        else:
            made = _attack_image(outdir, item, attack, f"marked/{name}")
        targets.append((attack.name, made.path))
    for attack_name, path in targets:
        found, z = _identifiers(outdir / path, KEY)
        decoy, _ = _identifiers(outdir / path, DECOY)
        matched, _ = _identifiers(outdir / path, KEY, known)
        matched_decoy, _ = _identifiers(outdir / path, DECOY, known)
        rows.append(
            {
                "source": record["path"],
                "kind": kind,
                "width": record["width"],
                "height": record["height"],
                "attack": attack_name or "none",
                "expected": expected,
                "found": found,
                "z": z,
                "decoy_found": decoy,
                "matched": matched,
                "matched_decoy": matched_decoy,
                "psnr": round(psnr, 3),
                "mark_seconds": round(mark_seconds, 3),
            }
        )
        if attack_name is not None:
            (outdir / path).unlink(missing_ok=True)
    return rows


def _unmarked(task: tuple[str, dict[str, Any], tuple[int, ...]]) -> dict[str, Any]:
    corpus, record, known = task
    found, z = _identifiers(Path(corpus) / record["path"], KEY)
    matched, _ = _identifiers(Path(corpus) / record["path"], KEY, known)
    return {
        "source": record["path"],
        "kind": record["kind"],
        "found": found,
        "matched": matched,
        "z": z,
    }


def _outcome(row: dict[str, Any], field: str = "found") -> str:
    if any(value != row["expected"] for value in row[field]):
        return "wrong"
    return "correct" if row["expected"] in row[field] else "missed"


_IMAGE_SIZES = (
    ("under 0.2 MP", 0, 200_000),
    ("0.2-0.3 MP", 200_000, 300_000),
    ("0.3 MP and more", 300_000, 1 << 40),
)


def _rate(members: list[dict[str, Any]], field: str) -> tuple[int, float]:
    correct = sum(_outcome(row, field) == "correct" for row in members)
    return correct, correct / len(members)


def report(
    rows: list[dict[str, Any]], negatives: list[dict[str, Any]], minutes: float, known: int
) -> str:
    """The Markdown section."""
    lines = [
        "## Keyed identifier: read back after re-encoding",
        "",
        "Written by `python -m datasets.identifier` on the corpus above "
        f"({minutes:.1f} min with {os.cpu_count()} CPUs). Every unmarked clip of 2 s or more at "
        "480p or more and every unmarked image is marked with its own 64-bit identifier at the "
        "default 42.5 dB, attacked, and read by the keyed detector as a check runs it (default "
        "sampling) in two ways: **blind** (decoded, what a checker with only the key gets) and "
        f"**matched** among the {known:,} identifiers a repository holds (all those marked here "
        "plus random ones: what `check --repository` and a resolution service's `byContent` "
        "do). *Read*: the embedded identifier is reported and no other; *wrong*: any other. "
        "Targets are judged on the matched reading, the recovery path.",
        "",
        "| kind | attack | files | read blind | read matched | target | wrong | median z |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["kind"], row["attack"])].append(row)
    for (kind, attack), members in sorted(groups.items()):
        blind, blind_rate = _rate(members, "found")
        matched, matched_rate = _rate(members, "matched")
        wrong = sum(
            _outcome(row, field) == "wrong" for row in members for field in ("found", "matched")
        )
        target = VIDEO_TARGETS.get(attack) if kind == "video" else None
        verdict = (
            "-"
            if target is None
            else f"{target:.0%} " + ("met" if matched_rate >= target else "**missed**")
        )
        zs = [row["z"] for row in members if row["z"] is not None]
        lines.append(
            f"| {kind} | {attack} | {len(members)} | {blind} ({blind_rate:.1%}) | {matched} "
            f"({matched_rate:.1%}) | {verdict} | {wrong} | "
            f"{float(np.median(zs)) if zs else float('nan'):.1f} |"
        )
    lines += ["", "Images by size (the mark's signal grows with the pixels it covers):", ""]
    lines += ["| pixels | attack | files | read blind | read matched |", "|---|---|---:|---:|---:|"]
    for label, low, high in _IMAGE_SIZES:
        for attack in ("none", "jpeg75_420", "scale50"):
            members = [
                row
                for row in rows
                if row["kind"] == "image"
                and row["attack"] == attack
                and low <= row["width"] * row["height"] < high
            ]
            if members:
                blind, blind_rate = _rate(members, "found")
                matched, matched_rate = _rate(members, "matched")
                lines.append(
                    f"| {label} | {attack} | {len(members)} | {blind} ({blind_rate:.1%}) | "
                    f"{matched} ({matched_rate:.1%}) |"
                )
    wrong_marked = sum(
        _outcome(row, field) == "wrong" for row in rows for field in ("found", "matched")
    )
    decoy = sum(bool(row["decoy_found"]) + bool(row["matched_decoy"]) for row in rows)
    unmarked = sum(bool(row["found"]) + bool(row["matched"]) for row in negatives)
    psnrs = [row["psnr"] for row in rows if row["attack"] == "none"]
    lines += [
        "",
        f"- **Wrong identifiers:** {wrong_marked} among {2 * len(rows)} reads of the marked "
        f"files with the key (blind and matched); {decoy} among {2 * len(rows)} reads of the "
        f"same files with a decoy key; {unmarked} among {2 * len(negatives)} reads of "
        f"{len(negatives)} unmarked corpus files (every attack) with the key.",
        f"- **PSNR** of the marked luma against the original (first frame, before encoding): "
        f"median {np.median(psnrs):.2f} dB, min {np.min(psnrs):.2f} dB over {len(psnrs)} files.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, default=0, help="At most this many sources per kind.")
    parser.add_argument(
        "--report-only",
        type=float,
        metavar="MINUTES",
        help="Rewrite IDENTIFIER.md from OUT_DIR/results.jsonl (the run took MINUTES).",
    )
    args = parser.parse_args(argv)
    if args.report_only is not None:
        saved = [json.loads(line) for line in (args.out / "results.jsonl").open()]
        marked = [row for row in saved if not row.get("negative")]
        negative = [row for row in saved if row.get("negative")]
        text = report(marked, negative, args.report_only, len(marked) + DECOYS)
        (args.out / "IDENTIFIER.md").write_text(text)
        print(text)
        return 0
    records = [json.loads(line) for line in (args.corpus / "corpus.jsonl").open()]
    unmarked = [r for r in records if r["mark"] == "none"]
    clips = [
        r
        for r in unmarked
        if r["attack"] == "none"
        and r["kind"] == "video"
        and r["duration_seconds"] >= 2
        and r["height"] >= 480
    ]
    images = [r for r in unmarked if r["attack"] == "none" and r["kind"] == "image"]
    if args.limit:
        clips, images = clips[: args.limit], images[: args.limit]
    roots = {r["path"] for r in clips + images}
    unmarked = [r for r in unmarked if r["root"] in roots]  # the sources and their attacks
    rng = np.random.default_rng(20261204)
    tasks = [
        (str(args.out), {**r, "corpus": str(args.corpus)}, int(rng.integers(0, 2**63)) * 2 + 1)
        for r in clips + images
    ]
    # what a repository would hold: every identifier marked here, and as many others again
    decoys = [int(x) for x in rng.integers(0, 2**63, size=DECOYS)]
    known = tuple(sorted({*decoys, *(task[2] for task in tasks)}))
    tasks_known = [(*task, known) for task in tasks]
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for done, result in enumerate(pool.map(_one_source, tasks_known), 1):
            rows.extend(result)
            print(f"marked {done}/{len(tasks)}", file=sys.stderr, flush=True)
        negatives = list(
            pool.map(_unmarked, [(str(args.corpus), r, known) for r in unmarked], chunksize=8)
        )
    minutes = (time.perf_counter() - started) / 60
    with (args.out / "results.jsonl").open("w") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
        for row in negatives:
            handle.write(json.dumps({**row, "negative": True}) + "\n")
    text = report(rows, negatives, minutes, len(known))
    (args.out / "IDENTIFIER.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
