"""Batch scans: walk, isolated workers with limits, the results store, outputs, engines."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from provenance import check
from provenance.batch.check_job import check_job, report_of
from provenance.batch.engine import scan
from provenance.batch.pool import Task, WorkerPool
from provenance.batch.scan_options import Engine, ReportFiles, ScanOptions
from provenance.batch.walk import WalkOptions, iter_media_files
from provenance.errors import ScanError
from provenance.media.sampling import Sampling
from provenance.options import CheckOptions
from provenance.report import VerdictCode
from provenance.testing.synth import write_clip
from provenance.watermark.options import WatermarkOptions
from tests.malformed import good_files, malformed_files


def _big_image(path: Path) -> Path:
    """A 4K picture: its check (crop search) takes seconds and over 300 MiB."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (200, 300, 3), dtype=np.uint8)
    cv2.imwrite(str(path), cv2.resize(small, (3840, 2160), interpolation=cv2.INTER_CUBIC))
    return path


# --------------------------------------------------------------------------- walking


def test_walk_applies_globs_sniffs_content_and_skips_hidden(tmp_path: Path) -> None:
    root = tmp_path / "drive"
    (root / "clips" / "proxies").mkdir(parents=True)
    (root / ".cache").mkdir()
    write_clip(root / "clips" / "a.mp4", seconds=0.5)
    write_clip(root / "clips" / "proxies" / "a_proxy.mp4", seconds=0.5)
    write_clip(root / ".cache" / "hidden.mp4", seconds=0.5)
    (root / "clips" / "no_suffix").write_bytes((root / "clips" / "a.mp4").read_bytes())
    (root / "notes.txt").write_text("not media")
    (root / "clips" / "b.tmp").write_bytes(b"x")
    found = {p.relative_to(root).as_posix() for p in iter_media_files([root])}
    assert found == {"clips/a.mp4", "clips/proxies/a_proxy.mp4", "clips/no_suffix"}
    no_sniff = {p.name for p in iter_media_files([root], WalkOptions(sniff=False))}
    assert no_sniff == {"a.mp4", "a_proxy.mp4"}
    excluded = {p.name for p in iter_media_files([root], WalkOptions(exclude=("proxies",)))}
    assert excluded == {"a.mp4", "no_suffix"}
    included = {p.name for p in iter_media_files([root], WalkOptions(include=("*proxy*",)))}
    assert included == {"a_proxy.mp4"}
    # filters that leave nothing leave nothing; a folder of no media is reported itself
    assert list(iter_media_files([root], WalkOptions(include=("*.mov",)))) == []
    (root / "empty").mkdir()
    assert list(iter_media_files([root / "empty"])) == [root / "empty"]
    # a file named on the command line is always checked, whatever it is
    assert list(iter_media_files([root / "notes.txt"])) == [root / "notes.txt"]


def test_walk_follows_links_only_when_asked_and_survives_a_loop(tmp_path: Path) -> None:
    root = tmp_path / "root"
    elsewhere = tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    write_clip(elsewhere / "linked.mp4", seconds=0.5)
    (root / "link").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(root, target_is_directory=True)
    assert list(iter_media_files([root])) == [root]  # no media: the folder itself, to report
    followed = [p.name for p in iter_media_files([root], WalkOptions(follow_links=True))]
    assert followed == ["linked.mp4"]


# --------------------------------------------------------------------------- isolation


def test_local_workers_give_the_same_reports_as_check(tmp_path: Path) -> None:
    files = good_files(tmp_path / "good")
    items = {item.path: item for item in scan([tmp_path / "good"], run=ScanOptions(jobs=2))}
    assert set(items) == {str(f) for f in files}
    for path in files:
        direct = check(path)
        report = items[str(path)].report
        assert report.verdict.code is direct.verdict.code
        assert report.sha256 == direct.sha256
        assert [w.state for w in report.watermarks] == [w.state for w in direct.watermarks]


