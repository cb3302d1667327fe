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
    return [row.find_element(By.CSS_SELECTOR, ".name").text for row in rows if row.is_displayed()]


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
    error_count = driver.find_element(By.CSS_SELECTOR, '.count[data-label="error"]')  # type: ignore[attr-defined]
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


ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
HOSTILE = "<img src=x onerror=alert(1)>.mp4"


def _set_viewport(driver: object, width: int, height: int) -> None:
    driver.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


def _screenshot(driver: object, width: int, destination: Path) -> None:
    """The whole page at this width (the viewport made as tall as the page)."""
    _set_viewport(driver, width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    _set_viewport(driver, width, min(int(height), 4000))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(destination))  # type: ignore[attr-defined]


def _counter(driver: object) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, "shown").text)  # type: ignore[attr-defined]


def _shown_names(driver: object) -> list[str]:
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "tr.file")  # type: ignore[attr-defined]
    return [row.find_element(By.CSS_SELECTOR, ".name").text for row in rows if row.is_displayed()]


def _no_page_overflow(driver: object) -> bool:
    return bool(
        driver.execute_script(  # type: ignore[attr-defined]
            "return document.documentElement.scrollWidth <= window.innerWidth"
        )
    )


def test_scan_html_labels_counter_paths_and_800_px(browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    from provenance.testing.pki import generate_pki
    from provenance.testing.signing import sign_file
    from provenance.testing.synth import write_image

    folder = tmp_path / "scanned"
    (folder / "sub").mkdir(parents=True)
    write_clip(folder / "alpha.mp4", seconds=0.5, seed=2)
    long_name = "interview_" + "raw-camera-original-take" * 4 + ".mp4"
    write_clip(folder / long_name, seconds=0.5, seed=3)
    (folder / HOSTILE).write_bytes(b"not a clip at all")
    # a signer name with no place to wrap: the table must still fit
    pki = generate_pki(tmp_path / "pki", name="Newsroom_Signing_Authority_Production_Key_2026")
    picture = write_image(tmp_path / "picture.png", seed=1)
    sign_file(picture, folder / "sub" / "ai.png", pki=pki)  # ai_declared + credentials_untrusted
    sign_file(picture, folder / "cam.png", pki=pki, digital_source_type=None)
    reports = sorted(
        (item.report for item in scan([folder], run=ScanOptions(engine=Engine.INLINE))),
        key=lambda report: report.path,
    )
    by_name = {Path(report.path).name: report for report in reports}
    assert by_name["ai.png"].verdict.labels[1].value == "credentials_untrusted"
    page = tmp_path / "report.html"
    write_html(page, reports, {"files": len(reports)}, roots=[str(folder)])
    driver = browser
    _set_viewport(driver, 800, 900)
    try:
        driver.get(page.as_uri())  # type: ignore[attr-defined]
        assert driver.execute_script("return window.innerWidth") == 800  # type: ignore[attr-defined]
        assert _counter(driver) == "5 of 5 files"
        # paths relative to the scanned folder, the whole path on hover; the hostile name is text
        names = {
            row.find_element(By.CSS_SELECTOR, ".name").text: row.find_element(
                By.CSS_SELECTOR, ".name"
            ).get_attribute("title")
            for row in driver.find_elements(By.CSS_SELECTOR, "tr.file")  # type: ignore[attr-defined]
        }
        assert names["sub/ai.png"] == str(folder / "sub" / "ai.png")
        assert names[HOSTILE] == str(folder / HOSTILE)
        assert driver.execute_script("return document.images.length") == 0  # type: ignore[attr-defined]
        # the error's reason is in its row, without opening it
        hostile_row = driver.find_element(By.CSS_SELECTOR, 'tr.file[data-verdict="error"]')  # type: ignore[attr-defined]
        reason = hostile_row.find_element(By.CSS_SELECTOR, ".reason")
        assert reason.is_displayed()
        message = by_name[HOSTILE].errors[0].message
        # (the row names the file already: the reason goes on from the message's first words)
        assert reason.text.lower() == message.split(": ", 1)[1].lower()
        assert message in str(reason.get_attribute("title"))
        # a label's count matches every file carrying it, the primary verdict or not
        chip = driver.find_element(By.CSS_SELECTOR, '.count[data-label="credentials_untrusted"]')  # type: ignore[attr-defined]
        assert chip.find_element(By.TAG_NAME, "b").text == "2"
        chip.click()
        assert _counter(driver) == "2 of 5 files"
        assert sorted(_shown_names(driver)) == ["cam.png", "sub/ai.png"]
        ai_row = driver.find_element(By.CSS_SELECTOR, 'tr.file[data-verdict="ai_declared"]')  # type: ignore[attr-defined]
        assert ai_row.is_displayed()
        # the text filter narrows the label filter, and the counter follows it live
        search = driver.find_element(By.ID, "search")  # type: ignore[attr-defined]
        search.send_keys("sub/ai.png")  # (also matched against the whole path)
        assert _counter(driver) == "1 of 5 files"
        assert _shown_names(driver) == ["sub/ai.png"]
        chip.click()  # the label filter off: the text filter alone
        assert _counter(driver) == "1 of 5 files"
        search.clear()
        driver.execute_script(  # type: ignore[attr-defined]
            "document.getElementById('search').dispatchEvent(new Event('input'))"
        )
        search.send_keys("alpha.mp4")
        assert _counter(driver) == "1 of 5 files"
        assert _shown_names(driver) == ["alpha.mp4"]
        search.clear()
        driver.execute_script(  # type: ignore[attr-defined]
            "document.getElementById('search').dispatchEvent(new Event('input'))"
        )
        assert _counter(driver) == "5 of 5 files"
        # at 800 px the page does not overflow sideways, also with a row's evidence open
        assert _no_page_overflow(driver)
        hostile_row.click()
        assert hostile_row.find_element(By.XPATH, "following-sibling::tr[1]").is_displayed()
        assert _no_page_overflow(driver)
        assert hostile_row.find_element(By.CSS_SELECTOR, "td.verdict").is_displayed()
        _screenshot(driver, 800, ARTIFACTS / "scan_html_800.png")
        _screenshot(driver, 1400, ARTIFACTS / "scan_html_1400.png")
        assert _no_page_overflow(driver)
        errors = [
            entry
            for entry in driver.get_log("browser")  # type: ignore[attr-defined]
            if entry.get("level") == "SEVERE"
        ]
        assert errors == []
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})  # type: ignore[attr-defined]
