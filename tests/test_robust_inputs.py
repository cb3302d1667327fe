"""No input makes a check raise or a scan stop (issue 15, point 6): file names that are not
UTF-8, named pipes, folders that cannot be read, internal failures; each with real files and
real processes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from provenance.testing.synth import write_image
from tests.support import REPO, skip_or_fail

#: A file name that is not UTF-8 (``\xff`` never occurs in UTF-8) and how every output shows it.
RAW_NAME = b"clip\xff.jpg"
SHOWN_NAME = "clip\\xff.jpg"


def _provenance(
    *args: str | bytes, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """Run the command line in a real process (bytes arguments are passed as they are)."""
    return subprocess.run(
        [sys.executable, "-m", "provenance", *args],
        capture_output=True,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        timeout=timeout,
        check=False,
    )


def _folder_with_a_raw_name(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "ok.jpg")
    shutil.copyfile(folder / "ok.jpg", os.path.join(os.fsencode(folder), RAW_NAME))
    return folder


# --------------------------------------------------------------------------- names


def test_a_file_name_that_is_not_utf8_is_scanned_and_every_output_writes(tmp_path: Path) -> None:
    _folder_with_a_raw_name(tmp_path)
    outputs = ("--jsonl", "out.jsonl", "--csv", "out.csv", "--html", "out.html")
    run = _provenance("scan", "in", *outputs, "--store", "s.db", cwd=tmp_path)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    assert "2 files: 2 checked" in run.stdout.decode("utf-8")  # valid UTF-8, no traceback
    assert run.stderr.decode("utf-8") == ""
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text("utf-8").splitlines()]
    assert sorted(line["path"] for line in lines) == [f"in/{SHOWN_NAME}", "in/ok.jpg"]
    assert all(line["verdict"]["code"] == "no_signal" for line in lines)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text("utf-8"))))
    assert sorted(row["path"] for row in rows) == [f"in/{SHOWN_NAME}", "in/ok.jpg"]
    assert SHOWN_NAME in (tmp_path / "out.html").read_text("utf-8")
    with sqlite3.connect(tmp_path / "s.db") as db:
        stored = {row[0] for row in db.execute("SELECT path FROM files")}
        assert os.path.join(str(tmp_path / "in"), SHOWN_NAME) in stored
        assert db.execute("SELECT COUNT(*) FROM scans WHERE finished_at IS NULL").fetchone()[0] == 0
    # a second scan finds the file unchanged in the store, under the same shown name
    again = _provenance("scan", "in", "--jsonl", "again.jsonl", "--store", "s.db", cwd=tmp_path)
    assert again.returncode == 0, again.stderr.decode("utf-8", "replace")
    assert "2 files: 0 checked, 2 unchanged" in again.stdout.decode("utf-8")
    paths = [
        json.loads(line)["path"] for line in (tmp_path / "again.jsonl").read_text().splitlines()
    ]
    assert sorted(paths) == [f"in/{SHOWN_NAME}", "in/ok.jpg"]


def test_check_names_a_file_that_is_not_utf8_escaped_in_every_format(tmp_path: Path) -> None:
    _folder_with_a_raw_name(tmp_path)
    raw = b"in/" + RAW_NAME
    table = _provenance("check", raw, "--html", "one.html", cwd=tmp_path)
    assert table.returncode == 0, table.stderr.decode("utf-8", "replace")
    assert f"in/{SHOWN_NAME}" in table.stdout.decode("utf-8")
    assert SHOWN_NAME in (tmp_path / "one.html").read_text("utf-8")
    as_json = _provenance("check", raw, "-f", "json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr.decode("utf-8", "replace")
    assert json.loads(as_json.stdout.decode("utf-8"))[0]["path"] == f"in/{SHOWN_NAME}"
    missing = _provenance("check", b"in/gone\xfe.jpg", "-f", "jsonl", cwd=tmp_path)
    assert missing.returncode == 3
    (report,) = [json.loads(line) for line in missing.stdout.decode("utf-8").splitlines()]
    assert report["path"] == "in/gone\\xfe.jpg"
    assert report["errors"][0]["code"] == "not_found"
    assert "in/gone\\xfe.jpg: no such file" in report["errors"][0]["message"]


def test_a_folder_named_in_bytes_that_are_not_utf8_is_scanned_with_its_reports(
    tmp_path: Path,
) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"dir\xfe")
    os.mkdir(folder)
    made = write_image(tmp_path / "ok.jpg")  # (OpenCV's imwrite crashes on such a path)
    shutil.copyfile(made, os.path.join(folder, b"ok.jpg"))
    run = _provenance("scan", b"dir\xfe", "--html", "h.html", "--csv", "c.csv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr.decode("utf-8", "replace")
    page = (tmp_path / "h.html").read_text("utf-8")
    assert "dir\\xfe" in page
    assert "dir\\xfe/ok.jpg" in (tmp_path / "c.csv").read_text("utf-8")


# --------------------------------------------------------------------------- not files


def test_named_pipes_in_a_folder_are_reported_not_opened_and_the_scan_finishes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "ok.jpg")
    os.mkfifo(folder / "pipe")  # no suffix: the walk used to sniff it, blocking for ever
    os.mkfifo(folder / "pipe.mp4")  # a media suffix: yielded, and its check must not open it
    # a hard timeout: a regression fails (TimeoutExpired) instead of hanging the tests
    run = _provenance(
        "scan", "in", "--jsonl", "o.jsonl", "--store", "s.db", cwd=tmp_path, timeout=30
    )
    assert run.returncode == 3, run.stderr.decode("utf-8", "replace")
    reports = {
        line["path"]: line
        for line in map(json.loads, (tmp_path / "o.jsonl").read_text().splitlines())
    }
    assert sorted(reports) == ["in/ok.jpg", "in/pipe", "in/pipe.mp4"]
    assert reports["in/ok.jpg"]["verdict"]["code"] == "no_signal"
    for name in ("in/pipe", "in/pipe.mp4"):
        assert reports[name]["verdict"]["code"] == "error"
        (error,) = reports[name]["errors"]
        assert error["code"] == "not_a_file"
        assert "not a regular file" in error["message"]
        assert "--exclude" in error["message"]
    summary = run.stdout.decode("utf-8")
    assert "Could not be checked (2)" in summary
    assert "in/pipe: Not a regular file" in summary
    # checked on its own, a pipe is reported the same way (and not opened either)
    one = _provenance("check", "in/pipe", "-f", "jsonl", cwd=tmp_path, timeout=30)
    assert one.returncode == 3
    assert json.loads(one.stdout)["errors"][0]["code"] == "not_a_file"


def _unprivileged_python() -> list[str]:
    """A command that runs this Python's packages as the user nobody (the tests run as root,
    for whom permission bits do not count). The interpreter must be one nobody may run:
    the system's, of the same version, with this environment's packages on its path."""
    system = Path("/usr/bin/python3")
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None or not system.is_file():
        skip_or_fail("needs root, setpriv (util-linux) and /usr/bin/python3")
    probe = subprocess.run(
        [system, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    )
    if probe.stdout.strip() != str(sys.version_info[:2]):
        skip_or_fail(f"/usr/bin/python3 is not Python {sys.version_info[:2]}")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", str(system)]


def test_a_folder_that_cannot_be_read_is_reported_and_the_scan_finishes() -> None:
    command = _unprivileged_python()
    # a folder nobody may use (pytest's own are root's, mode 0700)
    work = Path(tempfile.mkdtemp(prefix="provenance-unreadable-"))
    try:
        folder = work / "in"
        (folder / "sub").mkdir(parents=True)
        (folder / "locked").mkdir()
        write_image(folder / "ok.jpg")
        shutil.copyfile(folder / "ok.jpg", folder / "sub" / "y.jpg")
        shutil.copyfile(folder / "ok.jpg", folder / "locked" / "x.jpg")
        for path in (work, folder, folder / "sub", folder / "locked"):
            os.chown(path, 65534, 65534)
        for path in (folder / "ok.jpg", folder / "sub" / "y.jpg"):
            os.chmod(path, 0o644)
        os.chmod(folder / "locked", 0)
        site_packages = [p for p in sys.path if p.endswith("site-packages")]
        env = {
            **os.environ,
            "HOME": str(work),
            "COLUMNS": "200",
            "PYTHONPATH": os.pathsep.join([str(REPO), *site_packages]),
            "PROVENANCE_TRUST_DIR": str(work / "trust"),
        }
        outputs = ["--jsonl", "o.jsonl", "--csv", "o.csv", "--html", "o.html"]
        run = subprocess.run(
            [*command, "-m", "provenance", "scan", "in", *outputs, "--store", "s.db"],
            capture_output=True,
            text=True,
            cwd=work,
            env=env,
            timeout=30,
            check=False,
        )
        assert run.returncode == 3, run.stdout + run.stderr
        summary = run.stdout
        assert "3 files: 3 checked" in summary
        assert "in/locked: A folder that cannot be read (permission denied)" in summary
        lines = [json.loads(line) for line in (work / "o.jsonl").read_text().splitlines()]
        by_path = {line["path"]: line for line in lines}
        assert sorted(by_path) == ["in/locked", "in/ok.jpg", "in/sub/y.jpg"]
        (error,) = by_path["in/locked"]["errors"]
        assert error["code"] == "unreadable_folder"
        assert "Give read access" in error["message"]
        rows = list(csv.DictReader(io.StringIO((work / "o.csv").read_text())))
        assert [row["verdict"] for row in rows if row["path"] == "in/locked"] == ["error"]
        assert "in/locked" in (work / "o.html").read_text()
        with sqlite3.connect(work / "s.db") as db:
            kept = {row[0] for row in db.execute("SELECT path FROM scan_files")}
        assert "in/locked" in kept
    finally:
        os.chmod(work / "in" / "locked", 0o700)
        shutil.rmtree(work)


# --------------------------------------------------------------------------- crashes


def test_an_output_that_cannot_be_written_exits_2_with_a_message_not_a_traceback(
    tmp_path: Path,
) -> None:
    write_image(tmp_path / "ok.jpg")
    with open("/dev/full", "w") as full:  # every write: "No space left on device"
        run = subprocess.run(
            [sys.executable, "-m", "provenance", "check", "ok.jpg", "-f", "json"],
            stdout=full, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=60, check=False,
        )  # fmt: skip
    assert run.returncode == 2, run.stderr  # not 1, which means "matched --fail-on"
    assert "Traceback" not in run.stderr
    assert "error: the command stopped: No space left on device" in run.stderr
    assert "Check the disk space" in run.stderr


def test_an_internal_failure_exits_2_and_asks_for_a_bug_report(tmp_path: Path) -> None:
    write_image(tmp_path / "ok.jpg")
    # standard output closed (Python then has none): a failure the commands do not expect
    command = [sys.executable, "-m", "provenance", "check", "ok.jpg", "-f", "json"]
    run = subprocess.run(
        command, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=60, check=False,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "error: internal error (AttributeError" in run.stderr
    assert "This is a bug in provenance-checker" in run.stderr
    assert "please report it" in run.stderr
    shown = subprocess.run(
        command, stderr=subprocess.PIPE, text=True, cwd=tmp_path, timeout=60, check=False,
        preexec_fn=lambda: os.close(1), env={**os.environ, "PROVENANCE_TRACEBACK": "1"},
    )  # fmt: skip
    assert shown.returncode == 2
    assert "Traceback (most recent call last)" in shown.stderr


def test_resume_from_a_damaged_scan_record_says_so_and_exits_2(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "ok.jpg")
    first = _provenance("scan", "in", "--store", "s.db", cwd=tmp_path)
    assert first.returncode == 0, first.stderr.decode("utf-8", "replace")
    for damaged in ("{not json", "[1]", '{"paths": 5}', '{"paths": ["in"], "walk": 3}'):
        with sqlite3.connect(tmp_path / "s.db") as db:
            db.execute("UPDATE scans SET finished_at = NULL, inputs = ?", (damaged,))
        run = _provenance("scan", "--resume", "--store", "s.db", cwd=tmp_path)
        err = run.stderr.decode("utf-8")
        assert run.returncode == 2, err
        assert "Traceback" not in err
        assert "run that scan again without --resume" in err


# --------------------------------------------------------------------------- resume


def test_a_resumed_scan_of_relative_paths_finishes_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.batch.engine import scan
    from provenance.batch.scan_options import Engine, ScanOptions

    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    (first / "in").mkdir(parents=True)
    elsewhere.mkdir()
    for number in range(3):
        write_image(first / "in" / f"{number}.png", seed=number)
    store = tmp_path / "s.db"
    monkeypatch.chdir(first)  # the scan is given a relative folder
    items = scan(["in"], run=ScanOptions(engine=Engine.INLINE, store=store))
    next(items)
    items.close()  # type: ignore[attr-defined]  # interrupted after one file
    # the command Ctrl-C prints runs anywhere: here, from another folder
    resumed = _provenance("scan", "--resume", "--store", str(store), cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr.decode("utf-8", "replace")
    assert "3 files: 2 checked, 1 unchanged" in resumed.stdout.decode("utf-8")
    with sqlite3.connect(store) as db:
        scans = db.execute("SELECT finished_at FROM scans ORDER BY id").fetchall()
    assert len(scans) == 2
    assert all(finished is not None for (finished,) in scans)  # both: nothing left to resume
    again = _provenance("scan", "--resume", "--store", str(store), cwd=elsewhere)
    assert again.returncode == 2
    assert "nothing to resume" in again.stderr.decode("utf-8")


@pytest.mark.parametrize("command", ["scan", "check"])
def test_a_reader_that_closes_the_pipe_stops_the_command_with_141_not_1(
    command: str, tmp_path: Path
) -> None:
    for number in range(4):
        write_image(tmp_path / f"image_{number}.png", seed=number)
    streaming = (
        ["scan", "--no-store", "--no-progress", "--jobs", "1", "--jsonl", "-"]
        if command == "scan"
        else ["check", "--format", "jsonl", "--in-process"]
    )
    reader = subprocess.Popen(
        [sys.executable, "-m", "provenance", *streaming, "--detector", "none", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert reader.stdout is not None
    assert reader.stderr is not None
    assert json.loads(reader.stdout.readline())["path"].endswith(".png")
    reader.stdout.close()  # as `| head -n 1` does
    error = reader.stderr.read().decode()
    assert reader.wait(timeout=120) == 141  # never 1, which means "matched --fail-on"
    assert "Traceback" not in error
