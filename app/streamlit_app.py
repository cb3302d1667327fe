"""provenance-checker for one upload: a clear answer, the evidence, a report to download.

Run: ``make app`` or ``streamlit run app/streamlit_app.py`` from the repository root (see the
README). Nothing persists: :func:`provenance.check_bytes_isolated` writes the upload to a
private temporary folder, checks it offline in a worker process with time and memory limits
(``PROVENANCE_PAGE_TIMEOUT``, ``PROVENANCE_PAGE_MEMORY_LIMIT``) and deletes it before the page
renders; at most ``PROVENANCE_PAGE_CHECKS`` checks run at once on the machine, later uploads
wait in a queue (up to ``PROVENANCE_PAGE_WAIT`` seconds) and are told so. The upload limit is
Streamlit's ``server.maxUploadSize`` (500 MB in the repository's ``.streamlit/config.toml``);
``PROVENANCE_TRUST_DIR`` chooses the trust lists and ``PROVENANCE_MARK_KEY`` a keyed-mark key.
Stripped credentials are recovered by the identifier a keyed mark carries from
``PROVENANCE_REPOSITORY`` (a manifest repository file, offline) and ``PROVENANCE_RESOLVE_URL``
(a resolution service: network use), or the same given after ``--``:
``streamlit run app/streamlit_app.py -- --repository repo.sqlite --resolve URL``.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import provenance
from provenance.media.sniff import MEDIA_SUFFIXES, NON_PICTURE_SUFFIXES
from provenance.render.html import render_evidence_html, score_chart_svg
from provenance.render.html_parts import table_html
from provenance.render.look import banner_html
from provenance.render.rows import (
    action_rows,
    credentials_rows,
    detail_lines,
    ingredient_tree,
    media_rows,
    recovered_rows,
    strongest_frame_caption,
    trust_lines,
    validation_rows,
    version_rows,
    watermark_name,
)
from provenance.render.words import (
    frame_scores,
    notices,
    watermark_figures,
    watermark_title,
    watermark_words,
)
from provenance.report import MediaKind, Report, WatermarkEvidence, WatermarkState
from provenance.verdict import FAMILIES, VerdictFamily
from provenance.watermark.keys import environment_keys

CHART_CAPTION = (
    "Each frame's z over time; the dashed red line is the file's threshold (frames are "
    "summed, so the file can pass it when no single frame does)."
)
# the check's media suffixes, less audio, fMP4 fragments and detached manifests
ACCEPTED = tuple(sorted(suffix.lstrip(".") for suffix in MEDIA_SUFFIXES - NON_PICTURE_SUFFIXES))


def _markdown_text(text: str) -> str:
    """``text`` with every Markdown character that could format, link, embed a picture or
    start a formula escaped: titles, names and messages come from the file. (A link needs its
    brackets, so parentheses can stay.)"""
    return re.sub(r"([\\`*_{}\[\]<>#|~$!])", r"\\\1", text)


def _escaped(rows: list[tuple[str, str]]) -> dict[str, str]:
    """(name, value) rows as a table's data, values escaped (``st.table`` renders Markdown)."""
    return {name: _markdown_text(value) for name, value in rows}


def _picture(uri: str | None) -> bytes | None:
    """The bytes of a ``data:`` URI picture from the report, or None."""
    if not uri or not uri.startswith("data:image/") or ";base64," not in uri:
        return None
    try:
        return base64.b64decode(uri.split(";base64,", 1)[1])
    except ValueError:
        return None


def _image(picture: bytes | str, *, caption: str, width: int | str = "content") -> None:
    """Show a picture from the report; one the browser-side library cannot read (a damaged
    thumbnail from a file) becomes a caption saying so, never a traceback."""
    try:
        st.image(picture, caption=caption, width=width)  # type: ignore[arg-type]
    except Exception:  # any decoder error: the page must go on
        st.caption(f"{caption}: not a picture this page can show.")


