"""The evidence report: the full evidence of one or a few files, self-contained, readable
offline and safe to mail around (``provenance check --html`` and the web page's download):
verdict, hashes, credentials in detail, watermark figures with a per-frame chart, pictures,
trust snapshot and versions. No network assets; every value from a report is escaped.

The scan's many-file report is :func:`provenance.render.scan_html.render_html`, re-exported
here.
"""

from __future__ import annotations

from collections.abc import Sequence

from provenance.errors import ArgumentError
from provenance.render.html_parts import ITEM_STYLE, detail_items, document_head, table_html
from provenance.render.html_parts import escape as _e
from provenance.render.look import banner_html
from provenance.render.rows import (
    action_rows,
    credentials_rows,
    ingredient_tree,
    media_rows,
    recovered_rows,
    strongest_frame_caption,
    trust_lines,
    validation_rows,
    version_rows,
    watermark_name,
)
from provenance.render.scan_html import render_html
from provenance.render.words import (
    frame_scores,
    notices,
    watermark_figures,
    watermark_title,
    watermark_words,
)
from provenance.report import MediaKind, Report, WatermarkEvidence, WatermarkState

__all__ = ["render_evidence_html", "render_html", "score_chart_svg"]

# --------------------------------------------------------------------------- evidence report

_EVIDENCE_STYLE = (
    """
body{font:14px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1100px;padding:0 16px;color:#111}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#555}
.notice{background:#fff8e1;border:1px solid #f0d890;padding:8px 12px;border-radius:4px}
.strip{display:flex;gap:8px;flex-wrap:wrap}.strip img{max-width:160px}
.strip figure:only-child img{max-width:480px}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid #eee;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.k{width:200px;color:#555}code{word-break:break-all}
.tree{list-style:none;padding-left:0}.tree li{margin:2px 0}
tr.failure td:first-child{color:#b00020;font-weight:600}
.pictures{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
figure{margin:0}figcaption{color:#555;font-size:12px}img{max-width:480px;border:1px solid #ddd}
svg{background:#fff;border:1px solid #eee}.detected{color:#b00020;font-weight:600}
"""
    + ITEM_STYLE
)


def _pairs(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f'<tr><td class="k">{_e(k)}</td><td>{_e(v)}</td></tr>' for k, v in rows)
    return f"<table>{cells}</table>"


def _image(uri: str | None, caption: str) -> str:
    # only data: URIs are embedded: the report never points at anything outside itself
    if not uri or not uri.startswith("data:image/"):
        return ""
    return f'<figure><img src="{_e(uri)}" alt="{_e(caption)}"><figcaption>{_e(caption)}</figcaption></figure>'


def score_chart_svg(mark: WatermarkEvidence, *, width: int = 640, height: int = 180) -> str:
    """An inline SVG of the per-frame scores over time with the threshold; empty when there
    are fewer than two frames."""
    points = list(mark.frames)
    if len(points) < 2:
        return ""
    timed = all(f.time_seconds is not None for f in points)
    xs = [
        float(f.time_seconds) if timed and f.time_seconds is not None else float(f.index)
        for f in points
    ]
    ys = [f.statistic for f in points]
    top = max(*ys, mark.threshold or 0.0) * 1.1 or 1.0
    bottom = min(0.0, min(ys))
    left, right, pad = 44, 12, 20
    span = (max(xs) - min(xs)) or 1.0

    def sx(x: float) -> float:
        return left + (x - min(xs)) / span * (width - left - right)

    def sy(y: float) -> float:
        return pad + (top - y) / (top - bottom) * (height - 2 * pad)

    line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
    if timed:
        first, last = f"{min(xs):.2f}", f"{max(xs):.2f} s"
    else:
        first, last = f"{min(xs):.0f}", f"frame {max(xs):.0f}"
    parts = [
        f'<svg role="img" aria-label="{_e(watermark_name(mark))} score per frame" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{sy(bottom):.1f}" x2="{width - right}" y2="{sy(bottom):.1f}" stroke="#999"/>',
        f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{sy(bottom):.1f}" stroke="#999"/>',
        f'<text x="4" y="{pad + 4}" font-size="11">z {top:.0f}</text>',
        f'<text x="4" y="{sy(bottom):.1f}" font-size="11">{bottom:.0f}</text>',
        f'<text x="{width - right}" y="{height - 4}" font-size="11" text-anchor="end">'
        f"{last}</text>",
        f'<text x="{left}" y="{height - 4}" font-size="11">{first}</text>',
    ]
    if mark.threshold is not None:
        y = sy(mark.threshold)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            'stroke="#b00020" stroke-dasharray="5,4"/>'
            f'<text x="{width - right}" y="{y - 4:.1f}" font-size="11" fill="#b00020" '
            f'text-anchor="end">threshold {mark.threshold:.1f}</text>'
        )
    parts.append(f'<polyline fill="none" stroke="#1f4e8c" stroke-width="1.5" points="{line}"/>')
    strongest = mark.strongest_frame
    for x, y, frame in zip(xs, ys, points, strict=True):
        fill = "#b00020" if strongest is not None and frame.index == strongest.index else "#1f4e8c"
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{fill}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _watermark_section(mark: WatermarkEvidence, kind: MediaKind | None) -> str:
    rows = watermark_figures(mark)
    caption = strongest_frame_caption(mark)
    detected = mark.state is WatermarkState.DETECTED
    # a picture of the "strongest" frame suggests a finding: only when there is one
    # (and an image is shown above: its strongest "frame" is itself)
    strongest = mark.strongest_frame if detected and kind is not MediaKind.IMAGE else None
    pictures = _image(strongest.preview if strongest else None, caption)
    chart = score_chart_svg(mark)
    parts = [
        f'<h3 class="{"detected" if detected else ""}">{_e(watermark_title(mark))}</h3>',
        f"<p>{_e(watermark_words(mark, kind))}</p>",
        _pairs(rows),
    ]
    if chart or pictures:
        figure = (
            f"<figure>{chart}<figcaption>Each sampled frame's z over time; the dashed line "
            "is the file's threshold.</figcaption></figure>"
            if chart
            else ""
        )
        parts.append(f'<div class="pictures">{figure}{pictures}</div>')
    if caption and not pictures:
        parts.append(f"<p>{_e(caption)}</p>")
    marked = [s for s in mark.segments if s.detected]
    if marked:
        spans = ", ".join(f"{s.start_seconds:g}-{s.end_seconds:g} s" for s in marked)
        parts.append(f"<p>Segments carrying the mark: {_e(spans)}</p>")
    return "".join(parts)


