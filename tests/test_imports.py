"""Importing the package and its layers stays light: the heavy engines load on first use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("provenance", ("numpy", "av", "cv2", "c2pa")),
        ("provenance.watermark", ("cv2",)),
        ("provenance.media", ("av", "cv2")),
        ("provenance.media.frames", ("av", "cv2")),
    ],
)
def test_importing_does_not_load_the_heavy_engines(module: str, absent: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print(sorted(m for m in {absent!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# Each command loads only what it runs: the modules its process holds when it exits.
_RUNNER = (
    "import sys, json\n"
    "sys.argv = ['provenance', *json.loads(sys.argv[1])]\n"
    "try:\n"
    "    from provenance.cli import main\n"
    "    main()\n"
    "finally:\n"
    "    with open(sys.argv[0] if False else {out!r}, 'w') as f:\n"
    "        json.dump(sorted(sys.modules), f)\n"
)
_ENGINES = ("numpy", "av", "cv2")
_OTHER_COMMANDS = (
    "provenance.cli.scan",
    "provenance.cli.mark",
    "provenance.cli.sign",
    "provenance.cli.trust",
    "provenance.cli.repository",
)


def _loaded_by(arguments: list[str], tmp_path: Path) -> set[str]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER.format(out=str(out)), json.dumps(arguments)],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # the command did its work
    return set(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def signed_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from provenance.testing.pki import generate_pki
    from provenance.testing.signing import sign_file
    from provenance.testing.synth import write_image

    folder = tmp_path_factory.mktemp("imports")
    source = write_image(folder / "image.jpg", seed=3)
    return sign_file(source, folder / "signed.jpg", pki=generate_pki(folder / "pki"))


def test_version_loads_no_command(tmp_path: Path) -> None:
    loaded = _loaded_by(["--version"], tmp_path)
    assert not {"typer", "rich", "pydantic", "provenance.report", "c2pa", *_ENGINES} & loaded


def test_help_loads_no_engine(tmp_path: Path) -> None:
    loaded = _loaded_by(["--help"], tmp_path)
    assert {"typer", *_OTHER_COMMANDS} <= loaded
    assert not {"pydantic", "c2pa", *_ENGINES} & loaded


def test_a_credentials_only_check_loads_c2pa_and_nothing_for_frames(
    signed_jpeg: Path, tmp_path: Path
) -> None:
    loaded = _loaded_by(["check", "--credentials-only", "--in-process", str(signed_jpeg)], tmp_path)
    assert {"c2pa", "provenance.cli.check", "rich"} <= loaded
    assert not {"pydantic", "provenance.repository", *_OTHER_COMMANDS, *_ENGINES} & loaded


def test_a_check_in_a_worker_leaves_the_engines_to_the_worker(
    signed_jpeg: Path, tmp_path: Path
) -> None:
    loaded = _loaded_by(["check", str(signed_jpeg)], tmp_path)  # the whole check, in a worker
    assert {"provenance.batch.pool", "provenance.cli.check"} <= loaded
    assert not {"c2pa", "pydantic", *_OTHER_COMMANDS, *_ENGINES} & loaded


def test_a_whole_check_in_process_loads_the_frame_engines(
    signed_jpeg: Path, tmp_path: Path
) -> None:
    loaded = _loaded_by(["check", "--in-process", str(signed_jpeg)], tmp_path)
    assert {"c2pa", "numpy", "cv2"} <= loaded
    assert not {"pydantic", *_OTHER_COMMANDS} & loaded


def test_scan_help_and_trust_help_load_no_engine(tmp_path: Path) -> None:
    for arguments in (["scan", "--help"], ["trust", "--help"], ["repository", "--help"]):
        loaded = _loaded_by(arguments, tmp_path)
        assert not {"c2pa", "pydantic", *_ENGINES} & loaded, arguments
