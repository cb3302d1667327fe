"""The results store under real faults: an immutable file, a full disk (a file-size limit on
the scan's process), a file that is not a store, a truncated store, rows that no longer read.
Each gives one clear message and exit 2 (or, for a bad row, a miss that checks the file
again), never a traceback, and nothing already stored is lost."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provenance.testing.synth import write_clip


def _scan(*args: str, limit_bytes: int | None = None) -> subprocess.CompletedProcess[str]:
    def limited() -> None:
        if limit_bytes is not None:  # a full disk, as the process meets it
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "--no-progress", "--jobs", "1",
         "--detector", "none", *args],
        capture_output=True, text=True, timeout=300, preexec_fn=limited,
    )  # fmt: skip


def _results(store: Path) -> int:
    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT COUNT(*) FROM results").fetchone()[0])


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    for number in range(3):
        write_clip(folder / f"clip_{number}.mp4", seconds=0.5, seed=number)
    return folder


def _clear_failure(done: subprocess.CompletedProcess[str], words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert words in done.stderr


def test_an_immutable_store_is_a_clear_error_and_keeps_its_results(
    clips: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    assert _scan(str(clips), "--store", str(store)).returncode == 0
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(store)], capture_output=True).returncode
    ):
        pytest.skip("chattr +i is not available here (it needs root and a filesystem with it)")
    try:
        done = _scan(str(clips), "--store", str(store), "--rescan")
    finally:
        subprocess.run(["chattr", "-i", str(store)], check=True)
    _clear_failure(done, "the results store cannot be written")
    assert "make the file writable" in done.stderr
    assert _results(store) == 3


def test_a_full_disk_while_storing_is_a_clear_error_and_keeps_what_was_stored(
    clips: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    assert _scan(str(clips / "clip_0.mp4"), "--store", str(store)).returncode == 0
    before = _results(store)
    for name in ("clip_1.mp4", "clip_2.mp4"):  # bigger files to store
        write_clip(clips / f"big_{name}", seconds=2.0, seed=7)
    sizes = [p.stat().st_size for p in tmp_path.glob("store.db*")]
    done = _scan(str(clips), "--store", str(store), limit_bytes=max(sizes) + 512)
    _clear_failure(done, "the results store cannot be written")
    assert "Free disk space" in done.stderr
    assert _results(store) >= before


@pytest.mark.parametrize("damage", ["not a database", "truncated"])
def test_a_file_that_is_not_a_store_is_a_clear_error(
    damage: str, clips: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    if damage == "truncated":
        assert _scan(str(clips), "--store", str(store)).returncode == 0
        data = store.read_bytes()
        for extra in tmp_path.glob("store.db-*"):
            extra.unlink()
        store.write_bytes(data[: len(data) // 3])
    else:
        store.write_text("a shopping list\n")
    done = _scan(str(clips), "--store", str(store))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert str(store) in done.stderr
    assert "choose another --store" in done.stderr


def test_a_row_that_no_longer_reads_is_checked_again(clips: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    assert _scan(str(clips), "--store", str(store)).returncode == 0
    with sqlite3.connect(store) as db:  # one undecodable, one of a foreign shape
        db.execute("UPDATE results SET report = CAST(x'7bff22' AS TEXT) WHERE path LIKE '%0.mp4'")
        db.execute("UPDATE results SET report = '{\"path\": 3}' WHERE path LIKE '%1.mp4'")
    out = tmp_path / "out.jsonl"
    done = _scan(str(clips), "--store", str(store), "--jsonl", str(out))
    assert done.returncode == 0, done.stderr
    assert "3 files: 2 checked, 1 unchanged (from the store)" in done.stdout
    assert len(out.read_text().splitlines()) == 3
    assert os.path.getsize(store) > 0


def test_two_scans_on_one_store_never_both_check_everything(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for number in range(8):
        write_clip(folder / f"clip_{number}.mp4", seconds=1.0, seed=number)
    store = tmp_path / "store.db"
    command = [sys.executable, "-m", "provenance", "scan", "--no-progress", "--jobs", "1",
               str(folder), "--store", str(store)]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the second starts once the first has stored a result, while it has more to check
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:
        if store.exists() and _results_or_zero(store) >= 1:
            break
        time.sleep(0.05)
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    assert "8 files: 8 checked, 0 unchanged" in out
    # the second waited for the first and checked nothing again
    assert "8 files: 0 checked, 8 unchanged (from the store)" in second.stdout
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 8


def _results_or_zero(store: Path) -> int:
    try:
        return _results(store)
    except sqlite3.Error:
        return 0


def test_a_database_of_another_program_is_refused_and_left_as_it_was(
    clips: Path, tmp_path: Path
) -> None:
    store = tmp_path / "other.db"
    with sqlite3.connect(store) as db:
        db.execute("CREATE TABLE results (a, b)")
        db.execute("INSERT INTO results VALUES (1, 2)")
    done = _scan(str(clips), "--store", str(store))
    _clear_failure(
        done, "not a provenance results store (its table 'results' has the columns a, b)"
    )
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT * FROM results").fetchall() == [(1, 2)]


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("settings_public", "{not json", "the record of its interrupted scan"),
        ("inputs", '{"paths": 3}', "its interrupted scan's paths are damaged"),
    ],
)
def test_a_damaged_scan_record_is_a_clear_error_on_resume(
    column: str, value: str, words: str, clips: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store.db"
    assert _scan(str(clips), "--store", str(store)).returncode == 0
    with sqlite3.connect(store) as db:  # an interrupted scan whose record no longer reads
        db.execute(f"UPDATE scans SET finished_at = NULL, {column} = ?", (value,))
    done = _scan("--resume", "--store", str(store))
    _clear_failure(done, words)
    assert "without --resume" in done.stderr
    assert _results(store) == 3


@pytest.mark.parametrize("fault", ["full disk", "immutable folder"])
def test_a_report_that_cannot_be_written_is_an_error_with_its_path_and_the_rest_is_kept(
    fault: str, clips: Path, tmp_path: Path
) -> None:
    store, jsonl, csv = tmp_path / "store.db", tmp_path / "out.jsonl", tmp_path / "out.csv"
    if fault == "full disk":  # the kernel's always-full device: every write gets ENOSPC
        html = Path("/dev/full")
        if not html.is_char_device():
            pytest.skip("/dev/full is not available here")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here (it needs root and a filesystem with it)")
        html = locked / "report.html"
    try:
        done = _scan(str(clips), "--store", str(store), "--jsonl", str(jsonl), "--csv", str(csv),
                     "--html", str(html))  # fmt: skip
    finally:
        if fault != "full disk":
            subprocess.run(["chattr", "-i", str(html.parent)], check=True)
    _clear_failure(done, f"{html}: cannot write the HTML report")
    assert "the results store and the other reports are kept" in done.stderr
    assert _results(store) == 3  # the store and the other reports are whole
    assert len(jsonl.read_text().splitlines()) == 3
    assert len(csv.read_text().splitlines()) == 4
    assert "3 files: 3 checked" in done.stdout  # the summary is still shown
    assert Path("/dev/full").is_char_device()  # a device is written to, never replaced
