"""End to end: the Streamlit server on 127.0.0.1, Debian's Chromium driven by Playwright.

Uploads a signed AI clip from the generated demo corpus, waits for the verdict, asserts its
text and the pictures (credential thumbnail, strongest frame), downloads the HTML evidence
report through the browser and checks it, and keeps a screenshot of the whole page in
``tests/_artifacts/app_verdict.png``. Chromium is a Debian
package the Makefile installs; without it (or Playwright) the test skips with the reason,
except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support import REPO, chromium_path, skip_or_fail

ARTIFACTS = REPO / "tests" / "_artifacts"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_upload_in_a_real_browser_shows_the_verdict(
    demo_corpus: Path, demo_key: str, tmp_path: Path
) -> None:
    chromium = chromium_path()
    if chromium is None:
        skip_or_fail("Chromium is not installed (make test installs it)")
    if (
        importlib.util.find_spec("playwright") is None
        or importlib.util.find_spec("streamlit") is None
    ):
        skip_or_fail("playwright or streamlit is not installed (pip install -e '.[dev,app]')")
    from playwright.sync_api import sync_playwright

    clip = demo_corpus / "ai_generated_signed.mp4"

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app" / "streamlit_app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PROVENANCE_MARK_KEY": demo_key},
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
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text("Is this clip AI-generated?").wait_for(timeout=60_000)
            page.locator("input[type=file]").set_input_files(str(clip))
            verdict = page.get_by_text("ai_declared").first
            verdict.wait_for(timeout=120_000)
            # the page streams its elements: wait for the last one before reading the page
            page.get_by_text("Download the HTML evidence report").wait_for(timeout=60_000)
            # nothing leaves the machine: every request the page made went to our own server
            local = (f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/", "data:", "blob:")
            assert requests
            assert [url for url in requests if not url.startswith(local)] == []
            body = page.locator("body").inner_text()
            assert "AI-generated, as declared by its Content Credentials" in body
            assert "No signal proves nothing" in body
            assert "trainedAlgorithmicMedia" in body
            assert "Download the HTML evidence report" in body
            # the credential thumbnail and the strongest frame, as pictures the browser decoded
            for caption in ("Thumbnail stored in the credentials", "Strongest frame: frame"):
                page.get_by_text(caption).first.wait_for(timeout=30_000)
            widths = page.locator("img").evaluate_all("images => images.map(i => i.naturalWidth)")
            # the 320x180 thumbnail as stored; the frame preview shown 360 wide
            assert sorted(widths) == [320, 360], widths
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / "app_verdict.png"
            # Streamlit scrolls inside its own container: a tall viewport shows the whole page
            height = page.evaluate(
                "() => Math.max(...[...document.querySelectorAll('section, div')]"
                ".map(e => e.scrollHeight))"
            )
            page.set_viewport_size({"width": 1400, "height": min(int(height) + 80, 6000)})
            page.wait_for_timeout(500)
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            # the evidence report, downloaded as a user would, then opened offline
            with page.expect_download() as download:
                page.get_by_text("Download the HTML evidence report").click()
            saved = tmp_path / download.value.suggested_filename
            download.value.save_as(saved)
            assert saved.name == "ai_generated_signed.provenance.html"
            evidence = saved.read_text("utf-8")
            digest = hashlib.sha256(clip.read_bytes()).hexdigest()
            assert digest in evidence
            assert "Thumbnail stored in the credentials" in evidence
            offline = browser.new_page()
            offline.goto(saved.as_uri())
            assert offline.locator("h1").first.inner_text() == (
                "Evidence report: ai_generated_signed.mp4"
            )
            decoded = offline.locator("img").evaluate_all(
                "images => images.map(i => i.complete && i.naturalWidth > 0)"
            )
            assert decoded == [True, True]
            browser.close()
    finally:
        server.terminate()
        server.wait(20)
