"""The Streamlit page, driven by Streamlit's AppTest with generated fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "app" / "streamlit_app.py"

testing = pytest.importorskip(
    "streamlit.testing.v1", reason="the app extra (streamlit) is not installed"
)


def _page_after_upload(name: str, data: bytes) -> testing.AppTest:
    at = testing.AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception
    at.file_uploader[0].upload(name, data).run()
    assert not at.exception
    return at


def _texts(at: testing.AppTest) -> str:
    parts = (
        [e.value for e in at.markdown] + [e.value for e in at.error] + [e.value for e in at.warning]
    )
    parts += (
        [e.value for e in at.info] + [e.value for e in at.success] + [e.value for e in at.caption]
    )
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize(
    ("name", "verdict", "evidence"),
    [
        ("ai_generated_signed.mp4", "ai_declared", "provenance-checker demo"),
        ("ai_generated_tampered.mp4", "credentials_tampered", "tampered"),
        ("unsigned.mp4", "no_signal", "No Content Credentials"),
        ("sdxl_watermarked.png", "ai_watermark", "detected"),
    ],
)
def test_each_kind_of_result_shows_its_verdict_and_evidence(
    demo_corpus: Path, name: str, verdict: str, evidence: str
) -> None:
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    text = _texts(at)
    assert f"**{verdict}**" in text
    assert evidence in text
    assert "No signal proves nothing" in text
    labels = [button.label for button in at.get("download_button")]
    assert labels == ["Download the JSON report", "Download the HTML evidence report"]


def test_rejected_file_type_says_what_is_accepted() -> None:
    at = _page_after_upload("notes.txt", b"not media")
    errors = [e.value for e in at.error]
    assert errors
    assert ".txt files are not accepted" in errors[0]
    assert "mp4" in errors[0]
    assert not at.get("download_button")


def test_nothing_of_the_upload_persists(demo_corpus: Path) -> None:
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("provenance-*"))
    at = _page_after_upload("unsigned.mp4", (demo_corpus / "unsigned.mp4").read_bytes())
    assert "**no_signal**" in _texts(at)
    assert set(Path(tempfile.gettempdir()).glob("provenance-*")) == before
