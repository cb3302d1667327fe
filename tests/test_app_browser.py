"""End to end: the Streamlit server on 127.0.0.1, Debian's Chromium driven by Playwright.

One upload per verdict family: an AI-declared image (Bing Image Creator), a tampered image
(Adobe's test file with a broken data hash), a truncated clip, a natural clip without
credentials, a clip with a detected watermark, and a signed clip on a fresh install with no
trust list. Each asserts the plain-language headline, the notices and that every picture on the
page was decoded by the browser, that no console warning was logged and that no table is cut;
each writes a screenshot to ``tests/_artifacts/app_<case>.png``. The first also downloads the
HTML evidence report through the browser and opens it offline. Chromium is a Debian package the
Makefile installs; without it (or Playwright) the tests skip with the reason, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO, chromium_path, skip_or_fail

ARTIFACTS = REPO / "tests" / "_artifacts"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class _Server:
    url: str
    process: subprocess.Popen[bytes]


def _start(env: dict[str, str]) -> _Server:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app" / "streamlit_app.py"),
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **env},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return _Server(f"http://127.0.0.1:{port}/", process)
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.terminate()
                pytest.fail("the Streamlit server did not start")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = chromium_path()
    if chromium is None:
        skip_or_fail("Chromium is not installed (make test installs it)")
    if (
        importlib.util.find_spec("playwright") is None
        or importlib.util.find_spec("streamlit") is None
    ):
        skip_or_fail("playwright or streamlit is not installed (pip install -e '.[dev,app]')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def servers(
    browser: Any, demo_corpus: Path, demo_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, _Server]]:
    """A set-up install (the shared C2PA trust lists, the demo root as the user's anchor, the
    demo watermark key) and a fresh one (no trust list installed)."""
    from provenance.credentials.trust import add_user_anchor
    from tests.conftest import require_shared

    shared = require_shared()
    trust = tmp_path_factory.mktemp("trust")
    for name in ("C2PA-TRUST-LIST.pem", "C2PA-TSA-TRUST-LIST.pem"):
        shutil.copy(shared / "trust" / name, trust / name)
    add_user_anchor(demo_corpus / "pki" / "root.pem", trust)
    fresh = tmp_path_factory.mktemp("fresh-install") / "trust"
    started = {
        "set_up": _start({"PROVENANCE_MARK_KEY": demo_key, "PROVENANCE_TRUST_DIR": str(trust)}),
        "fresh": _start({"PROVENANCE_TRUST_DIR": str(fresh)}),
    }
    try:
        yield started
    finally:
        for server in started.values():
            server.process.terminate()
            server.process.wait(20)


@dataclass(frozen=True)
class _Case:
    file: str
    """``demo:NAME`` (the generated corpus), ``shared:PATH`` (../shared/fixtures) or
    ``cut:NAME`` (a demo file cut to 60 % of its bytes)."""
    server: str
    headline: str
    texts: tuple[str, ...]
    pictures: int
    """How many pictures at least the page shows (all must be decoded)."""


CASES = {
    "ai_image": _Case(
        "shared:c2pa/bing_creator_cloud_surfing_puppy.jpg",
        "set_up",
        "AI-generated, as declared by its Content Credentials",
        ("The image", "The uploaded image, as checked", "AI declaration: generative ai"),
        1,
    ),
    "tampered_image": _Case(
        "shared:c2pa/adobe-20220124-E-dat-CA.jpg",
        "set_up",
        "Content Credentials present but tampered",
        ("integrity problem", "The file now"),
        1,
    ),
    "truncated_clip": _Case(
        "cut:ai_generated_signed.mp4",
        "set_up",
        "Content Credentials present but tampered",
        ("This file is incomplete or damaged", "cut short", "which is why they read as tampered"),
        1,
    ),
    "natural_clip": _Case(
        "shared:natural/bottle-detection.mp4",
        "set_up",
        "No provenance signal found",
        ("No signal proves nothing", "Frames read", "Not found in the"),
        2,
    ),
    "watermark": _Case(
        "demo:keyed_watermarked.mp4",
        "set_up",
        "Carries an AI-generator watermark",
        ("Keyed watermark (key ", "Found, over the 48 frames read.", "Frames read"),
        2,
    ),
    "no_trust_list": _Case(
        "demo:ai_generated_signed.mp4",
        "fresh",
        "AI-generated, as declared by its Content Credentials",
        ("No trust list is installed", "provenance trust update"),
        2,
    ),
}


def _file(case: _Case, demo_corpus: Path, tmp_path: Path) -> Path:
    from provenance.testing.tamper import truncate
    from tests.conftest import require_shared

    where, name = case.file.split(":", 1)
    if where == "shared":
        return require_shared() / "fixtures" / name
    if where == "cut":
        return truncate(demo_corpus / name, tmp_path / f"cut_{name}", keep_fraction=0.6)
    return demo_corpus / name


def _whole_page_screenshot(page: Any, path: Path, width: int) -> None:
    """Streamlit scrolls inside its own container: a viewport as tall as the page shows it
    all."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('section, div')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": width, "height": min(int(height) + 80, 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("name", list(CASES))
def test_each_verdict_family_in_a_real_browser(
    name: str,
    browser: Any,
    servers: dict[str, _Server],
    demo_corpus: Path,
    tmp_path: Path,
) -> None:
    case = CASES[name]
    upload = _file(case, demo_corpus, tmp_path)
    server = servers[case.server]
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("warning", "error") else None,
    )
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(server.url)
        page.get_by_text("Is this clip AI-generated?").wait_for(timeout=60_000)
        page.locator("input[type=file]").set_input_files(str(upload))
        # the page streams its elements: wait for the last one before reading the page
        page.get_by_text("Download the HTML evidence report").wait_for(timeout=180_000)
        banner = page.locator(".verdict-banner").inner_text()
        assert case.headline in banner
        body = page.locator("body").inner_text()
        for text in case.texts:
            assert text in body, text
        # absence is stated only where it is the finding
        assert ("No signal proves nothing" in banner) == (name == "natural_clip")
        # every picture (the file itself, frames, thumbnails) was decoded by the browser
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30_000)
        decoded = page.locator("img").evaluate_all("images => images.map(i => i.naturalWidth)")
        assert len(decoded) >= case.pictures, decoded
        assert all(width > 0 for width in decoded), decoded
        # nothing leaves the machine: every request went to our own server
        local = (server.url, server.url.replace("http", "ws", 1), "data:", "blob:")
        assert [url for url in requests if not url.startswith(local)] == []
        # no table cut off at 1280 px: no element is wider than the page
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= 1280
        cut = page.evaluate(
            "() => [...document.querySelectorAll('table')]"
            ".filter(t => t.scrollWidth > t.parentElement.clientWidth + 1 || t.parentElement.scrollWidth > t.parentElement.clientWidth + 1).length"
        )
        assert cut == 0
        # data grids scroll sideways and hide columns: the page uses wrapping tables
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        _whole_page_screenshot(page, ARTIFACTS / f"app_{name}.png", 1280)
        assert console == []
        if name == "no_trust_list":
            _download_and_open_offline(page, browser, upload, tmp_path)
    finally:
        page.close()


def _download_and_open_offline(page: Any, browser: Any, upload: Path, tmp_path: Path) -> None:
    """The evidence report, downloaded as a user would, then opened offline."""
    with page.expect_download() as download:
        page.get_by_text("Download the HTML evidence report").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{upload.stem}.provenance.html"
    evidence = saved.read_text("utf-8")
    assert hashlib.sha256(upload.read_bytes()).hexdigest() in evidence
    assert "Thumbnail stored in the credentials" in evidence
    assert "No trust list is installed" in evidence
    offline = browser.new_page()
    try:
        offline.goto(saved.as_uri())
        assert offline.locator("h1").first.inner_text() == f"Evidence report: {upload.name}"
        decoded = offline.locator("img").evaluate_all(
            "images => images.map(i => i.complete && i.naturalWidth > 0)"
        )
        assert len(decoded) >= 2
        assert all(decoded)
    finally:
        offline.close()
