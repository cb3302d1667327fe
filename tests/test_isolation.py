"""A single check protects itself as a scan does: ``provenance check`` and
:func:`provenance.check_isolated` run the check in a worker process with a time and a memory
limit, so a hostile file (here a 36-megapixel PNG of 100 KB, under the pixel budget, that a
check decodes into about 1.3 GB) costs a worker, never the caller. The page's queue
(:class:`~provenance.batch.slots.CheckSlots`) is tested with real processes holding slots."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import provenance
from provenance.batch.slots import BusyError, CheckSlots
from provenance.testing.synth import write_clip


@pytest.fixture(scope="module")
def heavy_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import cv2

    path = tmp_path_factory.mktemp("heavy") / "heavy.png"
    cv2.imwrite(str(path), np.zeros((6000, 6000, 3), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    assert path.stat().st_size < 200_000
    return path


def test_an_isolated_check_gives_the_report_an_in_process_check_gives(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", seconds=1.0, seed=3)
    here, there = provenance.check(clip), provenance.check_isolated(clip)
    assert there.verdict.code == here.verdict.code
    assert there.sha256 == here.sha256
    assert there.errors == ()
    assert [w.detector for w in there.watermarks] == [w.detector for w in here.watermarks]


def test_an_isolated_check_of_bytes_names_the_upload_and_keeps_nothing(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "clip.mp4", seconds=0.5, seed=4)
    before = set(Path(tempfile.gettempdir()).glob("provenance-*"))
    report = provenance.check_bytes_isolated(clip.read_bytes(), name="from a stranger.mp4")
    assert report.path == "from a stranger.mp4"
    assert report.verdict.code is provenance.VerdictCode.NO_SIGNAL
    assert set(Path(tempfile.gettempdir()).glob("provenance-*")) == before


def test_a_memory_bomb_costs_the_worker_not_the_caller(heavy_png: Path) -> None:
    # the caller is its own process, so that its peak resident size (VmHWM: its own since
    # exec, unlike ru_maxrss, which keeps the forking parent's) is its own
    script = (
        "import re, sys, provenance\n"
        "report = provenance.check_isolated(sys.argv[1], memory_mb=300)\n"
        "print(report.verdict.code.value, report.errors[0].code)\n"
        "status = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(heavy_png)], capture_output=True, text=True,
        timeout=300, check=True,
    )  # fmt: skip
    verdict, peak = done.stdout.splitlines()
    assert verdict == "error memory"
    assert int(peak) < 250  # MiB: the caller never decoded the picture


@pytest.mark.parametrize(
    ("limit", "code", "words"),
    [
        (("--memory-limit", "300"), "memory", "over the 300 MiB limit"),
        (("--timeout", "0.5"), "timeout", "time limit"),
    ],
)
def test_the_check_command_stops_a_hostile_file_at_its_limits(
    limit: tuple[str, str], code: str, words: str, heavy_png: Path, tmp_path: Path
) -> None:
    clip = write_clip(tmp_path / "fine.mp4", seconds=0.5, seed=5)
    done = subprocess.run(
        [sys.executable, "-m", "provenance", "check", str(heavy_png), str(clip), *limit],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr  # a file that could not be checked
    assert "Traceback" not in done.stdout + done.stderr
    assert f"[scan/{code}]" not in done.stdout  # two files: the table, not the details
    lines = done.stdout.splitlines()
    assert any("heavy.png" in line and "error" in line for line in lines)
    assert any("fine.mp4" in line and "no_signal" in line for line in lines)  # the next file
    single = subprocess.run(
        [sys.executable, "-m", "provenance", "check", str(heavy_png), *limit],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert f"[scan/{code}]" in single.stdout
    assert words in single.stdout


def _started_a_worker(trace: str) -> bool:
    """Whether an strace of a command shows a worker process: a forked child (a clone that
    is not a thread) or a fresh worker interpreter."""
    for line in trace.splitlines():
        if "provenance.batch.worker" in line:
            return True
        forked = re.search(r"\b(clone3?|v?fork)\(.*\) = \d+$", line)
        if forked and "CLONE_THREAD" not in line:
            return True
    return False


_PROCESS_CALLS = "trace=execve,clone,clone3,fork,vfork"


def test_the_check_command_in_process_has_no_worker(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "fine.mp4", seconds=0.5, seed=6)
    done = subprocess.run(
        ["strace", "-f", "-e", _PROCESS_CALLS, "-o", str(tmp_path / "trace"),
         sys.executable, "-m", "provenance", "check", str(clip), "--in-process"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if done.returncode != 0 and "strace" in done.stderr:
        pytest.skip("strace cannot trace here")
    assert done.returncode == 0, done.stderr
    assert not _started_a_worker((tmp_path / "trace").read_text())
    isolated = subprocess.run(
        ["strace", "-f", "-e", _PROCESS_CALLS, "-o", str(tmp_path / "trace2"),
         sys.executable, "-m", "provenance", "check", str(clip)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert isolated.returncode == 0, isolated.stderr
    assert _started_a_worker((tmp_path / "trace2").read_text())


def test_slots_queue_checks_and_come_free_when_a_holder_dies(tmp_path: Path) -> None:
    slots = CheckSlots(2, tmp_path / "slots")
    holder = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from provenance.batch.slots import CheckSlots\n"
        "with CheckSlots(2, Path(sys.argv[1])).take(wait_seconds=5) as n:\n"
        "    print(n, flush=True)\n"
        "    time.sleep(600)\n"
    )
    holders = [
        subprocess.Popen([sys.executable, "-c", holder, str(slots.folder)], stdout=subprocess.PIPE,
                         text=True)
        for _ in range(2)
    ]  # fmt: skip
    try:
        held = [int(h.stdout.readline()) for h in holders if h.stdout]
        assert sorted(held) == [0, 1]
        told: list[str] = []
        started = time.monotonic()
        third = slots.take(wait_seconds=0.5, on_wait=lambda: told.append("busy"))
        with pytest.raises(BusyError, match="all 2 checks at a time are taken"), third:
            pytest.fail("a third check ran while two slots were held")
        assert told == ["busy"]
        assert time.monotonic() - started >= 0.5
        os.kill(holders[1].pid, signal.SIGKILL)  # killed, its slot is free at once
        holders[1].wait()
        with slots.take(wait_seconds=5, on_wait=lambda: told.append("again")) as number:
            assert number == held[1]
        assert told == ["busy"]
    finally:
        for process in holders:
            process.kill()
            process.wait()
