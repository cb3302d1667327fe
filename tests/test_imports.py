"""Importing the package and its layers stays light: the heavy engines load on first use."""

from __future__ import annotations

import subprocess
import sys

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
