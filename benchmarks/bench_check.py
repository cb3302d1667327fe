"""Default check of a 10 s 1080p30 H.264 clip against PyAV decoding the same frames.

Target (watermark issue): the default ``check`` (hashing, probe, Content Credentials and the
watermark detectors on the default sampling) takes at most 1.3x the time PyAV needs just to
decode the frames that sampling reads. The reference loop opens the file, decodes the video
stream in order with the same threading, stops after the last sampled frame and converts the
sampled frames to arrays: nothing else.

    python benchmarks/bench_check.py                               # print the section
    python benchmarks/bench_check.py --output benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from _results import emit_section, section_head  # sibling module of the benchmark scripts

from provenance import CheckOptions, check
from provenance._version import __version__
from provenance.media.frames import FrameSampler
from provenance.media.sampling import Sampling
from provenance.watermark.options import DEFAULT_SAMPLING, WatermarkOptions

BENCH_NAME = "bench_check"
TARGET_RATIO = 1.3
#: The default sampling before ``auto`` (for the absolute cost of the change).
PREVIOUS_SAMPLING = Sampling.parse("evenly:8")
WORK = Path(__file__).resolve().parent / "_work"


def make_clip(path: Path, *, crf: int, seconds: int = 10, fps: int = 30) -> Path:
    """A textured 1080p30 clip with slow camera motion, libx264 medium, default GOP."""
    if path.is_file():
        return path
    rng = np.random.default_rng(crf)
    coarse = rng.integers(0, 255, (50, 80, 3), dtype=np.uint8)
    base = cv2.resize(coarse, (2200, 1200), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    noise = np.asarray(rng.normal(0.0, 16.0, base.shape), dtype=np.float32)
    base += cv2.GaussianBlur(noise, (0, 0), 1.0)
    picture = np.clip(base, 0, 255).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.options = {"crf": str(crf), "preset": "medium"}
        for index in range(seconds * fps):
            x, y = index * 2, index
            frame = av.VideoFrame.from_ndarray(picture[y : y + 1080, x : x + 1920], "bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def bare_decode(path: Path, targets: set[int]) -> int:
    """Decode in order up to the last target; convert the targets to arrays."""
    last = max(targets)
    converted = 0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for index, frame in enumerate(container.decode(stream)):
            if index in targets:
                frame.to_ndarray()
                converted += 1
            if index >= last:
                break
    return converted


def timed(function: Callable[[], object], repeats: int) -> list[float]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats, median taken (5)")
    parser.add_argument("--output", default="-", help="'-' to print, or a Markdown file")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    for crf in (18, 23, 28):
        clip = make_clip(WORK / f"check_1080p30_crf{crf}.mp4", crf=crf)
        targets = {frame.index for frame in FrameSampler(clip, DEFAULT_SAMPLING)}
        options = CheckOptions(trust_sources=())
        previous = CheckOptions(
            trust_sources=(), watermarks=WatermarkOptions(sampling=PREVIOUS_SAMPLING)
        )
        report = check(clip, options)  # warm-up: imports, caches
        bare: list[float] = []
        ours: list[float] = []
        before: list[float] = []
        for _ in range(args.repeats):  # interleaved, so drift hits all alike
            bare += timed(functools.partial(bare_decode, clip, targets), 1)
            ours += timed(functools.partial(check, clip, options), 1)
            before += timed(functools.partial(check, clip, previous), 1)
        dwtdct = report.watermarks[0]
        skipped = "" if dwtdct.message is None else dwtdct.message
        rows.append(
            (
                crf,
                len(targets),
                statistics.median(bare),
                statistics.median(ours),
                dwtdct.state.value,
                dwtdct.frames_used,
                skipped,
                statistics.median(before),
            )
        )
    keyed_clip = WORK / "check_1080p30_crf23.mp4"
    keyed_options = CheckOptions(trust_sources=(), watermarks=WatermarkOptions(keys=("bench",)))
    check(keyed_clip, keyed_options)
    keyed_ms = statistics.median(timed(lambda: check(keyed_clip, keyed_options), args.repeats))

    lines = [
        *section_head(
            BENCH_NAME,
            "Default check of a 10 s 1080p30 H.264 clip vs PyAV decoding the sampled frames",
            f"PyAV {av.__version__} (FFmpeg {getattr(av, 'ffmpeg_version_info', '?')}), "
            f"numpy {np.__version__}, opencv {cv2.__version__}, provenance-checker {__version__}",
        ),
        f"- **Clips:** 300 frames of 1920x1080 textured picture panning 2 px/frame, libx264 "
        f"medium, default GOP; default sampling `{DEFAULT_SAMPLING}`; median of "
        f"{args.repeats} interleaved repeats; no trust list loaded.",
        "- **Reference:** PyAV opens the file, decodes in order (same threading) up to the "
        "last sampled frame and converts the sampled frames to arrays.",
        "",
        f"Target: `check` at most {TARGET_RATIO}x the reference.",
        "",
        "| clip | frames sampled | PyAV decode (s) | check (s) | ratio | target | dwtDct | "
        f"frames decoded by dwtDct | check with `{PREVIOUS_SAMPLING}` (s) |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for crf, count, bare_s, ours_s, state, used, _, before_s in rows:
        ratio = ours_s / bare_s
        verdict = "met" if ratio <= TARGET_RATIO else "**not met**"
        lines.append(
            f"| CRF {crf} | {count} | {bare_s:.3f} | {ours_s:.3f} | **{ratio:.2f}** | "
            f"{verdict} | {state} | {used} | {before_s:.3f} |"
        )
    lines += [
        "",
        "Both columns decode the stream up to the last frame sampled (the last frame of the "
        f"clip); the last column is the previous default sampling `{PREVIOUS_SAMPLING}`, "
        "for the absolute cost of reading every key frame as well.",
        f"With one keyed-mark key as well (CRF 23 clip): {keyed_ms:.3f} s.",
        f"<!-- {BENCH_NAME}:end -->",
    ]
    section = "\n".join(lines) + "\n"
    emit_section(section, args.output, BENCH_NAME)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
