"""Fuzz the checker with damaged files: does any input make a check raise, hang, crash its
worker, run out of memory, or read tampered credentials as intact?

Usage::

    python -m datasets.fuzz OUT_DIR [--count N] [--seed S] [--shared DIR] [--jobs N]
                                    [--timeout SECONDS] [--memory-limit MIB]

Seeds are files made here (a clip and JPEG/PNG images, signed with a PKI generated for the run,
and unsigned ones) and, with ``--shared``, the real C2PA fixtures of ``../shared``. Each input is
one seed mutated once: bit flips, inserted or deleted bytes, a truncation, a splice of two
seeds, a rewritten ISO BMFF box or JPEG segment length, or a duplicated C2PA manifest store.
Every input is checked by :func:`provenance.scan` in its own worker process, under the time
and memory limits a scan has, so a hang or a memory bomb is a finding, never a stuck run.

Findings, written to ``OUT_DIR/findings.json`` with each input kept under
``OUT_DIR/findings/``:

* **failed**: the check raised (an uncaught exception in the library);
* **timeout**, **memory**, **crashed**: past the limits, or the worker died (a signal);
* **false intact**: a mutation changed the bytes of a signed file outside its manifest store
  (the content the credentials hash), yet its credentials read ``intact``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.media.jpeg_stores import jpeg_app11_ranges

__all__ = ["Finding", "FuzzRun", "make_seeds", "mutate", "run"]

#: The C2PA manifest store's box in ISO BMFF files (a ``uuid`` box with this user type).
_C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")

#: Suffixes of the shared fixtures used as seeds.
_SEED_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".mp4", ".mov", ".heic", ".avif"}


@dataclass(frozen=True)
class Mutant:
    """One fuzzed input: which seed, which mutation, and the byte ranges it changed."""

    name: str
    seed: str
    mutation: str
    changed: tuple[tuple[int, int], ...]
    """[start, end) ranges of the seed the mutation touched (to the end for a shift)."""


@dataclass(frozen=True)
class Finding:
    """An input that broke a promise."""

    kind: str
    input: str
    seed: str
    mutation: str
    detail: str


@dataclass(frozen=True)
class FuzzRun:
    """What a run checked and found."""

    inputs: int
    findings: tuple[Finding, ...]
    mutations: dict[str, int]
    seconds: float

    def counts(self) -> dict[str, int]:
        """Findings per kind."""
        return dict(Counter(f.kind for f in self.findings))


# --------------------------------------------------------------------------- manifest ranges


def manifest_ranges(data: bytes) -> list[tuple[int, int]]:
    """Bytes the content hash does not cover: the C2PA manifest store in a JPEG (its APP11
    segments) or an ISO BMFF file (the C2PA ``uuid`` box), and a BMFF file's top-level
    ``free``/``skip`` padding (which the usual BMFF hash exclusions leave out)."""
    ranges: list[tuple[int, int]] = []
    if data[:2] == b"\xff\xd8":
        ranges.extend(jpeg_app11_ranges(data))
    elif data[4:8] == b"ftyp":
        position = 0
        while position + 8 <= len(data):
            size = int.from_bytes(data[position : position + 4], "big")
            kind = data[position + 4 : position + 8]
            if size == 1 and position + 16 <= len(data):
                size = int.from_bytes(data[position + 8 : position + 16], "big")
            elif size == 0:
                size = len(data) - position
            if size < 8:
                break
            store = kind == b"uuid" and data[position + 8 : position + 24] == _C2PA_UUID
            padding = kind in (b"free", b"skip")  # the BMFF hash's usual exclusions
            if store or padding:
                ranges.append((position, position + size))
            position += size
    return ranges


def _outside(changed: Sequence[tuple[int, int]], protected: Sequence[tuple[int, int]]) -> bool:
    """Whether any changed range reaches bytes outside every protected range."""
    for start, end in changed:
        covered = any(a <= start and end <= b for a, b in protected)
        if not covered:
            return True
    return False


# --------------------------------------------------------------------------- mutations


def _bitflips(
    data: bytes, rng: random.Random, _other: bytes
) -> tuple[bytes, list[tuple[int, int]]]:
    out = bytearray(data)
    spots = [rng.randrange(len(out)) for _ in range(rng.randint(1, 8))]
    for spot in spots:
        out[spot] ^= 1 << rng.randrange(8)
    return bytes(out), [(s, s + 1) for s in spots]


def _insert(data: bytes, rng: random.Random, _other: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    spot = rng.randrange(len(data))
    extra = bytes(rng.randrange(256) for _ in range(rng.choice((1, 4, 64, 1024))))
    return data[:spot] + extra + data[spot:], [(spot, len(data))]


def _delete(data: bytes, rng: random.Random, _other: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    spot = rng.randrange(len(data))
    length = min(rng.choice((1, 4, 64, 1024)), len(data) - spot)
    return data[:spot] + data[spot + length :], [(spot, len(data))]


def _truncate(
    data: bytes, rng: random.Random, _other: bytes
) -> tuple[bytes, list[tuple[int, int]]]:
    keep = rng.randrange(1, len(data))
    return data[:keep], [(keep, len(data))]


def _splice(data: bytes, rng: random.Random, other: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    cut = rng.randrange(1, len(data))
    return data[:cut] + other[rng.randrange(len(other)) :], [(cut, len(data))]


def _length(data: bytes, rng: random.Random, _other: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """Rewrite the length field of a top-level BMFF box or a JPEG segment."""
    fields: list[tuple[int, int]] = []  # (offset, width)
    if data[:2] == b"\xff\xd8":
        position = 2
        while position + 4 <= len(data) and data[position] == 0xFF and data[position + 1] != 0xDA:
            fields.append((position + 2, 2))
            position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    else:
        position = 0
        while position + 8 <= len(data):
            size = int.from_bytes(data[position : position + 4], "big")
            fields.append((position, 4))
            if size < 8:
                break
            position += size
    if not fields:
        return _bitflips(data, rng, b"")
    offset, width = rng.choice(fields)
    value = rng.choice((0, 1, 7, 8, 2 ** (8 * width) - 1, rng.randrange(2 ** (8 * width))))
    if value == int.from_bytes(data[offset : offset + width], "big"):
        value ^= 1  # a rewrite to the same length (a 64-bit box's 1) would change nothing
    out = bytearray(data)
    out[offset : offset + width] = value.to_bytes(width, "big")
    return bytes(out), [(offset, offset + width)]


def _duplicate_store(
    data: bytes, rng: random.Random, _other: bytes
) -> tuple[bytes, list[tuple[int, int]]]:
    """Copy a manifest store next to itself (another APP11 run, another ``uuid`` box)."""
    ranges = manifest_ranges(data)
    if not ranges:
        return _insert(data, rng, b"")
    start, end = rng.choice(ranges)
    return data[:end] + data[start:end] + data[end:], [(end, len(data))]


MUTATIONS: dict[
    str, Callable[[bytes, random.Random, bytes], tuple[bytes, list[tuple[int, int]]]]
] = {
    "bitflip": _bitflips,
    "insert": _insert,
    "delete": _delete,
    "truncate": _truncate,
    "splice": _splice,
    "length": _length,
    "duplicate-store": _duplicate_store,
}


def mutate(
    data: bytes, rng: random.Random, other: bytes, mutation: str
) -> tuple[bytes, list[tuple[int, int]]]:
    """``data`` with one ``mutation`` applied (``other`` is the second seed of a splice);
    returns the bytes and the ranges of ``data`` it changed."""
    return MUTATIONS[mutation](data, rng, other)


# --------------------------------------------------------------------------- seeds and run


def make_seeds(folder: Path, shared: Path | None = None) -> list[Path]:
    """Signed and unsigned files made here, plus the shared C2PA fixtures when given."""
    from provenance.testing.pki import generate_pki
    from provenance.testing.signing import sign_file
    from provenance.testing.synth import write_clip, write_image

    folder.mkdir(parents=True, exist_ok=True)
    pki = generate_pki(folder / "pki")
    plain = [
        write_clip(folder / "plain.mp4", seconds=0.5, width=256, height=144),
        write_image(folder / "plain.jpg", width=256, height=192),
        write_image(folder / "plain.png", width=128, height=96),
    ]
    seeds = list(plain)
    for source in plain:
        seeds.append(sign_file(source, folder / f"signed{source.suffix}", pki=pki))
    if shared is not None:
        fixtures = shared / "fixtures" / "c2pa"
        seeds += sorted(p for p in fixtures.iterdir() if p.suffix.lower() in _SEED_SUFFIXES)
    return seeds


def _mutants(seeds: Sequence[Path], count: int, seed: int, folder: Path) -> list[Mutant]:
    rng = random.Random(seed)
    contents = {path: path.read_bytes() for path in seeds}
    folder.mkdir(parents=True, exist_ok=True)
    names = list(MUTATIONS)
    made = []
    for number in range(count):
        source = rng.choice(seeds)
        mutation = names[number % len(names)]
        other = contents[rng.choice(seeds)]
        data, changed = mutate(contents[source], rng, other, mutation)
        name = f"{number:05d}_{mutation}_{source.stem}{source.suffix}"
        (folder / name).write_bytes(data)
        made.append(Mutant(name, str(source), mutation, tuple(changed)))
    return made


def run(
    out: Path,
    *,
    count: int = 200,
    seed: int = 0,
    shared: Path | None = None,
    jobs: int = 2,
    timeout: float = 60.0,
    memory_limit_mb: int = 2048,
) -> FuzzRun:
    """Make ``count`` mutants of the seeds and check each in an isolated worker."""
    import time

    from provenance import CheckOptions, ScanOptions, scan

    started = time.monotonic()
    seeds = make_seeds(out / "seeds", shared)
    inputs = out / "inputs"
    mutants = {m.name: m for m in _mutants(seeds, count, seed, inputs)}
    signed = {str(p) for p in seeds if "signed" in p.name or p.parent.name == "c2pa"}
    how = ScanOptions(store=None, jobs=jobs, timeout=timeout, memory_mb=memory_limit_mb)
    findings: list[Finding] = []
    for item in scan([inputs], CheckOptions(), how):
        mutant = mutants[Path(item.path).name]
        if item.stopped is not None:
            detail = item.report.errors[0].message if item.report.errors else ""
            findings.append(
                Finding(item.stopped, mutant.name, mutant.seed, mutant.mutation, detail)
            )
            continue
        credentials = item.report.credentials
        if (
            mutant.seed in signed
            and credentials.integrity.value == "intact"
            and _outside(mutant.changed, manifest_ranges(Path(mutant.seed).read_bytes()))
            and Path(item.path).read_bytes() != Path(mutant.seed).read_bytes()  # really changed
        ):
            findings.append(
                Finding(
                    "false intact",
                    mutant.name,
                    mutant.seed,
                    mutant.mutation,
                    f"changed {list(mutant.changed)[:3]}, read {credentials.integrity.value}",
                )
            )
    kept = out / "findings"
    if findings:
        kept.mkdir(exist_ok=True)
        for finding in findings:
            shutil.copy(inputs / finding.input, kept / finding.input)
    result = FuzzRun(
        len(mutants),
        tuple(findings),
        dict(Counter(m.mutation for m in mutants.values())),
        round(time.monotonic() - started, 1),
    )
    document: dict[str, Any] = {
        "inputs": result.inputs,
        "seed": seed,
        "mutations": result.mutations,
        "counts": result.counts(),
        "seconds": result.seconds,
        "findings": [dataclasses.asdict(f) for f in findings],
    }
    (out / "findings.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m datasets.fuzz", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out", type=Path, help="folder for the inputs and findings.json")
    parser.add_argument("--count", type=int, default=5000, help="how many inputs (default 5000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--shared", type=Path, help="the ../shared folder: its C2PA fixtures become seeds"
    )
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per input (default 60)"
    )
    parser.add_argument(
        "--memory-limit", type=int, default=2048, help="MiB per worker (default 2048)"
    )
    args = parser.parse_args(argv)
    result = run(args.out, count=args.count, seed=args.seed, shared=args.shared, jobs=args.jobs,
                 timeout=args.timeout, memory_limit_mb=args.memory_limit)  # fmt: skip
    print(f"{result.inputs} inputs in {result.seconds} s; findings: {result.counts() or 'none'}")
    print(f"details: {args.out / 'findings.json'}")
    return 1 if result.findings else 0


if __name__ == "__main__":
    sys.exit(main())
