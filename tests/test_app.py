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


def _banner(at: testing.AppTest) -> str:
    """The verdict banner's HTML (st.html)."""
    bodies = [str(element.proto.body) for element in at.get("html")]
    return next(body for body in bodies if "verdict-banner" in body)


@pytest.mark.parametrize(
    ("name", "verdict", "headline", "evidence"),
    [
        (
            "ai_generated_signed.mp4",
            "ai_declared",
            "AI-generated, as declared by its Content Credentials",
            "trainedAlgorithmicMedia",
        ),
        (
            "ai_generated_tampered.mp4",
            "credentials_tampered",
            "Content Credentials present but tampered",
            "**State:** tampered",
        ),
        ("unsigned.mp4", "no_signal", "No provenance signal found", "No Content Credentials"),
        (
            "sdxl_watermarked.png",
            "ai_watermark",
            "Carries an AI-generator watermark",
            "Found the sdxl mark, over the 1 frame read.",
        ),
    ],
)
def test_each_kind_of_result_shows_its_headline_and_evidence(
    demo_corpus: Path, name: str, verdict: str, headline: str, evidence: str
) -> None:
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    banner = _banner(at)
    assert headline in banner
    assert f"<code>{verdict}</code>" in banner  # the code in small print
    assert evidence in _texts(at)
    # "absence proves nothing" only where absence is the finding
    assert ("No signal proves nothing" in banner) == (verdict == "no_signal")
    labels = [button.label for button in at.get("download_button")]
    assert labels == ["Download the JSON report", "Download the HTML evidence report"]


def _pictures(at: testing.AppTest) -> list[str]:
    """The captions of the pictures on the page, less the score charts (also images)."""
    captions = [c for image in at.get("image") for c in image.captions]
    return [c for c in captions if not c.startswith("Each frame's z")]


