"""The Streamlit page, driven by Streamlit's AppTest with generated fixtures."""

from __future__ import annotations

import re
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
        ("ai_generated_signed.mp4", "ai_declared", "trainedAlgorithmicMedia"),
        ("ai_generated_tampered.mp4", "credentials_tampered", "**State:** tampered"),
        ("unsigned.mp4", "no_signal", "No Content Credentials"),
        ("sdxl_watermarked.png", "ai_watermark", "**dwtdct:** detected (z "),
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


def test_credentials_show_actions_history_and_validation_codes(demo_corpus: Path) -> None:
    name = "ai_edited_with_history.mp4"
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    text = _texts(at)
    assert "**ai_edited**" in text
    # the actions table: each action with its digitalSourceType explained
    tables = [element.value for element in at.dataframe]
    actions = next(t for t in tables if "digitalSourceType" in t.columns)
    edited = actions[actions["action"] == "c2pa.edited"].iloc[0]
    assert edited["digitalSourceType"] == "compositeWithTrainedAlgorithmicMedia"
    assert "generative-AI" in edited["meaning"]
    # the ingredient tree: the parent clip and its own capture manifest, nested
    tree = next(m.value for m in at.markdown if "parentOf" in m.value)
    lines = tree.replace("\\", "").splitlines()
    assert lines[1].startswith("    - parentOf: camera_original.mp4")
    assert lines[2].startswith("        - parent: camera_original.mp4")
    # validation codes, failures first, each explained
    codes = next(t for t in tables if "code" in t.columns)
    assert codes.iloc[0]["result"] == "failure"
    assert codes["meaning"].str.len().min() > 10
    assert any("Validation codes" in e.label for e in at.expander)


def test_thumbnail_and_strongest_frame_are_shown(
    demo_corpus: Path, demo_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_MARK_KEY", demo_key)
    name = "ai_generated_signed.mp4"
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    captions = [c for image in at.get("image") for c in image.captions]
    assert "Thumbnail stored in the credentials" in captions
    assert any(c.startswith("Strongest frame: frame ") for c in captions)

    name = "keyed_watermarked.mp4"
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    text = _texts(at)
    assert "**ai_watermark**" in text
    assert "keyed:" in text
    assert "detected (z " in text
    assert at.get("vega_lite_chart")  # the per-frame score chart
    captions = [c for image in at.get("image") for c in image.captions]
    assert captions == [c for c in captions if c.startswith("Strongest frame: frame ")]
    assert captions  # no thumbnail: the clip carries no credentials


def test_trust_source_is_named(
    demo_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.credentials.trust import add_user_anchor

    name = "ai_generated_signed.mp4"
    data = (demo_corpus / name).read_bytes()
    text = _texts(_page_after_upload(name, data))
    assert "**Trust source:** none: no loaded trust list vouches for this signer" in text
    # with the demo root among the user's anchors, the same clip is trusted through them
    trust_dir = tmp_path / "trust"
    add_user_anchor(demo_corpus / "pki" / "root.pem", trust_dir)
    monkeypatch.setenv("PROVENANCE_TRUST_DIR", str(trust_dir))
    text = _texts(_page_after_upload(name, data))
    assert "**State:** intact, trusted (user anchors)" in text
    assert "**Trust source:** your own trust anchors" in text
    assert "One manifest and no ingredients" in text


def test_recovered_credentials_are_shown(
    demo_corpus: Path, demo_key: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stripped clip: its credentials come back from the repository by its identifier."""
    from provenance.credentials.trust import add_user_anchor

    trust_dir = tmp_path / "trust"
    add_user_anchor(demo_corpus / "pki" / "root.pem", trust_dir)
    monkeypatch.setenv("PROVENANCE_TRUST_DIR", str(trust_dir))
    monkeypatch.setenv("PROVENANCE_MARK_KEY", demo_key)
    name = "ai_generated_stripped.mp4"
    data = (demo_corpus / name).read_bytes()
    text = _texts(_page_after_upload(name, data))
    assert "**ai_watermark**" in text  # no repository: the mark alone
    assert "Recovered credentials" not in text
    monkeypatch.setenv("PROVENANCE_REPOSITORY", str(demo_corpus / "manifests.sqlite"))
    at = _page_after_upload(name, data)
    text = _texts(at)
    assert "**ai_declared**" in text
    assert any(h.value == "Recovered credentials" for h in at.subheader)
    assert "**Result:** recovered" in text
    assert "**AI declaration:** generative ai" in text
    assert "**Content changed since signing:** yes" in text
    monkeypatch.setenv("PROVENANCE_REPOSITORY", str(tmp_path / "missing.sqlite"))
    at = _page_after_upload(name, data)
    assert "does not exist" in at.error[0].value


def test_names_and_messages_from_the_file_are_never_markdown() -> None:
    # a hostile name that would embed a remote picture, link and typeset a formula
    name = "![x](http://127.0.0.1:9/p.png) [y](http://127.0.0.1:9) $E=mc^2$ _z_.mp4"
    at = _page_after_upload(name, b"\x00\x00\x00\x18ftypisom" + b"\x07" * 300)
    text = _texts(at)
    assert "**error**" in text
    assert "\\$E=mc^2\\$ \\_z\\_.mp4" in text  # the name is shown ...
    unescaped_link = re.compile(r"(?<!\\)\]\(http")
    assert not unescaped_link.search(text)  # ... but no link, picture or formula is made of it
    tables = [str(table.value) for table in at.table]
    assert tables
    assert not any(unescaped_link.search(table) for table in tables)
