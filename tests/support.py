"""Helpers shared by the tests (imported as ``tests.support``; fixtures live in conftest)."""

from __future__ import annotations

import os
import shutil
import signal
import time
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
    """A worker-pool job for the pool's own tests: echoes each payload with the setup; raises
    on ``{"fail": ...}``, crashes on ``{"crash": ...}``, sleeps ``{"sleep": s}`` seconds, holds
    ``{"allocate_mb": n}`` MiB for 2 s."""

    def handle(payload: dict[str, object]) -> dict[str, object]:
        if "fail" in payload:
            raise RuntimeError(str(payload["fail"]))
        if "crash" in payload:  # as a crash inside a native library
            os.kill(os.getpid(), signal.SIGSEGV)
        if "sleep" in payload:
            time.sleep(float(str(payload["sleep"])))
        if "allocate_mb" in payload:  # touched, so it is resident
            held = bytearray(int(str(payload["allocate_mb"])) * 1024 * 1024)
            held[::4096] = b"x" * len(held[::4096])
            time.sleep(2)
        return {"echo": payload, "setup": setup, "pid": os.getpid(), "ppid": os.getppid()}

    return handle
