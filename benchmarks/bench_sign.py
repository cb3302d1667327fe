"""Durable signing speed: ``sign --mark`` (mark with an identifier, then sign) per minute of
1080p video, against re-encoding the same clip with the same encoder settings (the reference:
what any marking that rewrites the pixels must at least pay).

    python benchmarks/bench_sign.py                               # print the section
    python benchmarks/bench_sign.py --output benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import c2pa
from _results import emit_section, section_head  # sibling module of the benchmark scripts

from provenance._version import __version__
from provenance.credentials.signing import sign_media
from provenance.durable import sign_durable
from provenance.media.transcode import rewrite_luma
from provenance.testing.pki import generate_pki
from provenance.testing.synth import write_clip
from provenance.watermark.keyed import embed_luma

BENCH_NAME = "bench_sign"


def _median_seconds(action: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length (10 s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats, median (3)")
    parser.add_argument("--output", default="-", help="'-' to print, or a Markdown file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-sign-") as work_name:
        work = Path(work_name)
        pki = generate_pki(work / "pki")
        clip = write_clip(
            work / "clip.mp4", seconds=args.seconds, fps=30, width=1920, height=1080, seed=3
        )
        chain, key = pki.chain_pem.read_bytes(), pki.key_pem.read_bytes()
        frames = round(args.seconds * 30)
        reference = _median_seconds(
            lambda: rewrite_luma(clip, work / "ref.mp4", lambda y, _i: y, crf=18), args.repeats
        )
        marking = _median_seconds(
            lambda: rewrite_luma(
                clip,
                work / "marked.mp4",
                lambda y, _i: embed_luma(y, "bench", identifier=12345),
                crf=18,
            ),
            args.repeats,
        )
        signing = _median_seconds(
            lambda: sign_media(
                work / "marked.mp4", work / "signed.mp4", chain_pem=chain, private_key_pem=key
            ),
            args.repeats,
        )
        total = _median_seconds(
            lambda: sign_durable(
                clip,
                work / "durable.mp4",
                chain_pem=chain,
                private_key_pem=key,
                mark_key="bench",
                repository=work / "repo.sqlite",
            ),
            args.repeats,
        )
    per_minute = 60.0 / args.seconds
    rows = [
        ("re-encode only (decode, libx264 CRF 18, mux): the reference", reference),
        ("mark with an identifier (decode, embed, encode)", marking),
        ("sign the marked clip (c2pa-python, hashing the file)", signing),
        ("`sign --mark` end to end (mark, sign, keep in the repository)", total),
    ]
    lines = [
        *section_head(
            BENCH_NAME,
            "Durable signing: `sign --mark` per minute of 1080p",
            f"pyav {av.__version__}, c2pa-python {c2pa.__version__}, "
            f"provenance-checker {__version__}",
        ),
        f"- **Clip:** {args.seconds:g} s of synthetic 1920x1080 at 30 fps ({frames} frames), "
        f"H.264; median of {args.repeats} repeats, scaled to a minute.",
        "",
        "| step | seconds per minute of 1080p | ratio to the reference |",
        "|---|---:|---:|",
    ]
    for name, seconds in rows:
        lines.append(f"| {name} | {seconds * per_minute:.1f} | {seconds / reference:.2f}x |")
    lines.append(f"<!-- {BENCH_NAME}:end -->")
    emit_section("\n".join(lines) + "\n", args.output, BENCH_NAME)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