def _notices(report: Report) -> None:
    """What the reader must know before the verdict makes sense."""
    for text in notices(report):
        st.warning(_markdown_text(text), icon=":material/warning:")


def _picture_of_file(report: Report) -> None:
    """The file itself: the image, or a strip of the frames read with their scores; for a
    tampered file the current picture beside the thumbnail it was signed with."""
    pictures = report.frame_pictures
    thumbnail = _picture(report.credentials.thumbnail_data)
    kind = report.media.kind if report.media is not None else None
    if FAMILIES[report.verdict.code] is VerdictFamily.INTEGRITY and thumbnail is not None:
        st.subheader("What it shows now, and what was signed")
        now, signed = st.columns(2)
        with now:
            current = _picture(pictures[0].preview) if pictures else None
            if current is not None:
                now_caption = "The file now" + (
                    " (first frame read)" if kind is MediaKind.VIDEO else ""
                )
                _image(current, caption=now_caption, width=420)
            else:
                st.caption("No frame of the file could be decoded to show.")
        with signed:
            _image(thumbnail, caption="Thumbnail stored in the credentials when signed", width=420)
        return
    if kind is MediaKind.IMAGE and pictures:
        st.subheader("The image")
        image = _picture(pictures[0].preview)
        if image is not None:
            _image(image, caption="The uploaded image, as checked", width=480)
        return
    if not pictures:
        if kind is MediaKind.VIDEO:
            st.caption("No frame of the clip could be decoded to show.")
        return
    st.subheader("Frames read")
    st.caption(
        "Some of the frames the watermark detectors read, with each detector's score for "
        "that frame (z; a file-level finding needs the threshold below)."
    )
    for column, picture in zip(st.columns(len(pictures)), pictures, strict=True):
        with column:
            image = _picture(picture.preview)
            when = f"{picture.time_seconds:.2f} s" if picture.time_seconds is not None else ""
            kind_of = f" ({picture.picture_type})" if picture.picture_type else ""
            scores = " · ".join(f"{name} z {z:.1f}" for name, z in frame_scores(report, picture))
            caption = f"{when}{kind_of}" + (f" · {scores}" if scores else "")
            if image is not None:
                _image(image, caption=caption, width="stretch")


def _credentials(report: Report) -> None:
    c = report.credentials
    st.subheader("Content Credentials")
    shown_above = FAMILIES[report.verdict.code] is VerdictFamily.INTEGRITY
    thumbnail = None if shown_above else _picture(c.thumbnail_data)
    text, picture = st.columns([3, 2]) if thumbnail else (st.container(), None)
    with text:
        for name, value in credentials_rows(report):
            st.write(f"**{name}:** {_markdown_text(value)}")
        if c.message:
            st.caption(_markdown_text(c.message))
    if picture is not None and thumbnail is not None:
        with picture:
            _image(thumbnail, caption="Thumbnail stored in the credentials")


def _recovered(report: Report) -> None:
    """Credentials recovered through the watermark's identifier (stripped from the file)."""
    if not report.recovered:
        return
    st.subheader("Recovered credentials")
    st.caption(
        "The file's watermark carries an identifier; each manifest repository asked was "
        "searched for it, and a manifest found was checked against this file."
    )
    for entry in report.recovered:
        for name, value in recovered_rows(entry):
            st.write(f"**{name}:** {_markdown_text(value)}")


def _history(report: Report) -> None:
    """The actions (with their digitalSourceType explained) and the ingredient tree."""
    history = report.credentials.history
    if not history:
        return
    st.subheader("Actions and history")
    actions = action_rows(report)
    if actions:
        st.html(table_html(actions, inline=True))  # wraps to fit, unlike a data grid
    if len(history) == 1 and not history[0].ingredients:
        st.caption(
            "One manifest and no ingredients: the credentials do not record what this file "
            "was made from."
        )
    else:
        st.markdown(
            "\n".join(
                f"{'    ' * depth}- {_markdown_text(text)}"
                for depth, text in ingredient_tree(report)
            )
        )


