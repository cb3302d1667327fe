"""The command line: formats, exit codes, bad inputs, trust management."""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from provenance.cli import app
from provenance.credentials.trust import add_user_anchor
from provenance.testing.pki import generate_pki
from provenance.testing.synth import write_clip

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    # only SystemExit may end a command: anything else is a traceback a user would see
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clips") / "plain.mp4", seconds=0.5)


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out.startswith("provenance-checker ")
    code, out, _ = run("check", "--help")
    assert code == 0
    for option in (
        "--format",
        "--fail-on",
        "--trust-dir",
        "--trust-list",
        "--anchors",
        "--sidecar",
        "--fragment",
        "--fetch-remote",
    ):
        assert option in out


def test_json_output_is_one_array(clip: Path) -> None:
    code, out, _ = run("check", str(clip), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert isinstance(data, list)
    assert len(data) == 1
    assert data[0]["verdict"]["code"] == "no_signal"
    assert data[0]["media"]["video_codec"] == "h264"


def test_jsonl_output_is_one_line_per_file(clip: Path, shared_dir: Path) -> None:
    dalle = shared_dir / "fixtures" / "c2pa" / "DALL-E_cloud_surfing_puppy.webp"
    code, out, _ = run("check", str(clip), str(dalle), "--format", "jsonl")
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["verdict"]["code"] for line in lines] == ["no_signal", "ai_declared"]
    assert code == 0


def test_table_output_explains_a_single_file(clip: Path) -> None:
    code, out, _ = run("check", str(clip))
    assert code == 0
    assert "no_signal" in out
    assert "proves nothing" in out


def test_exit_codes(clip: Path, shared_dir: Path, tmp_path: Path) -> None:
    dalle = str(shared_dir / "fixtures" / "c2pa" / "DALL-E_cloud_surfing_puppy.webp")
    tampered = str(shared_dir / "fixtures" / "c2pa" / "adobe-20220124-E-dat-CA.jpg")
    assert run("check", str(clip), "--fail-on", "ai")[0] == 0
    assert run("check", dalle, "--fail-on", "ai")[0] == 1
    assert run("check", dalle, "--fail-on", "ai_declared,credentials_tampered")[0] == 1
    assert run("check", tampered, "--fail-on", "credentials_tampered")[0] == 1
    assert run("check", tampered, "--fail-on", "ai")[0] == 0
    missing = str(tmp_path / "missing.mp4")
    assert run("check", dalle, missing, "--fail-on", "ai")[0] == 3  # 3 takes precedence over 1
    code, _, err = run("check", dalle, "--fail-on", "probably_fine")
    assert code == 2
    assert "unknown verdict" in err
    assert run("check", dalle, "--format", "yaml")[0] == 2


def test_folder_is_walked(clip: Path, tmp_path: Path) -> None:
    folder = tmp_path / "drive"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(clip, folder / "a.mp4")
    shutil.copy(clip, folder / "sub" / "b.MOV")
    (folder / "notes.txt").write_text("not media")
    code, out, _ = run("check", str(folder), "--format", "jsonl")
    paths = [Path(json.loads(line)["path"]).name for line in out.splitlines()]
    assert paths == ["a.mp4", "b.MOV"]
    assert code == 0


def _bad_inputs(folder: Path, clip: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    zero = folder / "zero.mp4"
    zero.write_bytes(b"")
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[:600])
    noise = folder / "noise.mp4"
    noise.write_bytes(os.urandom(50_000))
    text = folder / "letter.mov"
    text.write_text("Dear editor,\nthis is not a video.\n" * 50)
    empty_dir = folder / "empty-folder"
    empty_dir.mkdir()
    return {
        "zero": zero,
        "truncated": truncated,
        "noise": noise,
        "text": text,
        "directory": empty_dir,
        "missing": folder / "missing.mp4",
    }


EXPECTED_ERRORS = {
    "zero": ("input", "empty", "empty file"),
    "truncated": ("media", "corrupt", "truncated.mp4"),
    "noise": ("media", "not_media", "noise.mp4"),
    "text": ("media", "not_media", "letter.mov"),
    "directory": ("input", "is_directory", "is a folder"),
    "missing": ("input", "not_found", "no such file"),
}


