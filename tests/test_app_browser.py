"""End to end: the Streamlit server on 127.0.0.1, Debian's Chromium driven by Playwright.

Uploads a signed AI clip from the generated demo corpus, waits for the verdict, asserts its
text and keeps a screenshot in ``tests/_artifacts/app_verdict.png``. Chromium is a Debian
package the Makefile installs; without it (or Playwright) the test skips with the reason,
except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "_artifacts"


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
        pytest.fail(f"{reason}; CI needs the real browser", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_upload_in_a_real_browser_shows_the_verdict(demo_corpus: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    _require(chromium is not None, "Chromium is not installed (make test installs it)")
    _require(
        importlib.util.find_spec("playwright") is not None
        and importlib.util.find_spec("streamlit") is not None,
        "playwright or streamlit is not installed (pip install -e '.[dev,app]')",
    )
    from playwright.sync_api import sync_playwright

    clip = demo_corpus / "ai_generated_signed.mp4"

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app" / "streamlit_app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the Streamlit server did not start")
                time.sleep(0.3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text("Is this clip AI-generated?").wait_for(timeout=60_000)
            page.locator("input[type=file]").set_input_files(str(clip))
            verdict = page.get_by_text("ai_declared").first
            verdict.wait_for(timeout=120_000)
            # the page streams its elements: wait for the last one before reading the page
            page.get_by_text("Download the HTML evidence report").wait_for(timeout=60_000)
            body = page.locator("body").inner_text()
            assert "Credentials declare" in body or "AI" in body
            assert "No signal proves nothing" in body
            assert "Download the HTML evidence report" in body
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "app_verdict.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