def _watermark(report: Report, mark: WatermarkEvidence, number: int) -> None:
    detected = mark.state is WatermarkState.DETECTED
    words = watermark_words(mark, report.media.kind if report.media else None)
    st.markdown(f"**{_markdown_text(watermark_title(mark))}**")
    (st.error if detected else st.write)(_markdown_text(words))
    with st.expander(f"Figures: {watermark_name(mark)}"):
        st.table(_escaped(watermark_figures(mark)))
        chart = score_chart_svg(mark)  # the evidence report's chart: no chart library
        if chart:
            _image(chart, caption=CHART_CAPTION)
        strongest = mark.strongest_frame
        if strongest is None or report.media is None or report.media.kind is not MediaKind.VIDEO:
            return
        # a picture of the "strongest" frame suggests a finding: only when there is one,
        # or when asked for
        if not detected and not st.checkbox(
            "Show the strongest frame anyway", key=f"strongest-{number}"
        ):
            return
        picture = _picture(strongest.preview)
        caption = strongest_frame_caption(mark)
        if picture is not None:
            _image(picture, caption=caption, width=360)
        else:
            st.caption(caption)


def _watermarks(report: Report) -> None:
    st.subheader("Watermarks")
    if not report.watermarks:
        st.write("Not checked.")
    for number, mark in enumerate(report.watermarks):
        _watermark(report, mark, number)


def show(report: Report) -> None:
    """Render one report."""
    st.html(banner_html(report))
    _notices(report)
    _picture_of_file(report)
    left, right = st.columns(2, gap="large")
    with left:
        _credentials(report)
        _recovered(report)
    with right:
        _watermarks(report)
    _history(report)
    with st.expander("All evidence"):
        for _kind, line in detail_lines(report):
            st.write(_markdown_text(line))
    validation = validation_rows(report)
    if validation:
        failures = sum(1 for row in validation if row["result"] == "failure")
        with st.expander(f"Validation codes ({len(validation)}, {failures} failures)"):
            st.html(table_html(validation, row_class="result", inline=True))
    with st.expander("Media and hashes"):
        st.table(_escaped(media_rows(report)))
    with st.expander("Trust snapshot and versions"):
        for line in trust_lines(report):
            st.write(_markdown_text(line))
        st.table(_escaped(version_rows(report)))
    with st.expander("Raw JSON report"):
        st.json(report.to_dict(), expanded=False)
    stem = Path(report.path).stem or "report"
    json_column, html_column = st.columns(2)
    with json_column:
        st.download_button(
            "Download the JSON report",
            lambda: report.to_json(indent=2),  # made on click, not on every render
            file_name=f"{stem}.provenance.json",
            mime="application/json",
            on_click="ignore",  # downloading must not rerun the page (and the check)
        )
    with html_column:
        st.download_button(
            "Download the HTML evidence report",
            lambda: render_evidence_html([report]),
            file_name=f"{stem}.provenance.html",
            mime="text/html",
            on_click="ignore",
        )


