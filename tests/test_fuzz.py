"""The fuzzer (``python -m datasets.fuzz``) in a bounded run: a fixed seed, a few hundred
damaged files, each checked in an isolated worker with a scan's limits. No input may make a
check raise, hang, crash its worker or exceed its memory; files made here never read intact
after their hashed content changed."""

from __future__ import annotations

import json
from pathlib import Path

from datasets import fuzz


def test_manifest_ranges_and_what_counts_as_content(tmp_path: Path) -> None:
    seeds = fuzz.make_seeds(tmp_path / "seeds")
    signed_jpeg = next(p for p in seeds if p.name == "signed.jpg")
    data = signed_jpeg.read_bytes()
    ranges = fuzz.manifest_ranges(data)  # the APP11 segments holding the store
    assert ranges
    assert all(data[start : start + 2] == b"\xff\xeb" for start, _ in ranges)
    start = ranges[0][0]
    assert fuzz._outside([(ranges[-1][1], ranges[-1][1] + 1)], ranges)
    assert not fuzz._outside([(start + 10, start + 11)], ranges)
    signed_clip = next(p for p in seeds if p.name == "signed.mp4")
    boxes = [signed_clip.read_bytes()[a + 4 : a + 8] for a, _ in fuzz.manifest_ranges(
        signed_clip.read_bytes())]  # fmt: skip
    assert b"uuid" in boxes
    assert fuzz.manifest_ranges((tmp_path / "seeds" / "plain.png").read_bytes()) == []


def test_a_bounded_fuzzing_run_finds_nothing(tmp_path: Path) -> None:
    result = fuzz.run(tmp_path / "run", count=210, seed=0, jobs=2, timeout=60)
    assert result.inputs == 210
    assert set(result.mutations) == set(fuzz.MUTATIONS)  # every mutation ran, 30 times
    assert result.findings == (), result.findings
    document = json.loads((tmp_path / "run" / "findings.json").read_text())
    assert document["counts"] == {}
    assert document["inputs"] == 210


def test_a_bounded_run_on_the_real_fixtures_never_crashes(tmp_path: Path) -> None:
    from tests.conftest import require_shared

    result = fuzz.run(tmp_path / "run", count=210, seed=3, shared=require_shared(), timeout=60)
    # no crash, and no false intact: a duplicated JPEG manifest store, which the SDK reads as
    # valid, is now reported altered (provenance.media.jpeg_stores)
    assert result.findings == (), result.findings