def test_the_file_itself_is_shown(
    demo_corpus: Path, demo_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_MARK_KEY", demo_key)
    at = _page_after_upload("unsigned.mp4", (demo_corpus / "unsigned.mp4").read_bytes())
    assert any(h.value == "Frames read" for h in at.subheader)
    captions = _pictures(at)
    # a strip of the frames read, each with its time, picture type and keyed score
    assert 2 <= len(captions) <= 8
    assert captions[0].startswith("0.00 s (I) · keyed z ")
    assert not any("Strongest frame" in c for c in captions)  # nothing was detected
    at = _page_after_upload(
        "sdxl_watermarked.png", (demo_corpus / "sdxl_watermarked.png").read_bytes()
    )
    assert any(h.value == "The image" for h in at.subheader)
    captions = _pictures(at)
    assert captions == ["The uploaded image, as checked"]
    name = "ai_generated_tampered.mp4"
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    captions = _pictures(at)
    assert captions == [
        "The file now (first frame read)",
        "Thumbnail stored in the credentials when signed",
    ]


def test_notices_for_a_missing_trust_list_and_a_cut_file(
    demo_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.testing.tamper import truncate

    monkeypatch.setenv("PROVENANCE_TRUST_DIR", str(tmp_path / "fresh-install"))
    signed = demo_corpus / "ai_generated_signed.mp4"
    warnings = [w.value for w in _page_after_upload(signed.name, signed.read_bytes()).warning]
    assert len(warnings) == 1
    assert "No trust list is installed" in warnings[0]
    assert "provenance trust update" in warnings[0]
    # an unsigned file has no signer to recognise: no notice
    unsigned = (demo_corpus / "unsigned.mp4").read_bytes()
    assert not _page_after_upload("unsigned.mp4", unsigned).warning
    cut = truncate(signed, tmp_path / "cut.mp4", keep_fraction=0.6)
    at = _page_after_upload(cut.name, cut.read_bytes())
    assert "Content Credentials present but tampered" in _banner(at)
    warnings = [w.value for w in at.warning]
    assert "This file is incomplete or damaged" in warnings[0]
    assert "cut short" in warnings[0]
    assert "which is why they read as tampered" in warnings[0]


def test_rejected_file_type_says_what_is_accepted() -> None:
    at = _page_after_upload("notes.txt", b"not media")
    errors = [e.value for e in at.error]
    assert errors
    assert ".txt files are not accepted" in errors[0]
    assert "mp4" in errors[0]
    assert not at.get("download_button")


def test_nothing_of_the_upload_persists(demo_corpus: Path) -> None:
    import tempfile

    from provenance.batch.slots import default_slot_folder

    slots = default_slot_folder()  # the queue's lock files, shared by every upload
    before = set(Path(tempfile.gettempdir()).glob("provenance-*")) - {slots}
    at = _page_after_upload("unsigned.mp4", (demo_corpus / "unsigned.mp4").read_bytes())
    assert "<code>no_signal</code>" in _banner(at)
    assert set(Path(tempfile.gettempdir()).glob("provenance-*")) - {slots} == before
    assert all(p.name.startswith("slot-") and p.stat().st_size == 0 for p in slots.iterdir())


def test_credentials_show_actions_history_and_validation_codes(demo_corpus: Path) -> None:
    name = "ai_edited_with_history.mp4"
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    assert "<code>ai_edited</code>" in _banner(at)
    # the actions table: each action with its digitalSourceType explained (an HTML table
    # that wraps to fit the page)
    tables = [str(e.proto.body) for e in at.get("html") if "<table" in str(e.proto.body)]
    actions = next(t for t in tables if "digitalSourceType" in t)
    edited = next(row for row in actions.split("<tr") if ">c2pa.edited<" in row)
    assert ">compositeWithTrainedAlgorithmicMedia<" in edited
    assert "generative-AI" in edited
    # the ingredient tree: the parent clip and its own capture manifest, nested
    tree = next(m.value for m in at.markdown if "parentOf" in m.value)
    lines = tree.replace("\\", "").splitlines()
    assert lines[1].startswith("    - parentOf: camera_original.mp4")
    assert lines[2].startswith("        - parent: camera_original.mp4")
    # validation codes, failures first, each explained
    codes = next(t for t in tables if ">code<" in t)
    rows = codes.split("<tbody>")[1].split("<tr")[1:]
    assert 'class="failure"' in rows[0]
    assert any("Validation codes" in e.label for e in at.expander)


def test_thumbnail_and_strongest_frame_are_shown(
    demo_corpus: Path, demo_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_MARK_KEY", demo_key)
    name = "ai_generated_signed.mp4"
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    captions = [c for image in at.get("image") for c in image.captions]
    assert "Thumbnail stored in the credentials" in captions
    # nothing detected: the strongest frame is shown only when asked for
    assert not any(c.startswith("Strongest frame: frame ") for c in captions)
    at.checkbox(key="strongest-1").check().run()
    captions = [c for image in at.get("image") for c in image.captions]
    assert any(c.startswith("Strongest frame: frame ") for c in captions)

    name = "keyed_watermarked.mp4"
    at = _page_after_upload(name, (demo_corpus / name).read_bytes())
    assert "<code>ai_watermark</code>" in _banner(at)
    text = _texts(at)
    assert "Keyed watermark (key " in text
    assert "Found, over the 48 frames read." in text
    captions = [c for image in at.get("image") for c in image.captions]
    assert any(c.startswith("Each frame's z over time") for c in captions)  # the chart
    assert any(c.startswith("Strongest frame: frame ") for c in captions)  # detected: shown
    assert "Thumbnail stored in the credentials" not in captions  # the clip carries none


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
    at = _page_after_upload(name, data)
    assert "<code>ai_watermark</code>" in _banner(at)  # no repository: the mark alone
    assert "Recovered credentials" not in _texts(at)
    monkeypatch.setenv("PROVENANCE_REPOSITORY", str(demo_corpus / "manifests.sqlite"))
    at = _page_after_upload(name, data)
    text = _texts(at)
    assert "<code>ai_declared</code>" in _banner(at)
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
    assert "<code>error</code>" in _banner(at)
    assert "\\$E=mc^2\\$ \\_z\\_.mp4" in text  # the name is shown ...
    unescaped_link = re.compile(r"(?<!\\)\]\(http")
    assert not unescaped_link.search(text)  # ... but no link, picture or formula is made of it
    tables = [str(table.value) for table in at.table]
    assert tables
    assert not any(unescaped_link.search(table) for table in tables)


def test_an_upload_name_longer_than_a_file_system_allows_is_checked(demo_corpus: Path) -> None:
    import provenance

    name = "é" * 150 + ".mp4"  # 304 bytes: over the 255 a file name may have
    data = (demo_corpus / "unsigned.mp4").read_bytes()
    at = _page_after_upload(name, data)
    assert "<code>no_signal</code>" in _banner(at)
    report = provenance.check_bytes(data, name="x\0" + name)
    assert report.path == "x\0" + name  # the report keeps the name it was given
    assert report.errors == ()


@pytest.mark.parametrize("thumbnail", ["not_a_picture", "bomb"])
def test_a_thumbnail_that_is_no_picture_or_a_bomb_is_left_out(
    thumbnail: str, tmp_path: Path
) -> None:
    from provenance.testing.pki import generate_pki
    from provenance.testing.signing import sign_file
    from provenance.testing.synth import write_clip

    picture = tmp_path / ("thumb.jpg" if thumbnail == "not_a_picture" else "thumb.png")
    if thumbnail == "not_a_picture":
        picture.write_bytes(b"<html>this is not a JPEG</html>" * 40)
    else:  # a real PNG header claiming 30,000 x 30,000 pixels
        header = b"\x89PNG\r\n\x1a\n" + (13).to_bytes(4, "big") + b"IHDR"
        picture.write_bytes(header + (30_000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0]))
    clip = write_clip(tmp_path / "clip.mp4", seconds=0.5)
    signed = sign_file(clip, tmp_path / "signed.mp4", pki=generate_pki(tmp_path / "pki"),
                       thumbnail=picture)  # fmt: skip
    at = _page_after_upload(signed.name, signed.read_bytes())
    assert "<code>ai_declared</code>" in _banner(at)
    assert "Thumbnail stored in the credentials" not in _pictures(at)
