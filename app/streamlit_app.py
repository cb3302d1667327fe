"""provenance-checker for one upload: a clear answer, the evidence, a report to download.

Run: ``make app`` or ``streamlit run app/streamlit_app.py`` from the repository root (see the
README). Nothing persists: :func:`provenance.check_bytes` writes the upload to a private
temporary folder, checks it offline and deletes it before the page renders. The upload limit is
Streamlit's ``server.maxUploadSize`` (500 MB in the repository's ``.streamlit/config.toml``);
``PROVENANCE_TRUST_DIR`` chooses the trust lists and ``PROVENANCE_MARK_KEY`` a keyed-mark key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import streamlit as st

import provenance
from provenance.check import MEDIA_SUFFIXES
from provenance.render.html import render_html
from provenance.render.rows import (
    credentials_cell,
    detail_lines,
    signer_cell,
    watermark_name,
)
from provenance.report import Report, VerdictCode, WatermarkState

# the check's media suffixes, less audio, fMP4 fragments and detached manifests
ACCEPTED = tuple(
    sorted(
        suffix.lstrip(".")
        for suffix in MEDIA_SUFFIXES
        if suffix not in {".wav", ".mp3", ".m4a", ".flac", ".ogg", ".m4s", ".c2pa"}
    )
)
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
            label = watermark_name(mark)
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
        on_click="ignore",  # downloading must not rerun the page (and the check)
    )
    st.download_button(
        "Download the HTML evidence report",
        render_html(
            [report], title=f"Evidence report: {report.path}", facts={"tool": report.tool_version}
        ),
        file_name=f"{stem}.provenance.html",
        mime="text/html",
        on_click="ignore",
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
        f"Clip or image (up to {st.get_option('server.maxUploadSize')} MB)",
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
    keys = tuple(k for k in [os.environ.get("PROVENANCE_MARK_KEY", "").strip()] if k)
    options = provenance.CheckOptions(watermarks=provenance.WatermarkOptions(keys=keys))
    with st.spinner(f"Checking {upload.name} ..."):
        report = provenance.check_bytes(upload.getvalue(), name=upload.name, options=options)
    show(report)


main()
