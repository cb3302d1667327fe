"""provenance-checker for one upload: a clear answer, the evidence, a report to download.

Run: ``streamlit run app/streamlit_app.py`` (see the README). Nothing persists: the upload is
written to a private temporary folder, checked offline, and deleted before the page renders.
Settings come from the environment: ``PROVENANCE_MAX_UPLOAD_MB`` (default 500),
``PROVENANCE_TRUST_DIR`` (the trust lists) and ``PROVENANCE_MARK_KEY`` (a keyed-mark key).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import streamlit as st

import provenance
from provenance.render.html import render_html
from provenance.render.rows import credentials_cell, detail_lines, signer_cell
from provenance.report import Report, VerdictCode, WatermarkState

ACCEPTED = (
    "mp4", "mov", "m4v", "mkv", "webm", "avi", "ts",
    "jpg", "jpeg", "png", "webp", "heic", "avif", "gif", "tif", "tiff",
)  # fmt: skip
MAX_UPLOAD_MB = int(os.environ.get("PROVENANCE_MAX_UPLOAD_MB", "500"))
_BANNERS = {
    VerdictCode.AI_DECLARED: st.error,
    VerdictCode.AI_EDITED: st.error,
    VerdictCode.AI_WATERMARK: st.error,
    VerdictCode.CREDENTIALS_TAMPERED: st.error,
    VerdictCode.CREDENTIALS_INVALID: st.warning,
    VerdictCode.ERROR: st.warning,
    VerdictCode.UNSUPPORTED: st.warning,
    VerdictCode.CREDENTIALS_VALID_NO_AI: st.success,
}


def check_upload(name: str, data: bytes) -> Report:
    """Check uploaded bytes from a private temporary file, deleted afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="provenance-upload-"))  # mode 0700
    try:
        path = folder / Path(name).name
        path.write_bytes(data)
        keys = tuple(k for k in [os.environ.get("PROVENANCE_MARK_KEY", "").strip()] if k)
        options = provenance.CheckOptions(watermarks=provenance.WatermarkOptions(keys=keys))
        report = provenance.check(path, options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return Report.from_dict({**report.to_dict(), "path": name})


def show(report: Report) -> None:
    """Render one report."""
    code = report.verdict.code
    banner = _BANNERS.get(code, st.info)
    banner(f"**{code.value}**: {report.verdict.summary}")
    st.caption(
        "No signal proves nothing: most AI-generated media carries no credentials or watermark, "
        "and both can be stripped."
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Content Credentials")
        c = report.credentials
        st.write(f"**State:** {credentials_cell(report)}")
        st.write(f"**AI declaration:** {c.ai_declaration.value.replace('_', ' ')}")
        if c.signer is not None:
            st.write(f"**Signer:** {signer_cell(report)} ({c.signer.common_name or 'no name'})")
            st.write(f"**Signed:** {c.signer.signing_time or 'no trusted time'}")
        if c.claim_generator:
            st.write(f"**Claim generator:** {c.claim_generator}")
        if c.message:
            st.caption(c.message)
    with right:
        st.subheader("Watermarks")
        if not report.watermarks:
            st.write("Not checked.")
        for mark in report.watermarks:
            label = mark.mark if mark.detector == "keyed" and mark.mark else mark.detector
            state = mark.state.value.replace("_", " ")
            figures = ""
            if mark.statistic is not None:
                figures = f" (z {mark.statistic:.1f}, threshold {mark.threshold:.1f}, p {mark.p_value:.2g})"
            text = f"**{label}:** {state}{figures}"
            (st.error if mark.state is WatermarkState.DETECTED else st.write)(text)
            if mark.message:
                st.caption(mark.message)
            if mark.segments:
                st.line_chart(
                    {"z": [s.z for s in mark.segments]},
                    x_label="segment (s)",
                    y_label="z",
                )
    with st.expander("All evidence"):
        for _kind, line in detail_lines(report):
            st.write(line)
    with st.expander("Media and hashes"):
        st.write(f"**SHA-256:** `{report.sha256}`")
        if report.media is not None:
            st.json(report.media.to_dict())
    with st.expander("Raw JSON report"):
        st.json(report.to_dict())
    stem = Path(report.path).stem or "report"
    st.download_button(
        "Download the JSON report",
        json.dumps(report.to_dict(), indent=2, ensure_ascii=False),
        file_name=f"{stem}.provenance.json",
        mime="application/json",
    )
    st.download_button(
        "Download the HTML evidence report",
        render_html(
            [report], title=f"Evidence report: {report.path}", facts={"tool": report.tool_version}
        ),
        file_name=f"{stem}.provenance.html",
        mime="text/html",
    )


def main() -> None:
    st.set_page_config(page_title="provenance-checker", layout="wide")
    st.title("Is this clip AI-generated?")
    st.write(
        "Upload one clip or image. It is checked offline for Content Credentials (C2PA) and "
        "invisible AI-generator watermarks, then deleted."
    )
    # types are checked below rather than by the widget, so a refused file gets a message
    # that says what is accepted
    upload = st.file_uploader(
        f"Clip or image (up to {MAX_UPLOAD_MB} MB)",
        key="upload",
        help="Accepted: " + ", ".join(ACCEPTED),
    )
    if upload is None:
        return
    suffix = Path(upload.name).suffix.lower().lstrip(".")
    if suffix not in ACCEPTED:
        st.error(
            f"{upload.name}: .{suffix or '(none)'} files are not accepted. Upload a clip or an "
            f"image: {', '.join(ACCEPTED)}."
        )
        return
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        st.error(f"{upload.name} is over the {MAX_UPLOAD_MB} MB limit (PROVENANCE_MAX_UPLOAD_MB).")
        return
    with st.spinner(f"Checking {upload.name} ..."):
        report = check_upload(upload.name, data)
    show(report)


main()