def _recovery_sources() -> tuple[Path | None, str | None]:
    """The repository and resolution service to recover credentials from (arguments after
    ``--`` first, then the environment)."""
    parser = argparse.ArgumentParser(prog="streamlit_app.py", add_help=False)
    parser.add_argument("--repository", default=os.environ.get("PROVENANCE_REPOSITORY"))
    parser.add_argument("--resolve", default=os.environ.get("PROVENANCE_RESOLVE_URL"))
    known, _ = parser.parse_known_args(sys.argv[1:])
    repository = Path(known.repository) if known.repository else None
    return repository, known.resolve or None


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
            f"{_markdown_text(upload.name)}: .{_markdown_text(suffix or '(none)')} files are not "
            f"accepted. Upload a clip or an image: {', '.join(ACCEPTED)}."
        )
        return
    repository, resolve_url = _recovery_sources()
    if repository is not None and not repository.is_file():
        st.error(
            f"The manifest repository {_markdown_text(str(repository))} does not exist: set "
            "PROVENANCE_REPOSITORY to a repository file made by 'provenance repository add'."
        )
        return
    try:
        options = provenance.CheckOptions(
            watermarks=provenance.WatermarkOptions(keys=environment_keys()),
            previews=True,
            repository=repository,
            resolve_url=resolve_url,
        )
    except ValueError as exc:
        st.error(f"{_markdown_text(str(exc))}: fix PROVENANCE_RESOLVE_URL (or --resolve).")
        return
    # a widget on the page (a checkbox) reruns the script: check each upload once
    done = st.session_state.get("checked")
    key = (upload.file_id, repr(options))
    if done is not None and done[0] == key:
        report = done[1]
    else:
        try:
            limits = _limits()
        except ValueError as exc:
            st.error(_markdown_text(str(exc)))
            return
        report = _check_upload(upload.getvalue(), upload.name, options, limits)
        if report is None:
            return
        st.session_state["checked"] = (key, report)
    show(report)


@dataclass(frozen=True)
class _Limits:
    checks: int
    wait_seconds: float
    timeout: float | None
    memory_mb: int | None
    slots: Path | None


def _number(name: str, default: float, *, least: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = least - 1
    if value < least:
        raise ValueError(f"{name}={text!r} is not a number of at least {least:g}: fix or unset it")
    return value


def _limits() -> _Limits:
    """How many checks run at once, how long an upload waits for one, and each check's
    limits, from the environment (README, "The web page")."""
    from provenance.batch.scan_options import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, usable_cpus

    timeout = _number("PROVENANCE_PAGE_TIMEOUT", DEFAULT_TIMEOUT, least=0)
    memory = int(_number("PROVENANCE_PAGE_MEMORY_LIMIT", DEFAULT_MEMORY_MB, least=0))
    if 0 < memory < 64:
        raise ValueError("PROVENANCE_PAGE_MEMORY_LIMIT must be 0 (no limit) or at least 64 MiB")
    slots = os.environ.get("PROVENANCE_PAGE_SLOTS")
    return _Limits(
        checks=int(_number("PROVENANCE_PAGE_CHECKS", usable_cpus(), least=1)),
        wait_seconds=_number("PROVENANCE_PAGE_WAIT", 600.0, least=0),
        timeout=timeout or None,
        memory_mb=memory or None,
        slots=Path(slots) if slots else None,
    )


def _check_upload(
    data: bytes, name: str, options: provenance.CheckOptions, limits: _Limits
) -> Report | None:
    """The upload checked in a worker process with limits, once one of the server's check
    slots is free (a queue shared by every session): a bomb or a hang costs a worker, never
    the page's server. None when the wait ran out (the page says so)."""
    from provenance.batch.slots import BusyError, CheckSlots

    waiting = st.empty()

    def say_busy() -> None:
        waiting.info(
            f"The checker is busy: {limits.checks} check{'s' if limits.checks != 1 else ''} "
            "at a time, all running. Yours is queued and starts when one finishes; keep this "
            "page open.",
            icon=":material/hourglass_top:",
        )

    try:
        with CheckSlots(limits.checks, limits.slots).take(
            wait_seconds=limits.wait_seconds, on_wait=say_busy
        ):
            waiting.empty()
            with st.spinner(f"Checking {_markdown_text(name)} ..."):
                return provenance.check_bytes_isolated(
                    data,
                    name=name,
                    options=options,
                    timeout=limits.timeout,
                    memory_mb=limits.memory_mb,
                )
    except BusyError as exc:
        waiting.empty()
        st.error(f"The checker is too busy: {exc}. Try again in a few minutes.")
    except provenance.ProvenanceError as exc:  # the worker process could not start
        waiting.empty()
        st.error(f"The check could not run: {_markdown_text(str(exc))}")
    return None


main()