def _credentials_section(report: Report) -> str:
    c = report.credentials
    rows = credentials_rows(report)
    if c.message:
        rows.append(("Notes", c.message))
    parts = ["<h2>Content Credentials</h2>", '<div class="pictures"><div>', _pairs(rows), "</div>"]
    parts.append(_image(c.thumbnail_data, "Thumbnail stored in the credentials") + "</div>")
    if c.history:
        tree = "".join(
            f'<li style="margin-left:{depth * 20}px">{_e(text)}</li>'
            for depth, text in ingredient_tree(report)
        )
        parts += [
            "<h3>Actions</h3>",
            table_html(action_rows(report)),
            "<h3>History and ingredients</h3>",
            f'<ul class="tree">{tree}</ul>',
        ]
    if c.validation_codes:
        parts += [
            "<h3>Validation codes</h3>",
            table_html(validation_rows(report), row_class="result"),
        ]
    if c.soft_bindings:
        bindings = [
            {"algorithm": b.algorithm, "manifest": b.manifest_label} for b in c.soft_bindings
        ]
        parts += ["<h3>Soft bindings (referenced, not decoded)</h3>", table_html(bindings)]
    return "".join(parts)


def _strip(report: Report) -> str:
    """The file itself: the image, or pictures of frames read with each detector's score."""
    figures = []
    for picture in report.frame_pictures:
        when = f"{picture.time_seconds:.2f} s" if picture.time_seconds is not None else "the image"
        kind = f" ({picture.picture_type})" if picture.picture_type else ""
        scores = " · ".join(f"{name} z {z:.1f}" for name, z in frame_scores(report, picture))
        figures.append(_image(picture.preview, when + kind + (f" · {scores}" if scores else "")))
    if not figures:
        return ""
    title = "The image" if len(figures) == 1 else "Frames read"
    return f'<h2>{title}</h2><div class="strip">{"".join(figures)}</div>'


def _evidence_body(report: Report) -> str:
    notes = "".join(f'<p class="notice">&#9888; {_e(text)}</p>' for text in notices(report))
    parts = [
        banner_html(report),
        notes,
        _strip(report),
        f"<h2>Evidence</h2><ul>{detail_items(report)}</ul>",
        "<h2>File and hashes</h2>",
        _pairs(media_rows(report)),
        _credentials_section(report),
        "<h2>Watermarks</h2>",
    ]
    if report.watermarks:
        kind = report.media.kind if report.media is not None else None
        parts += [_watermark_section(mark, kind) for mark in report.watermarks]
    else:
        parts.append("<p>Not checked.</p>")
    if report.recovered:
        parts.append("<h2>Recovered credentials</h2>")
        parts += [_pairs(recovered_rows(entry)) for entry in report.recovered]
    parts += [
        "<h2>Trust snapshot</h2><ul>",
        "".join(f"<li>{_e(line)}</li>" for line in trust_lines(report)),
        "</ul><h2>Versions</h2>",
        _pairs(version_rows(report)),
    ]
    return "".join(parts)


def render_evidence_html(reports: Sequence[Report]) -> str:
    """A self-contained evidence report, one section per file: verdict and caveats, evidence,
    hashes, Content Credentials (actions, history, validation codes, thumbnail), watermarks
    (figures, per-frame chart, strongest frame), trust snapshot and versions.

    Pictures are embedded as ``data:`` URIs when the reports carry them (checked with
    ``CheckOptions(previews=True)``); nothing else is referenced.
    """
    if not reports:
        raise ArgumentError("render_evidence_html needs at least one report")
    heading = f"Evidence report: {reports[0].path}" if len(reports) == 1 else "Evidence report"
    parts = [
        *document_head(heading, _EVIDENCE_STYLE),
        f'<p class="meta">provenance-checker {_e(reports[0].tool_version)} &middot; '
        f"{len(reports)} file{'s' if len(reports) != 1 else ''}</p>",
    ]
    for report in reports:
        if len(reports) > 1:
            parts.append(f"<h1>{_e(report.path)}</h1>")
        parts.append(f"<section>{_evidence_body(report)}</section>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
