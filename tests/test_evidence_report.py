"""Per-frame scores, the strongest frame and its preview, the credential thumbnail, the shared
evidence structures and the self-contained HTML evidence report (``check --html`` and the page).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import itertools
import re
from pathlib import Path
from xml.dom import minidom

import av
import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from provenance import CheckOptions, WatermarkOptions, check
from provenance.cli import app
from provenance.media.frames import FrameSampler
from provenance.media.preview import PREVIEW_SIDE, picture_of
from provenance.media.sampling import Sampling, SamplingMode
from provenance.render import rows
from provenance.render.html import render_evidence_html, score_chart_svg
from provenance.render.rows import strongest_frame_caption
from provenance.report import Detector, Report, WatermarkState
from provenance.verdict import NO_SIGNAL_CAVEAT
from provenance.watermark.detector import FRAME_SCORES_LIMIT, FrameScores


def _decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/")
    data = base64.b64decode(uri.split(";base64,", 1)[1])
    picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None
    return picture


def _keyed(report: Report):  # type: ignore[no-untyped-def]
    return next(w for w in report.watermarks if w.detector == "keyed")


@functools.cache
def _checked(path: Path, *, key: str | None = None, previews: bool = True) -> Report:
    """The report of ``path`` (with the keyed mark when ``key`` is given), checked once."""
    keys = (key,) if key else ()
    return check(path, CheckOptions(watermarks=WatermarkOptions(keys=keys), previews=previews))


# --------------------------------------------------------------------------- per-frame scores


@pytest.mark.parametrize("total", [1, 5, 8, 9, 16, 17, 1000])
def test_picture_strip_spreads_its_pictures_over_the_stream(total: int) -> None:
    from provenance.media.frame import SampledFrame
    from provenance.media.preview import STRIP_FRAMES, PictureStrip

    strip = PictureStrip()
    luma = np.full((8, 8), 128, np.uint8)
    for index in range(total):
        strip.add(SampledFrame(index, index / 25, "I", False, 8, 8, luma))
    pictures = strip.pictures()
    assert len(pictures) == min(total, STRIP_FRAMES)
    indices = [p.index for p in pictures]
    assert indices[0] == 0
    assert indices == sorted(set(indices))
    assert all(p.preview.startswith("data:image/jpeg;base64,") for p in pictures)
    if total == 1000:  # spread over the stream, not bunched at its start
        assert indices[-1] >= 0.75 * total
        gaps = [b - a for a, b in itertools.pairwise(indices)]
        assert max(gaps) <= 2 * min(gaps)
        assert strip.stride >= 64  # bounded work: few frames were encoded


def test_a_check_with_previews_keeps_pictures_of_the_frames_read(demo_corpus: Path) -> None:
    clip = _checked(demo_corpus / "unsigned.mp4")
    assert 2 <= len(clip.frame_pictures) <= 8
    times = [p.time_seconds for p in clip.frame_pictures]
    assert all(t is not None for t in times)
    assert times == sorted(times)
    image = _checked(demo_corpus / "sdxl_watermarked.png")
    assert len(image.frame_pictures) == 1
    assert image.frame_pictures[0].preview.startswith("data:image/jpeg;base64,")
    assert _checked(demo_corpus / "unsigned.mp4", previews=False).frame_pictures == ()


def test_frame_scores_pool_neighbours_past_the_limit_and_keep_the_peak() -> None:
    from provenance.media.frame import SampledFrame

    luma = np.zeros((4, 4), np.uint8)
    scores = FrameScores(keep_pixels=False)
    total = 2 * FRAME_SCORES_LIMIT + 301
    for index in range(total):
        z = 9.5 if index == 777 else float(index % 7) / 10
        frame = SampledFrame(index, index / 30, "P", False, 4, 4, luma)
        scores.add(frame, z)
    entries = scores.scores()
    assert len(entries) <= FRAME_SCORES_LIMIT
    # every full entry stands for the same number of frames: 4 consecutive indices
    full = entries[:-1]  # the last is the pending, partly filled group
    steps = {b.index // 4 - a.index // 4 for a, b in itertools.pairwise(full)}
    assert steps == {1}
    assert scores.group == 4  # pooled twice: every entry stands for 4 frames
    assert [e.index for e in entries] == sorted(e.index for e in entries)
    peak = max(entries, key=lambda e: e.statistic)
    assert (peak.index, peak.statistic) == (777, 9.5)
    strongest = scores.strongest_frame()
    assert strongest is not None
    assert (strongest.index, strongest.preview) == (777, None)  # no pixels kept: no preview


def test_keyed_clip_has_per_frame_scores_and_a_strongest_frame_preview(
    demo_corpus: Path, demo_key: str
) -> None:
    marked = _keyed(_checked(demo_corpus / "keyed_watermarked.mp4", key=demo_key))
    assert marked.state is WatermarkState.DETECTED
    # a short clip is read whole by default
    assert len(marked.frames) == marked.frames_used == marked.frames_read > 8
    times = [f.time_seconds for f in marked.frames]
    assert times == sorted(times)
    assert times[0] == 0.0
    assert times[-1] is not None
    assert times[-1] > 1.9
    best = max(marked.frames, key=lambda f: f.statistic)
    assert marked.strongest_frame is not None
    assert marked.strongest_frame.index == best.index
    assert marked.strongest_frame.statistic == best.statistic
    assert all(f.statistic > marked.threshold for f in marked.frames)  # type: ignore[operator]
    preview = _decode(marked.strongest_frame.preview or "")
    assert preview.shape[:2] == (270, PREVIEW_SIDE)  # 640x360 scaled to 480 wide

    # the negative side: an unmarked clip's frames all stay under the file's threshold
    plain = _keyed(_checked(demo_corpus / "unsigned.mp4", key=demo_key))
    assert plain.state is WatermarkState.NOT_DETECTED
    assert len(plain.frames) == plain.frames_read > 8
    assert max(f.statistic for f in plain.frames) < plain.threshold  # type: ignore[operator]


def test_previews_are_only_made_when_asked_for(demo_corpus: Path, demo_key: str) -> None:
    report = _checked(demo_corpus / "ai_generated_signed.mp4", key=demo_key, previews=False)
    assert report.credentials.thumbnail is not None
    assert report.credentials.thumbnail_data is None
    mark = _keyed(report)
    assert mark.strongest_frame is not None
    assert mark.strongest_frame.preview is None
    assert "data:image" not in report.to_json()


def test_preview_colours_match_the_decoder(demo_corpus: Path) -> None:
    """The preview made from the luma and chroma planes looks like FFmpeg's own RGB frame."""
    clip = demo_corpus / "unsigned.mp4"
    sampler = FrameSampler(clip, Sampling(SamplingMode.EVENLY, 3), chroma=True)
    ours = [picture_of(frame) for frame in sampler]
    with av.open(str(clip)) as container:
        decoded = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    references = [decoded[i] for i in sampler.target_indices]
    for picture, reference in zip(ours, references, strict=True):
        assert picture.shape == reference.shape
        # a wrong range gives a median of 8, swapped chroma 57; swscale's chroma siting differs
        # from ours at sharp edges, hence the median
        assert float(np.median(np.abs(picture.astype(int) - reference.astype(int)))) <= 3.0


