"""The scan's HTML report in a real browser (headless Chromium driven by Selenium).

Chromium and its driver are Debian packages the Makefile installs. Without them this test
skips with the reason, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance.batch.engine import scan
from provenance.batch.scan_options import Engine, ScanOptions
from provenance.render.files import write_html
from provenance.testing.synth import write_clip
from tests.support import chromium_path, skip_or_fail


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium = chromium_path()
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        skip_or_fail("Chromium and chromedriver are not installed (make test installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def _visible_files(driver: object) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "tr.file")  # type: ignore[attr-defined]
    return [row.find_element(By.CSS_SELECTOR, "td.path").text for row in rows if row.is_displayed()]


def test_html_report_filters_sorts_and_opens_evidence(browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "beta.mp4", seconds=0.5, seed=1)
    write_clip(folder / "alpha.mp4", seconds=0.5, seed=2)
    (folder / "gamma.mp4").write_bytes(b"not a clip at all")
    reports = sorted(
        (item.report for item in scan([folder], run=ScanOptions(engine=Engine.INLINE))),
        key=lambda report: report.path,
    )
    page = tmp_path / "report.html"
    write_html(page, reports, {"files": len(reports)})
    driver = browser
    driver.get(page.as_uri())  # type: ignore[attr-defined]
    names = [Path(p).name for p in _visible_files(driver)]
    assert names == ["alpha.mp4", "beta.mp4", "gamma.mp4"]
    # a count filters the table to its verdict, a second click clears the filter
    error_count = driver.find_element(By.CSS_SELECTOR, '.count[data-verdict="error"]')  # type: ignore[attr-defined]
    error_count.click()
    assert [Path(p).name for p in _visible_files(driver)] == ["gamma.mp4"]
    error_count.click()
    assert len(_visible_files(driver)) == 3
    # the text filter
    search = driver.find_element(By.ID, "search")  # type: ignore[attr-defined]
    search.send_keys("beta")
    assert [Path(p).name for p in _visible_files(driver)] == ["beta.mp4"]
    search.clear()  # clearing fires no input event: send one, as typing would
    driver.execute_script(  # type: ignore[attr-defined]
        "document.getElementById('search').dispatchEvent(new Event('input'))"
    )
    assert len(_visible_files(driver)) == 3
    # sorting by file name: descending on the second click
    header = driver.find_elements(By.CSS_SELECTOR, "#files th")[0]  # type: ignore[attr-defined]
    header.click()
    header.click()
    assert [Path(p).name for p in _visible_files(driver)] == ["gamma.mp4", "beta.mp4", "alpha.mp4"]
    # a row opens its evidence
    row = driver.find_elements(By.CSS_SELECTOR, "tr.file")[0]  # type: ignore[attr-defined]
    detail = row.find_element(By.XPATH, "following-sibling::tr[1]")
    assert not detail.is_displayed()
    row.click()
    assert detail.is_displayed()
    assert "error [media/" in detail.text
    errors = [
        entry
        for entry in driver.get_log("browser")  # type: ignore[attr-defined]
        if entry.get("level") == "SEVERE"
    ]
    assert errors == []
