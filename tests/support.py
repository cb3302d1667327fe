"""Helpers shared by the tests (imported as ``tests.support``; fixtures live in conftest)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[1]


def skip_or_fail(reason: str) -> NoReturn:
    """Skip with ``reason``; in CI (``CI=true``), where everything must run, fail instead."""
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        pytest.fail(f"{reason} (CI=true: this is required)", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """Debian's Chromium (``make test`` installs it), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def start_echo_job(setup: dict[str, object]) -> object:
    """A worker-pool job for the pool's own tests: echoes each payload with the setup, raises
    on ``{"fail": ...}``."""

    def handle(payload: dict[str, object]) -> dict[str, object]:
        if "fail" in payload:
            raise RuntimeError(str(payload["fail"]))
        return {"echo": payload, "setup": setup, "pid": os.getpid()}

    return handle