# --------------------------------------------------------------------------- credentials


def test_credential_thumbnail_is_extracted(demo_corpus: Path) -> None:
    signed = _checked(demo_corpus / "ai_generated_signed.mp4")
    thumbnail = _decode(signed.credentials.thumbnail_data or "")
    assert thumbnail.shape[:2] == (180, 320)
    image = _checked(demo_corpus / "camera_signed.jpg")
    assert image.credentials.thumbnail_data is not None  # made by the C2PA library itself
    unsigned = _checked(demo_corpus / "unsigned.mp4")
    assert unsigned.credentials.thumbnail is None
    assert unsigned.credentials.thumbnail_data is None


def test_actions_history_and_validation_codes_are_explained(demo_corpus: Path) -> None:
    report = _checked(demo_corpus / "ai_edited_with_history.mp4", previews=False)
    actions = rows.action_rows(report)
    edited = next(a for a in actions if a["action"] == "c2pa.edited")
    assert edited["digitalSourceType"] == "compositeWithTrainedAlgorithmicMedia"
    assert "generative-AI" in edited["meaning"]
    assert edited["manifest"].startswith("this file:")
    created = next(a for a in actions if a["action"] == "c2pa.created")
    assert created["manifest"].startswith("parent:")
    assert created["meaning"] == "captured by a digital camera or recorder"

    tree = rows.ingredient_tree(report)
    assert [depth for depth, _ in tree] == [0, 1, 2]
    assert "parentOf: camera_original.mp4" in tree[1][1]
    assert "digitalCapture" in tree[2][1]

    codes = rows.validation_rows(report)
    assert codes[0]["result"] == "failure"  # failures first
    assert codes[0]["code"] == "signingCredential.untrusted"
    assert all(row["meaning"] for row in codes)
    assert any(row["where"] == "ingredient" for row in codes)


# --------------------------------------------------------------------------- HTML


def test_evidence_report_is_complete_and_self_contained(demo_corpus: Path, demo_key: str) -> None:
    report = _checked(demo_corpus / "ai_generated_signed.mp4", key=demo_key)
    page = render_evidence_html([report])
    assert "<h1>Evidence report: " in page
    assert "<code>ai_declared</code>" in page  # the code in small print
    assert "AI-generated, as declared by its Content Credentials</div>" in page  # the headline
    assert "AI evidence" in page
    assert "▲" in page
    # absence is not the finding: no "no signal proves nothing" under an AI verdict
    assert NO_SIGNAL_CAVEAT not in page
    assert report.sha256 is not None
    assert report.sha256 in page
    for name, version in report.engine_versions.items():
        assert f"<td>{version}</td>" in page, name
    assert "Trust lists loaded" in page
    assert "trainedAlgorithmicMedia" in page
    assert "made by a generative AI model" in page
    assert "Thumbnail stored in the credentials" in page
    assert "<svg" in page
    assert "Strongest frame: frame" in page
    # nothing outside the document: every src is a data: URI, no links, no script
    sources = re.findall(r'src="([^"]*)"', page)
    # the thumbnail and the frames read; no strongest-frame picture: nothing was detected
    assert 2 <= len(report.frame_pictures) == len(sources) - 1
    assert "<h2>Frames read</h2>" in page
    assert "Not found in the 48 frames read." in page  # the watermark in words first
    assert all(s.startswith("data:image/jpeg;base64,") for s in sources)
    assert "href=" not in page
    assert "<script" not in page