def test_a_file_over_the_time_limit_gets_an_error_and_the_scan_goes_on(tmp_path: Path) -> None:
    slow = _big_image(tmp_path / "slow.png")
    quick = write_clip(tmp_path / "quick.mp4", seconds=0.5)
    options = ScanOptions(jobs=1, timeout=1.0, engine=Engine.LOCAL)
    items = {Path(i.path).name: i for i in scan([slow, quick], run=options)}
    assert items["slow.png"].stopped == "timeout"
    report = items["slow.png"].report
    assert report.verdict.code is VerdictCode.ERROR
    assert report.errors[0].code == "timeout"
    assert "--timeout" in report.errors[0].message
    assert items["quick.mp4"].stopped is None
    assert items["quick.mp4"].report.verdict.code is VerdictCode.NO_SIGNAL


def test_a_file_over_the_memory_limit_gets_an_error(tmp_path: Path) -> None:
    big = _big_image(tmp_path / "big.png")
    quick = write_clip(tmp_path / "quick.mp4", seconds=0.5)
    options = ScanOptions(jobs=1, memory_mb=300, timeout=120)
    items = {Path(i.path).name: i for i in scan([big, quick], run=options)}
    assert items["big.png"].stopped == "memory"
    assert "--memory-limit" in items["big.png"].report.errors[0].message
    assert items["quick.mp4"].report.verdict.code is VerdictCode.NO_SIGNAL


def test_a_worker_killed_mid_file_costs_only_that_file(tmp_path: Path) -> None:
    # SIGSEGV, as a crash inside FFmpeg or OpenCV would raise, sent to the worker while it
    # checks the slow file; the next file must still be checked by a fresh worker.
    slow = _big_image(tmp_path / "slow.png")
    quick = write_clip(tmp_path / "quick.mp4", seconds=0.5)
    outcomes = []
    tasks = [Task(0, {"path": str(slow)}), Task(1, {"path": str(quick)})]
    with WorkerPool(check_job(CheckOptions()), jobs=1, timeout=120) as pool:
        runner = threading.Thread(target=lambda: outcomes.extend(pool.run(tasks)))
        runner.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = [w for w in pool._workers if w.task is not None and w.task.id == 0]
            if busy:
                time.sleep(0.5)  # well inside the check
                os.kill(busy[0].process.pid, signal.SIGSEGV)
                break
            time.sleep(0.05)
        runner.join(120)
        assert pool.restarts == 1
    by_id = {o.task.id: o for o in outcomes}
    assert by_id[0].stopped == "crashed"
    assert "SIGSEGV" in report_of(by_id[0], str(slow)).errors[0].message
    assert report_of(by_id[1], str(quick)).verdict.code is VerdictCode.NO_SIGNAL


