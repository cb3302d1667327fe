"""One options model: CheckOptions as plain data and fingerprint, one key-file format, the
check options shared by ``check`` and ``scan`` (and reaching the scan's workers), one walker,
one worker pool."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from provenance import CheckOptions, WatermarkOptions, scan
from provenance.batch.pool import Job, Stopped, Task, WorkerPool
from provenance.batch.scan_options import Engine, ScanOptions
from provenance.cli import app
from provenance.cli.check_options import CHECK_OPTIONS
from provenance.credentials.trust import load_trust
from provenance.errors import InputError, TrustListError
from provenance.media.sampling import Sampling
from provenance.report import Detector, TrustSource
from provenance.testing.synth import write_clip
from provenance.watermark.keys import key_fingerprint, read_key_file

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


# --------------------------------------------------------------------------- the options model


def test_check_options_travel_as_plain_data() -> None:
    options = CheckOptions(
        trust_sources=(TrustSource.OFFICIAL,),
        extra_anchors=(Path("/anchors/a.pem"),),
        sidecar=Path("/media/clip.c2pa"),
        credentials_only=False,
        watermarks=WatermarkOptions(
            detectors=(Detector.DWTDCT, Detector.KEYED),
            keys=("secret one",),
            sampling=Sampling.parse("every:3", max_frames=5),
            payloads=("sdxl",),
            segment_seconds=2.5,
        ),
    )
    data = json.loads(json.dumps(options.to_dict()))  # crosses a process boundary as JSON
    assert CheckOptions.from_dict(data) == options
    assert data["watermarks"]["keys"] == ["secret one"]  # workers need the key ...
    public = json.dumps(options.public())
    assert "secret one" not in public  # ... stores and reports never see it
    assert key_fingerprint("secret one") in public
    assert CheckOptions.from_dict({}) == CheckOptions()
    with pytest.raises(ValueError, match="unknown check option 'bogus'"):
        CheckOptions.from_dict({"bogus": True})
    with pytest.raises(ValueError, match="unknown watermark option 'strength'"):
        CheckOptions.from_dict({"watermarks": {"strength": 3}})


def test_the_fingerprint_names_what_a_result_depends_on() -> None:
    trust = load_trust(None, sources=())
    base = CheckOptions()
    assert base.fingerprint(trust) == CheckOptions().fingerprint(trust)
    others = [
        CheckOptions(credentials_only=True),
        CheckOptions(watermarks=WatermarkOptions(payloads=("sdxl",))),
        CheckOptions(watermarks=WatermarkOptions(keys=("a",))),
        CheckOptions(watermarks=WatermarkOptions(keys=("b",))),
        CheckOptions(watermarks=WatermarkOptions(segment_seconds=2.0)),
    ]
    prints = {options.fingerprint(trust) for options in others}
    assert len(prints) == len(others)
    assert base.fingerprint(trust) not in prints


# --------------------------------------------------------------------------- key files


def test_one_key_file_format(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("  first key  \n\n# not a comment: a key\nfirst key\r\nsecond\n", "utf-8")
    assert read_key_file(keys) == ("first key", "# not a comment: a key", "second")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(InputError, match="holds no key"):
        read_key_file(empty)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00key")
    with pytest.raises(InputError, match="UTF-8"):
        read_key_file(binary)


def test_mark_reads_the_same_key_files(tmp_path: Path) -> None:
    source = write_clip(tmp_path / "in.mp4", seconds=0.5, width=320, height=240)
    two = tmp_path / "two.txt"
    two.write_text("key one\nkey two\n")
    refused = subprocess.run(
        [sys.executable, "-m", "provenance", "mark", str(source), str(tmp_path / "out.mp4"),
         "--key-file", str(two)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert refused.returncode == 2
    assert f"{two} holds 2 keys; a clip is marked with one" in refused.stderr  # on one line
    one = tmp_path / "one.txt"
    one.write_text("\nthe key\n\n")  # a key file as check and scan read it
    code, out, _ = invoke("mark", str(source), str(tmp_path / "out.mp4"), "--key-file", str(one))
    assert code == 0, out
    code, out, _ = invoke(
        "check", str(tmp_path / "out.mp4"), "--key-file", str(one), "--format", "json"
    )
    marks = {w["mark"]: w["state"] for w in json.loads(out)[0]["watermarks"]}
    assert marks[f"keyed:{key_fingerprint('the key')}"] == "detected"


# --------------------------------------------------------------------------- check and scan


def _parameters(name: str) -> set[str]:
    command = next(c for c in app.registered_commands if c.name == name)
    assert command.callback is not None
    import inspect

    return set(inspect.signature(command.callback).parameters)


def test_check_and_scan_take_every_check_option() -> None:
    shared = {parameter.name for parameter in CHECK_OPTIONS}
    assert shared <= _parameters("check")
    assert shared <= _parameters("scan")
    assert {"payloads", "segment_seconds", "sidecar", "fragments"} <= shared


def test_check_options_reach_the_scan_workers(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(1)
    small = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    picture = cv2.resize(small, (400, 300), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(folder / "picture.png"), picture)
    out = tmp_path / "out.jsonl"
    common = [sys.executable, "-m", "provenance", "scan", str(folder), "--no-store",
              "--no-progress", "--jobs", "1", "--jsonl", str(out)]  # fmt: skip
    done = subprocess.run([*common, "--payload", "sdxl", "--crop-search", "off",
                           "--no-resize-search"], capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [only_sdxl] = [json.loads(line) for line in out.read_text().splitlines()]
    done = subprocess.run([*common, "--crop-search", "off", "--no-resize-search"],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    [every] = [json.loads(line) for line in out.read_text().splitlines()]
    # one payload x 4 hypotheses against five payloads x 4 hypotheses, in the worker
    assert only_sdxl["watermarks"][0]["hypotheses_tested"] == 4
    assert every["watermarks"][0]["hypotheses_tested"] == 20


def test_one_file_options_refuse_a_batch(tmp_path: Path) -> None:
    write_clip(tmp_path / "a.mp4", seconds=0.5)
    write_clip(tmp_path / "b.mp4", seconds=0.5)
    sidecar = tmp_path / "manifest.c2pa"
    sidecar.write_bytes(b"not read")
    for command in ("check", "scan"):
        extra = ["--no-store", "--engine", "inline", "--no-progress"] if command == "scan" else []
        code, _, err = invoke(
            command, str(tmp_path / "a.mp4"), str(tmp_path / "b.mp4"), "--sidecar", str(sidecar),
            *extra,
        )  # fmt: skip
        assert code == 2, err
        assert "belong to one file" in err


def test_check_and_scan_walk_a_folder_alike(tmp_path: Path) -> None:
    folder = tmp_path / "drive"
    (folder / ".hidden").mkdir(parents=True)
    clip = write_clip(folder / "a.mp4", seconds=0.5)
    shutil.copy(clip, folder / "no_suffix")
    shutil.copy(clip, folder / ".hidden" / "b.mp4")
    (folder / "notes.txt").write_text("not media")
    code, out, _ = invoke("check", str(folder), "--format", "jsonl", "--credentials-only")
    assert code == 0
    checked = sorted(Path(json.loads(line)["path"]).name for line in out.splitlines())
    scanned = sorted(
        Path(item.path).name
        for item in scan(
            [folder], CheckOptions(credentials_only=True), ScanOptions(engine=Engine.INLINE)
        )
    )
    assert checked == scanned == ["a.mp4", "no_suffix"]


def test_resume_takes_the_interrupted_scans_options_only(tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    code, _, err = invoke("scan", "--resume", "--store", str(store), "--payload", "sdxl")
    assert code == 2
    assert "give only its keys" in err


def test_a_bad_anchor_stops_a_scan_with_its_own_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    clip = write_clip(tmp_path / "a.mp4", seconds=0.5)
    with pytest.raises(TrustListError) as raised:
        list(scan([clip], CheckOptions(extra_anchors=(bad,)), ScanOptions(engine=Engine.INLINE)))
    assert str(bad.name) in str(raised.value)


# --------------------------------------------------------------------------- the worker pool


def test_the_worker_pool_runs_any_job() -> None:
    job = Job("tests.support:start_echo_job", {"greeting": "hello"})
    tasks = [Task(0, {"n": 0}), Task(1, {"fail": "on purpose"}), Task(2, {"n": 2})]
    with WorkerPool(job, jobs=2, python_path=[Path(__file__).resolve().parents[1]]) as pool:
        outcomes = {outcome.task.id: outcome for outcome in pool.run(tasks)}
    assert outcomes[0].result is not None
    assert outcomes[0].result["echo"] == {"n": 0}
    assert outcomes[0].result["setup"] == {"greeting": "hello"}
    assert outcomes[1].stopped == Stopped.FAILED
    assert outcomes[1].message == "RuntimeError: on purpose"
    assert outcomes[2].result is not None  # a failed task costs nothing else


def test_scan_says_which_argument_is_which() -> None:
    from provenance.errors import ArgumentError

    with pytest.raises(ArgumentError, match=r"run=ScanOptions"):
        list(scan([], ScanOptions()))  # type: ignore[arg-type]  # the old call
    with pytest.raises(ArgumentError, match="run must be a ScanOptions"):
        list(scan([], CheckOptions(), CheckOptions()))  # type: ignore[arg-type]