def test_evidence_report_shows_the_strongest_frame_only_when_a_mark_is_found(
    demo_corpus: Path, demo_key: str
) -> None:
    report = _checked(demo_corpus / "keyed_watermarked.mp4", key=demo_key)
    page = render_evidence_html([report])
    (keyed,) = [w for w in report.watermarks if w.detector is Detector.KEYED]
    assert keyed.state is WatermarkState.DETECTED
    assert f'alt="{strongest_frame_caption(keyed)}"' in page
    assert "Found, over the 48 frames read." in page
    assert "about once in 1,000,000 files" in page
    image = _checked(demo_corpus / "sdxl_watermarked.png")
    page = render_evidence_html([image])
    assert "<h2>The image</h2>" in page
    assert "Found the sdxl mark, over the 1 frame read." in page


def test_evidence_report_states_absence_only_where_absence_is_the_finding(
    demo_corpus: Path,
) -> None:
    unsigned = render_evidence_html([_checked(demo_corpus / "unsigned.mp4", previews=False)])
    assert "No provenance signal found: this proves nothing</div>" in unsigned
    assert NO_SIGNAL_CAVEAT in unsigned
    assert "nothing found" in unsigned
    assert "○" in unsigned
    tampered = render_evidence_html(
        [_checked(demo_corpus / "ai_generated_tampered.mp4", previews=False)]
    )
    assert "Content Credentials present but tampered</div>" in tampered
    assert "integrity problem" in tampered
    assert NO_SIGNAL_CAVEAT not in tampered.split("<h2>Evidence</h2>")[0]


def test_evidence_report_escapes_what_comes_from_the_file(demo_corpus: Path) -> None:
    report = _checked(demo_corpus / "ai_edited_with_history.mp4", previews=False)
    hostile = dataclasses.replace(
        report,
        path="<script>alert(1)</script>.mp4",
        credentials=dataclasses.replace(report.credentials, claim_generator='"><img src=x>'),
    )
    page = render_evidence_html([hostile])
    assert "<script>alert" not in page
    assert "<img src=x>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.mp4" in page
    # a thumbnail that is not a data: picture is never embedded
    odd = dataclasses.replace(report.credentials, thumbnail_data="https://example.invalid/t.jpg")
    assert "example.invalid" not in render_evidence_html(
        [dataclasses.replace(report, credentials=odd)]
    )


def test_score_chart_marks_the_threshold_and_the_strongest_frame(
    demo_corpus: Path, demo_key: str
) -> None:
    mark = _keyed(_checked(demo_corpus / "keyed_watermarked.mp4", key=demo_key))
    svg = score_chart_svg(mark)
    assert svg.count("<circle") == len(mark.frames)
    assert svg.count('fill="#b00020"/>') == 1  # the strongest frame's dot
    assert f"threshold {mark.threshold:.1f}" in svg
    single = dataclasses.replace(mark, frames=mark.frames[:1])
    assert score_chart_svg(single) == ""  # one frame is no timeline
    # well-formed with and without timestamps (untimed frames are placed by index)
    untimed = dataclasses.replace(
        mark, frames=tuple(dataclasses.replace(f, time_seconds=None) for f in mark.frames)
    )
    for chart in (svg, score_chart_svg(untimed)):
        minidom.parseString(chart)
    assert f"frame {mark.frames[-1].index}</text>" in score_chart_svg(untimed)


def test_check_writes_the_evidence_report(demo_corpus: Path, tmp_path: Path) -> None:
    destination = tmp_path / "out" / "evidence.html"
    result = CliRunner().invoke(
        app,
        [
            "check",
            str(demo_corpus / "ai_edited_with_history.mp4"),
            str(demo_corpus / "sdxl_watermarked.png"),
            "--html",
            str(destination),
        ],
    )
    assert result.exit_code == 0, result.output
    page = destination.read_text("utf-8")
    assert page.count("<section>") == 2
    assert "ai_edited" in page
    assert "ai_watermark" in page
    assert "parentOf: camera_original.mp4" in page
    # the still image is shown once, in its own section (sections follow the files' order):
    # its strongest "frame" is the image itself, not shown twice
    clip, image = page.split("<section>")[1:]
    assert image.count('src="data:image/jpeg;base64,') == 1
    assert "<h2>The image</h2>" in image
    assert "<h2>Frames read</h2>" in clip