def test_bad_inputs_get_one_clear_error_each(clip: Path, tmp_path: Path) -> None:
    inputs = _bad_inputs(tmp_path / "bad", clip)
    for name, path in inputs.items():
        code, out, _ = run("check", str(path), "--format", "json")
        assert code == 3, name
        (report,) = json.loads(out)
        assert report["verdict"]["code"] == "error", name
        assert len(report["errors"]) == 1, (name, report["errors"])
        error = report["errors"][0]
        stage, kind, text = EXPECTED_ERRORS[name]
        assert (error["stage"], error["code"]) == (stage, kind), (name, error)
        assert text in error["message"], (name, error["message"])


def test_bad_inputs_in_a_subprocess_print_no_traceback(clip: Path, tmp_path: Path) -> None:
    inputs = _bad_inputs(tmp_path / "bad", clip)
    result = subprocess.run(
        [sys.executable, "-m", "provenance", "check", *map(str, inputs.values()), str(clip)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    assert "Traceback" not in result.stdout + result.stderr
    assert "no_signal" in result.stdout  # the good file in the same run is still checked


def test_unreadable_file(clip: Path) -> None:
    # root reads everything, so as root the check runs as 'nobody'
    workdir = Path(tempfile.mkdtemp(prefix="provenance-unreadable-"))
    try:
        os.chmod(workdir, 0o755)
        locked = workdir / "locked.mp4"
        shutil.copy(clip, locked)
        os.chmod(locked, 0)
        # --in-process: 'nobody' may not be allowed to start this interpreter again (a
        # virtual environment whose interpreter lives under /root), so no worker
        command = [sys.executable, "-m", "provenance", "check", str(locked), "--format", "json",
                   "--in-process"]  # fmt: skip
        if os.geteuid() == 0:
            setpriv = shutil.which("setpriv")
            if setpriv is None:
                pytest.skip("running as root without setpriv: cannot drop privileges")
            command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        env = {**os.environ, "PROVENANCE_TRUST_DIR": str(workdir / "trust"), "HOME": str(workdir)}
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, env=env, check=False
        )
        assert result.returncode == 3, result.stderr
        (report,) = json.loads(result.stdout)
        assert [(e["stage"], e["code"]) for e in report["errors"]] == [("input", "permission")]
        assert "permission denied" in report["errors"][0]["message"]
    finally:
        os.chmod(workdir / "locked.mp4", stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(workdir)


def test_bad_anchor_file_is_a_usage_error(clip: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    code, _, err = run("check", str(clip), "--anchors", str(bad))
    assert code == 2
    assert "does not parse" in err or "could not be read" in err
    code, _, err = run("trust", "add", str(bad), "--trust-dir", str(tmp_path / "t"))
    assert code == 2
    assert not (tmp_path / "t" / "user").exists()


@pytest.fixture
def trust_server(shared_trust_dir: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(shared_trust_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_trust_update_from_a_local_server(
    trust_server: str, tmp_path: Path, shared_dir: Path
) -> None:
    target = tmp_path / "trust"
    code, out, err = run("trust", "update", "--trust-dir", str(target), "--base-url", trust_server)
    assert code == 0, err
    for name in (
        "C2PA-TRUST-LIST.pem",
        "C2PA-TSA-TRUST-LIST.pem",
        "interim-anchors.pem",
        "interim-allowed.pem",
        "interim-store.cfg",
    ):
        assert (target / name).read_bytes() == (shared_dir / "trust" / name).read_bytes()
    record = json.loads((target / "snapshot.json").read_text())
    assert len(record["files"]) == 5
    assert record["files"]["C2PA-TRUST-LIST.pem"]["url"] == f"{trust_server}/C2PA-TRUST-LIST.pem"
    code, out, _ = run("trust", "show", "--trust-dir", str(target))
    assert code == 0
    assert "official: 30 anchors" in out
    assert "interim: 18 anchors" in out
    assert "(recorded), 0 days old" in out
    dalle = shared_dir / "fixtures" / "c2pa" / "DALL-E_cloud_surfing_puppy.webp"
    code, out, _ = run("check", str(dalle), "--trust-dir", str(target), "--format", "json")
    (report,) = json.loads(out)
    assert report["credentials"]["trust"] == "trusted"
    assert report["credentials"]["trust_source"] == "interim"
    assert report["credentials"]["trust_snapshot"]["date_source"] == "recorded"
    assert report["credentials"]["trust_snapshot"]["age_days"] == 0


def test_failed_trust_update_changes_nothing(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port on this machine that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = tmp_path / "trust"
    target.mkdir()
    (target / "interim-store.cfg").write_text("1.3.6.1.5.5.7.3.4\n")
    code, _, err = run(
        "trust",
        "update",
        "--trust-dir",
        str(target),
        "--base-url",
        f"http://127.0.0.1:{port}",
        "--timeout",
        "2",
    )
    assert code == 4
    assert "could not download" in err
    assert sorted(p.name for p in target.iterdir()) == ["interim-store.cfg"]


def test_trust_add_and_list_selection(
    tmp_path: Path, shared_trust_dir: Path, shared_dir: Path
) -> None:
    target = tmp_path / "trust"
    code, out, _ = run(
        "trust", "add", str(shared_trust_dir / "interim-anchors.pem"), "--trust-dir", str(target)
    )
    assert code == 0
    assert (target / "user" / "interim-anchors.pem").is_file()
    dalle = str(shared_dir / "fixtures" / "c2pa" / "DALL-E_cloud_surfing_puppy.webp")
    _, out, _ = run("check", dalle, "--trust-dir", str(target), "--format", "json")
    (report,) = json.loads(out)
    assert (report["credentials"]["trust"], report["credentials"]["trust_source"]) == (
        "trusted",
        "user",
    )
    _, out, _ = run(
        "check", dalle, "--trust-dir", str(target), "--trust-list", "none", "--format", "json"
    )
    (report,) = json.loads(out)
    assert report["credentials"]["trust"] == "untrusted"
    code, _, err = run("check", dalle, "--trust-dir", str(target), "--trust-list", "official")
    assert code == 2
    assert "official trust list is not in" in err


def test_watermark_options(tmp_path: Path) -> None:
    from provenance.watermark.keyed import mark_file

    source = write_clip(tmp_path / "in.mp4", seconds=2.0, width=640, height=480, seed=3)
    marked = tmp_path / "marked.mp4"
    mark_file(source, marked, "cli secret", crf=20)
    key_file = tmp_path / "keys.txt"
    key_file.write_text("some other key\ncli secret\n")

    code, out, _ = run("check", str(marked), "--key-file", str(key_file), "--fail-on", "ai")
    assert code == 1  # the keyed mark is AI evidence
    assert "watermark keyed:" in out
    assert "detected" in out
    assert "cli secret" not in out

    code, out, _ = run("check", str(marked), "--key-file", str(key_file), "--format", "json")
    report = json.loads(out)[0]
    states = {(w["detector"], w["mark"]): w["state"] for w in report["watermarks"]}
    assert sorted(states.values()).count("detected") == 1
    assert ("dwtdct", None) in states

    code, out, _ = run("check", str(source), "--detector", "none", "--format", "json")
    assert code == 0
    assert json.loads(out)[0]["watermarks"] == []

    code, _, err = run("check", str(source), "--detector", "keyed")
    assert code == 2
    assert "needs at least one key" in err
    code, _, err = run("check", str(source), "--detector", "trustmark")
    assert code == 2
    assert "unknown watermark detector" in err
    code, _, err = run("check", str(source), "--sampling", "sometimes")
    assert code == 2
    assert "sampling" in err
    code, _, err = run("check", str(source), "--crop-search", "maybe")
    assert code == 2

    code, out, _ = run(
        "check", str(source), "--sampling", "every:12", "--max-frames", "3", "--format", "json"
    )
    assert code == 0
    dwtdct = json.loads(out)[0]["watermarks"][0]
    assert dwtdct["detector"] == "dwtdct"
    assert dwtdct["state"] in ("not_detected", "inconclusive")


def test_output_in_a_pipe_is_never_wrapped_and_names_print_as_they_are(tmp_path: Path) -> None:
    # a path far wider than any terminal, with rich-markup look-alikes in its names
    deep = tmp_path.joinpath(*(f"[bold]folder number {n} [link=x]" for n in range(8)))
    deep.mkdir(parents=True)
    clip = write_clip(deep / "clip [draft] [red]x.mp4", seconds=0.5)
    assert len(str(clip)) > 200
    result = subprocess.run(
        [sys.executable, "-m", "provenance", "check", str(clip), "--credentials-only"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert any(str(clip) in line for line in result.stdout.splitlines())
    store = deep / "none [x].db"
    resume = subprocess.run(
        [sys.executable, "-m", "provenance", "scan", "--resume", "--store", str(store)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert resume.returncode == 2
    assert f"error: {store}: no results store to resume from" in resume.stderr.splitlines()[0]
    usage = subprocess.run(
        [sys.executable, "-m", "provenance", "check", str(clip), "--sampling", f"no:{'x' * 150}"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert usage.returncode == 2
    assert any(f"no:{'x' * 150}" in line for line in usage.stderr.splitlines())


def test_a_trust_dir_that_is_missing_or_empty_is_refused_with_the_fix(
    clip: Path, tmp_path: Path
) -> None:
    # a mistyped --trust-dir used to turn every signer silently "untrusted"
    empty = tmp_path / "empty-trust"
    empty.mkdir()
    for directory, reason in ((tmp_path / "no-such", "no such trust directory"),
                              (empty, "holds no trust list")):  # fmt: skip
        code, out, err = run("check", str(clip), "--trust-dir", str(directory))
        assert code == 2
        message = " ".join(err.replace("│", " ").split())  # the error box's borders out
        assert reason in message
        assert "provenance trust update --trust-dir" in message
        assert out == ""
    # an empty directory is fine when the anchors come from elsewhere, or nothing is trusted
    pki = generate_pki(tmp_path / "pki")
    code, _, err = run(
        "check", str(clip), "--trust-dir", str(empty), "--anchors", str(pki.root_pem)
    )
    assert code == 0, err
    code, _, err = run("check", str(clip), "--trust-dir", str(empty), "--trust-list", "none")
    assert code == 0, err
    add_user_anchor(pki.root_pem, empty)
    code, _, err = run("check", str(clip), "--trust-dir", str(empty))
    assert code == 0, err


def test_usage_lines_name_paths_as_users_write_them() -> None:
    for command in ("check", "scan"):
        code, out, _ = run(command, "--help")
        assert code == 0
        usage = next(line for line in out.splitlines() if "Usage:" in line)
        assert "PATH" in usage, usage
        assert "{paths}" not in out


def test_control_characters_in_a_name_are_shown_not_obeyed(tmp_path: Path) -> None:
    hostile = tmp_path / "a\x1b[2J\u202eevil.mp4"  # clear the screen, reverse the text
    hostile.write_bytes(b"garbage")
    code, out, _ = run("check", str(hostile))
    assert code == 3
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "\\x1b[2J\\u202eevil.mp4" in out.replace("\n", "").replace("│", "").replace(" ", "")


def test_a_narrow_terminal_gets_one_block_per_file_instead_of_the_table(
    demo_corpus: Path,
) -> None:
    import dataclasses
    import io

    from rich.console import Console

    from provenance import CheckOptions, check
    from provenance.render.text import render_table

    reports = [  # the names only: nothing may depend on where the test's folder is
        dataclasses.replace(
            check(demo_corpus / name, CheckOptions(credentials_only=True)), path=name
        )
        for name in ("ai_generated_tampered.mp4", "unsigned.mp4")
    ]

    def shown(width: int) -> list[str]:
        out = io.StringIO()
        console = Console(file=out, width=width, force_terminal=True, color_system=None)
        render_table(reports, console)
        return out.getvalue().splitlines()

    narrow = shown(80)
    assert max(len(line) for line in narrow) <= 80
    assert narrow[0].startswith("✖ credentials_tampered  ")
    assert narrow[0].endswith("ai_generated_tampered.mp4")
    assert narrow[1].startswith("    credentials tampered")
    assert any(line.startswith("○ no_signal  ") for line in narrow)
    # wrapped evidence keeps its indent: every line is a file's or an indented one
    assert all(line.startswith(("✖", "○", "    ")) for line in narrow)
    wide = shown(200)
    assert "Verdict" in wide[1]
    assert any("✖ credentials_tampered" in line and "│" in line for line in wide)