def test_malformed_corpus_gives_one_record_per_file_and_exit_code_3(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    good = good_files(folder)
    bad = malformed_files(folder / "bad", good)
    assert len(bad) >= 50
    expected = {str(p): check(p).verdict.code for p in good}
    store = tmp_path / "scan.db"
    out = tmp_path / "out.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", str(folder), "--store", str(store),
         "--jsonl", str(out), "--jobs", "2", "--timeout", "60", "--no-progress"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    paths = [line["path"] for line in lines]
    assert len(paths) == len(set(paths)) == len(good) + len(bad)
    reports = {line["path"]: line for line in lines}
    for path, code in expected.items():
        assert reports[path]["verdict"]["code"] == code.value, path
    for path in bad:
        report = reports[str(path)]
        assert report["verdict"]["code"] in {"error", "unsupported", "no_signal"}, path
        # the good files carry no credentials, so no damaged copy may claim any
        assert report["credentials"]["state"] not in {"present", "corrupt"}, path
        if report["verdict"]["code"] != "no_signal":
            assert report["errors"] or report["verdict"]["code"] == "unsupported", path
    assert "Scan summary" in result.stdout


# --------------------------------------------------------------------------- store, resume


def test_store_skips_unchanged_files_and_rechecks_changed_ones(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    a = write_clip(folder / "a.mp4", seconds=0.5, seed=1)
    write_clip(folder / "b.mp4", seconds=0.5, seed=2)
    options = ScanOptions(engine=Engine.INLINE, store=tmp_path / "s.db")
    first = list(scan([folder], run=options))
    assert [i.cached for i in first] == [False, False]
    second = list(scan([folder], run=options))
    assert all(i.cached for i in second)
    assert {i.report.sha256 for i in second} == {i.report.sha256 for i in first}
    write_clip(a, seconds=0.5, seed=9)  # new content
    third = {Path(i.path).name: i for i in scan([folder], run=options)}
    assert not third["a.mp4"].cached
    assert third["b.mp4"].cached
    # other options: nothing reused
    other = CheckOptions(watermarks=WatermarkOptions(sampling=Sampling.parse("evenly:2")))
    assert not any(i.cached for i in scan([folder], other, options))
    rescanned = list(
        scan(
            [folder],
            run=ScanOptions(engine=Engine.INLINE, store=tmp_path / "s.db", rescan=True),
        )
    )
    assert not any(i.cached for i in rescanned)


def test_failed_results_are_kept_unless_retry_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\0\0\0\x18ftypisom" + b"\x07" * 200)
    store = tmp_path / "s.db"
    assert not next(iter(scan([broken], run=ScanOptions(engine=Engine.INLINE, store=store)))).cached
    assert next(iter(scan([broken], run=ScanOptions(engine=Engine.INLINE, store=store)))).cached
    retried = next(
        iter(scan([broken], run=ScanOptions(engine=Engine.INLINE, store=store, retry_errors=True)))
    )
    assert not retried.cached


def _clips(folder: Path, count: int) -> Path:
    folder.mkdir()
    for number in range(count):
        write_clip(folder / f"clip_{number:02d}.mp4", seconds=1.0, seed=number)
    return folder


def _signal_once_stored(
    process: subprocess.Popen[str], store: Path, count: int, sent: signal.Signals
) -> None:
    """Send ``sent`` to the scan ``process`` once its store holds ``count`` results."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if store.exists():
            with sqlite3.connect(store) as db:
                try:
                    done = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
            if done >= count:
                process.send_signal(sent)
                return
        time.sleep(0.05)


def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    folder = _clips(tmp_path / "clips", 24)
    store = tmp_path / "scan.db"
    command = [sys.executable, "-m", "provenance", "scan", "--store", str(store), "--jobs", "1",
               "--no-progress"]  # fmt: skip
    scan_process = subprocess.Popen(
        [*command, str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True
    )
    _signal_once_stored(scan_process, store, 6, signal.SIGKILL)
    scan_process.wait(60)
    assert scan_process.returncode == -signal.SIGKILL, "the scan finished before it could be killed"
    with sqlite3.connect(store) as db:
        before = dict(db.execute("SELECT path, stored_at || report FROM results").fetchall())
        unfinished = db.execute("SELECT COUNT(*) FROM scans WHERE finished_at IS NULL").fetchone()[
            0
        ]
    assert 6 <= len(before) < 24
    assert unfinished == 1
    out = tmp_path / "resumed.jsonl"
    resumed = subprocess.run(
        [*command, "--resume", "--jsonl", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(before)} unchanged (from the store)" in resumed.stdout
    with sqlite3.connect(store) as db:
        after = dict(db.execute("SELECT path, stored_at || report FROM results").fetchall())
        total = db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        finished = db.execute(
            "SELECT COUNT(*) FROM scans WHERE finished_at IS NOT NULL"
        ).fetchone()[0]
    assert total == 24
    assert finished == 2  # the resumed scan, and the interrupted one it completed
    for path, value in before.items():
        assert after[path] == value  # kept as it was, not checked again
    paths = [json.loads(line)["path"] for line in out.read_text().splitlines()]
    assert sorted(paths) == sorted({str(folder / f"clip_{n:02d}.mp4") for n in range(24)})


# --------------------------------------------------------------------------- outputs, CLI


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.external.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_cli_outputs_jsonl_csv_and_self_contained_html(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "a.mp4", seconds=0.5)
    write_clip(folder / "<b & c>.mp4", seconds=0.5)
    (folder / "broken.mp4").write_bytes(b"nonsense")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# extra files\n\n{folder / 'a.mp4'}\n")
    outputs = {name: tmp_path / f"out.{name}" for name in ("jsonl", "csv", "html")}
    result = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", str(folder), "--no-store", "--jobs", "1",
         "--engine", "inline", "--no-progress", "--jsonl", str(outputs["jsonl"]), "--csv",
         str(outputs["csv"]), "--html", str(outputs["html"])],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr  # broken.mp4
    rows = list(csv.DictReader(outputs["csv"].open(encoding="utf-8")))
    assert [Path(r["path"]).name for r in rows] == ["<b & c>.mp4", "a.mp4", "broken.mp4"]
    assert {r["verdict"] for r in rows} == {"no_signal", "error"}
    assert rows[2]["errors"].startswith("media/")
    reports = [json.loads(line) for line in outputs["jsonl"].read_text().splitlines()]
    assert [Path(r["path"]).name for r in reports] == [Path(r["path"]).name for r in rows]
    page = outputs["html"].read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(page)
    assert parser.external == []  # no network assets
    assert "<b & c>.mp4" not in page  # escaped
    assert any("<b & c>.mp4" in text for text in parser.text)
    assert "2</b>no_signal" in page
    assert "1</b>error" in page
    # paths relative to the folder the command was given, the whole path on hover
    assert f"Scanned folder: <code>{folder}</code>" in page
    assert f'title="{folder / "a.mp4"}">a.mp4</span>' in page
    # paths from a list file, and exit code 0 when every file was checked
    listed = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "--from", "-", "--no-store", "--engine",
         "inline", "--no-progress"],
        input=listing.read_text(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "1 file: 1 checked" in listed.stdout


def test_cli_explains_what_cannot_run(tmp_path: Path) -> None:
    nothing = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "--no-store"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert nothing.returncode == 2
    assert "nothing to scan" in nothing.stderr
    resume = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "--resume", "--store", str(tmp_path / "none.db")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert resume.returncode == 2
    assert "no results store to resume from" in resume.stderr
    clip = write_clip(tmp_path / "a.mp4", seconds=0.5)
    unwritable = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", str(clip), "--store", "/proc/none/scan.db",
         "--engine", "inline", "--no-progress"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert unwritable.returncode == 2
    assert "error: /proc/none/scan.db: cannot make the results store's folder" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


# --------------------------------------------------------------------------- Dask


def test_dask_local_cluster_gives_the_same_results(tmp_path: Path) -> None:
    pytest.importorskip(
        "distributed", reason="the cluster extra (dask[distributed]) is not installed"
    )
    files = good_files(tmp_path / "good")
    broken = tmp_path / "good" / "broken.mp4"
    broken.write_bytes(b"not a clip")
    store = tmp_path / "dask.db"
    options = ScanOptions(engine=Engine.DASK, jobs=2, store=store, timeout=120)
    items = {i.path: i for i in scan([tmp_path / "good"], run=options)}
    assert set(items) == {str(p) for p in [*files, broken]}
    for path in files:
        assert items[str(path)].report.verdict.code is check(path).verdict.code
    assert items[str(broken)].report.verdict.code is VerdictCode.ERROR
    with sqlite3.connect(store) as db:  # streamed back into the driver's store
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == len(items)


def test_dask_engine_uses_an_existing_scheduler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip(
        "distributed", reason="the cluster extra (dask[distributed]) is not installed"
    )
    clip = write_clip(tmp_path / "a.mp4", seconds=0.5)
    broken = tmp_path / "b.mp4"
    broken.write_bytes(b"not a clip")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        options = ScanOptions(engine=Engine.DASK, scheduler=cluster.scheduler_address)
        items = {Path(i.path).name: i for i in scan([clip, broken], run=options)}
        # the cluster's scheduler ran the checks (the engine names its tasks), and is still up
        assert "provenance-check" in cluster.scheduler.task_prefixes
        with distributed.Client(cluster) as client:
            assert sum(client.nthreads().values()) == 2
    assert items["a.mp4"].report.verdict.code is VerdictCode.NO_SIGNAL
    assert items["b.mp4"].report.verdict.code is VerdictCode.ERROR
    monkeypatch.setattr("provenance.batch.dask_engine.CONNECT_SECONDS", 3.0)
    with pytest.raises(ScanError, match="cannot reach the Dask scheduler"):
        list(scan([clip], run=ScanOptions(engine=Engine.DASK, scheduler="tcp://127.0.0.1:9")))


def test_progress_shows_counts_per_verdict_and_eta(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from provenance.cli.scan_display import ScanProgress, print_summary

    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "a.mp4", seconds=0.5)
    (folder / "b.mp4").write_bytes(b"broken")
    terminal = io.StringIO()
    summary = io.StringIO()
    display = ScanProgress(Console(file=terminal, force_terminal=True, width=80), show=True)
    with display.shown():
        items = list(
            scan([folder], run=ScanOptions(engine=Engine.INLINE), on_planned=display.planned)
        )
        for item in items:
            display.done(item.report)
    assert len(items) == 2
    # the last frame the live display drew, without its colours and cursor moves
    frame = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", terminal.getvalue()).splitlines()[-2:]
    assert re.fullmatch(r"scan ━+ 2/2 \d:\d\d:\d\d ETA \d:\d\d:\d\d *", frame[0]), frame
    assert frame[1] == "○ no_signal 1  ⊘ error 1"
    facts = {"files": 2, "checked": 2, "from the store": 0, "seconds": 0.1}
    print_summary(Console(file=summary, width=120), display.counts, facts, {}, [])
    text = summary.getvalue()
    assert "Scan summary" in text
    assert "2 files: 2 checked, 0 unchanged" in text


def test_csv_cells_never_start_a_spreadsheet_formula(tmp_path: Path) -> None:
    import dataclasses

    from provenance.render.files import spreadsheet_safe, write_csv

    assert spreadsheet_safe('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("-12.5") == "-12.5"  # numbers stay numbers
    assert spreadsheet_safe("camera") == "camera"
    report = check(write_clip(tmp_path / "a.mp4", seconds=0.5))
    hostile = dataclasses.replace(
        report,
        credentials=dataclasses.replace(report.credentials, claim_generator="=cmd|' /C calc'!A0"),
    )
    write_csv(tmp_path / "out.csv", [hostile])
    [row] = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8")))
    assert row["claim_generator"] == "'=cmd|' /C calc'!A0"


def test_nothing_to_scan_is_an_error_with_the_reason(tmp_path: Path) -> None:
    # an unmounted share, an emptied folder or a mistyped path must not end "0 files, exit 0"
    empty = tmp_path / "empty"
    empty.mkdir()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "readme.txt").write_text("not media")
    media = tmp_path / "media"
    media.mkdir()
    write_clip(media / "a.mp4", seconds=0.5)
    cases = [
        ([str(empty)], f"nothing to scan in {empty}: no media file there"),
        ([str(notes)], f"nothing to scan in {notes}: no media file there"),
        ([str(media), str(empty)], f"nothing to scan in {empty}"),
        ([str(tmp_path / "gone")], f"{tmp_path / 'gone'}: no such file or folder"),
        ([str(media), "--include", "*.mov"], "no media file under"),
    ]
    for arguments, message in cases:
        result = subprocess.run(
            [sys.executable, "-m", "provenance", "scan", *arguments, "--store",
             str(tmp_path / "scan.db"), "--engine", "inline", "--no-progress"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 2, (arguments, result.stdout, result.stderr)
        assert message in " ".join(result.stderr.split()), result.stderr
        assert "Traceback" not in result.stderr
    with pytest.raises(ScanError, match="no media file there"):
        list(scan([empty], run=ScanOptions(engine=Engine.INLINE)))
    # a folder with media scans as before
    fine = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", str(media), "--no-store", "--engine",
         "inline", "--no-progress"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert fine.returncode in (0, 1), fine.stderr
    assert "1 file: 1 checked" in fine.stdout


def test_jsonl_dash_streams_reports_to_standard_output(tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        write_clip(folder / name, seconds=0.5)
    (folder / "c.mp4").write_bytes(b"not a clip")
    result = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", str(folder), "--jsonl", "-", "--no-store",
         "--engine", "inline", "--no-progress"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr  # one file could not be checked
    reports = [json.loads(line) for line in result.stdout.splitlines()]  # nothing but JSON
    assert sorted(Path(r["path"]).name for r in reports) == ["a.mp4", "b.mp4", "c.mp4"]
    assert {r["verdict"]["code"] for r in reports} == {"no_signal", "error"}
    assert "3 files: 3 checked" in result.stderr  # the summary went to standard error
    assert not (tmp_path / "-").exists()  # no file named "-" was written


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_report_files_get_the_permissions_the_umask_gives(
    tmp_path: Path, umask: int, mode: int
) -> None:
    from provenance.render.files import write_csv, write_html, write_jsonl

    report = check(write_clip(tmp_path / "a.mp4", seconds=0.5))
    previous = os.umask(umask)
    try:
        write_jsonl(tmp_path / "out.jsonl", [report])
        write_csv(tmp_path / "out.csv", [report])
        write_html(tmp_path / "out.html", [report], {"files": 1})
    finally:
        os.umask(previous)
    for name in ("out.jsonl", "out.csv", "out.html"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a.mp4",
        "out.csv",
        "out.html",
        "out.jsonl",
    ]


def test_summary_lists_the_files_that_could_not_be_checked(tmp_path: Path) -> None:
    from provenance.cli.scan_display import SHOWN_FAILURES

    folder = tmp_path / "inbox"
    folder.mkdir()
    write_clip(folder / "good.mp4", seconds=0.5)
    broken = [f"cut{index:02d}.mp4" for index in range(SHOWN_FAILURES + 2)]
    for name in broken:
        (folder / name).write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 40)
    hostile = "zz\x1b[31m\u202eevil.mp4"  # sorts last: among the ones only counted
    (folder / hostile).write_bytes(b"garbage")
    # relative paths and a wide console: no line wraps, whatever the temporary folder's length
    result = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "inbox", "--no-store", "--engine",
         "inline", "--no-progress", "--csv", "all.csv"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "400"},
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    out = result.stdout
    assert f"Could not be checked ({len(broken) + 1}):" in out
    listed = [line.strip() for line in out.splitlines() if line.startswith("  inbox/")]
    assert [line.split(":")[0] for line in listed] == [
        f"inbox/{n}" for n in broken[:SHOWN_FAILURES]
    ]
    assert all(len(line.split(": ", 1)[1]) > 10 for line in listed)  # each with its reason
    # ... and the reason does not name the file again
    assert not any(
        line.split(": ", 1)[1].startswith(n) for line, n in zip(listed, broken, strict=False)
    )
    assert "and 3 more: every one is in CSV all.csv" in out
    assert "\x1b" not in out
    assert "\u202e" not in out


def test_ctrl_c_says_what_is_kept_and_the_command_that_resumes(tmp_path: Path) -> None:
    folder = _clips(tmp_path / "clips", 16)
    store = tmp_path / "scan.db"
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    (first / "out").mkdir(parents=True)
    elsewhere.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "provenance", "scan", str(folder), "--store", str(store),
         "--jobs", "1", "--no-progress",
         # relative report paths: the resumed scan, run from another folder, writes them here
         "--html", "out/scan.html", "--csv", "out/scan.csv", "--jsonl", "out/scan.jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=first,
        # a shell's background job inherits SIGINT ignored, and Python keeps it so: give the
        # scan the disposition a terminal's Ctrl-C meets
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    _signal_once_stored(process, store, 3, signal.SIGINT)  # what Ctrl-C sends
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    text = " ".join(err.split())
    assert "Interrupted after" in text
    assert "of 16 files" in text
    assert f"kept in {store}" in text
    assert "it writes the HTML, CSV and JSON Lines reports named here" in text
    assert list((first / "out").iterdir()) == []  # an interrupted scan writes no report
    command = err.splitlines()[-1].split()
    assert command[:3] == ["provenance", "scan", "--resume"]
    resumed = subprocess.run(
        [sys.executable, "-m", *command, "--no-progress"],
        capture_output=True, text=True, timeout=600, check=False, cwd=elsewhere,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    kept = int(text.split("Interrupted after ")[1].split()[0])
    summary = resumed.stdout.split("16 files: ")[1].split()
    checked, unchanged = int(summary[0]), int(summary[2])
    assert checked + unchanged == 16
    # every file reported before the interruption is kept (one more may have been stored
    # between its commit and its report)
    assert kept <= unchanged <= kept + 1
    # the reports the interrupted command named, each covering every file of the scan
    everything = sorted(str(path) for path in folder.iterdir())
    out = first / "out"
    assert sorted(p.name for p in out.iterdir()) == ["scan.csv", "scan.html", "scan.jsonl"]
    assert list(elsewhere.iterdir()) == []
    jsonl = [json.loads(line)["path"] for line in (out / "scan.jsonl").read_text().splitlines()]
    assert jsonl == everything
    rows = list(csv.DictReader((out / "scan.csv").open(encoding="utf-8")))
    assert [row["path"] for row in rows] == everything
    page = (out / "scan.html").read_text(encoding="utf-8")
    assert all(f"clip_{n:02d}.mp4" in page for n in range(16))
    assert f"wrote HTML {out / 'scan.html'}" in " ".join(resumed.stdout.split())
    # the resumed scan finished the interrupted one: nothing is left to resume
    again = subprocess.run(
        [sys.executable, "-m", *command], capture_output=True, text=True, timeout=60, check=False
    )
    assert again.returncode == 2
    assert "nothing to resume" in again.stderr


def _interrupted_store(folder: Path, store: Path, reports: ReportFiles) -> None:
    """A store whose scan of ``folder`` naming ``reports`` stopped after one file (the
    scan's generator closed, as an exception in its caller closes it)."""
    items = scan([folder], run=ScanOptions(engine=Engine.INLINE, store=store, reports=reports))
    next(items)
    items.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["own reports", "--no-reports", "store from before"])
def test_resume_writes_its_own_reports_or_none_when_told(tmp_path: Path, case: str) -> None:
    folder = _clips(tmp_path / "clips", 3)
    store = tmp_path / "scan.db"
    stored = {kind: tmp_path / f"stored.{kind}" for kind in ("html", "csv", "jsonl")}
    _interrupted_store(folder, store, ReportFiles(**{k: str(v) for k, v in stored.items()}))
    with sqlite3.connect(store) as db:
        recorded = json.loads(db.execute("SELECT inputs FROM scans").fetchone()[0])
        assert recorded["reports"] == {kind: str(path) for kind, path in stored.items()}
        if case == "store from before":  # as a store made before report files were kept
            db.execute("UPDATE scans SET inputs = json_remove(inputs, '$.reports')")
    arguments = {"own reports": ["--csv", "own.csv"], "--no-reports": ["--no-reports"]}
    resumed = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "--resume", "--store", str(store),
         "--engine", "inline", "--no-progress", *arguments.get(case, [])],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "3 files: 2 checked, 1 unchanged" in resumed.stdout
    assert not any(path.exists() for path in stored.values())
    if case == "own reports":  # given report options replace the stored ones
        rows = list(csv.DictReader((tmp_path / "own.csv").open(encoding="utf-8")))
        assert sorted(row["path"] for row in rows) == sorted(map(str, folder.iterdir()))
        assert "wrote CSV" in resumed.stdout
    else:
        assert "wrote" not in resumed.stdout
    both = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", str(folder), "--no-store", "--no-reports",
         "--csv", "x.csv"],
        capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert both.returncode == 2
    assert "either --no-reports or report files" in " ".join(both.stderr.split())


@pytest.mark.parametrize("engine", [Engine.INLINE, Engine.LOCAL])
def test_on_started_is_called_once_before_the_first_result(tmp_path: Path, engine: Engine) -> None:
    # the command line loads its renderer in a thread from then on (after the fork)
    for number in range(2):
        cv2.imwrite(str(tmp_path / f"p{number}.png"), np.full((64, 64, 3), 90, np.uint8))
    events: list[str] = []
    items = scan(
        [tmp_path],
        CheckOptions(trust_sources=()),
        ScanOptions(jobs=1, engine=engine, store=None),
        on_started=lambda: events.append("started"),
    )
    for item in items:
        events.append(Path(item.path).name)
    assert events == ["started", "p0.png", "p1.png"]
