"""The scan's HTML report (``provenance scan --html``): counts per verdict label, a sortable and
filterable table, and each file's evidence lines; self-contained and offline.

A file carries every label whose rule matched (``verdict.labels``, the primary verdict first);
a count says how many files carry its label and filters the table to them. Paths are shown
relative to the scanned folder they were found under, the full path on hover. Every value from
a report is escaped, attributes included.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from provenance.render.html_parts import ITEM_STYLE, detail_items, document_head
from provenance.render.html_parts import escape as _e
from provenance.render.look import family_look
from provenance.render.rows import (
    ai_declaration_cell,
    credentials_cell,
    signer_cell,
    watermark_cell,
    without_file_name,
)
from provenance.report import Report, VerdictCode, printable
from provenance.verdict import NO_SIGNAL_CAVEAT

__all__ = ["render_html"]

#: Characters of an error reason shown in the row (the whole reason is in its title).
REASON_CHARACTERS = 160
#: Scanned folders named in the header before "and N more".
FOLDERS_SHOWN = 3

_STYLE = (
    """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#111}
h1{font-size:20px;margin:0 0 4px}.meta{color:#555;margin-bottom:8px}
.folder{margin-bottom:8px;overflow-wrap:anywhere}.folder code{font-size:13px}
.counts{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.count{border:1px solid #ddd;border-radius:6px;padding:6px 10px;cursor:pointer;background:#fff;
 font:inherit;color:#111;text-align:left}
.count.on{outline:2px solid #111}.count b{font-size:16px;margin:0 6px 0 4px}
.count .icon{font-size:15px}.count small{color:#555;margin-left:6px}
.tools{display:flex;flex-wrap:wrap;align-items:center;gap:12px}
input{padding:6px 8px;width:320px;max-width:100%;box-sizing:border-box;border:1px solid #bbb;
 border-radius:4px}
#shown{color:#333}
table{border-collapse:collapse;width:100%;margin-top:12px;table-layout:fixed}
th,td{border-bottom:1px solid #eee;padding:6px 8px;text-align:left;vertical-align:top;
 overflow-wrap:anywhere}
th{cursor:pointer;background:#f6f6f6;position:sticky;top:0;user-select:none}
th.asc:after{content:" \\25B2"}th.desc:after{content:" \\25BC"}
.col-file{width:29%}.col-verdict{width:17%}.col-credentials{width:12%}.col-ai{width:10%}
.col-signer{width:13%}.col-watermark{width:12%}.col-seconds{width:7%}
tr.file{cursor:pointer}tr.file:hover{background:#fafafa}
.verdict{font-weight:600}.also{display:block;font-weight:400;font-size:12px}
.path{word-break:break-all}
.reason{display:block;word-break:normal;color:#92400e;font-size:12px;margin-top:2px}
tr.detail td{background:#fbfbfb;padding:8px 24px}tr.detail ul{margin:0;padding-left:18px}
li.detail{list-style:none;margin-left:12px}.note-top{color:#555;margin:8px 0}
@media (max-width:1000px){
 body{margin:12px}.col-seconds{display:none}th,td{padding:5px 6px}
 tr.detail td{padding:8px 10px}
}
"""
    + ITEM_STYLE
)

_SCRIPT = """
(function(){
const table=document.getElementById('files');const body=table.tBodies[0];
const rows=()=>Array.from(body.querySelectorAll('tr.file'));
const shown=document.getElementById('shown');const total=rows().length;
let active=null;const search=document.getElementById('search');
function apply(){const q=search.value.toLowerCase();let n=0;
 for(const r of rows()){const d=r.nextElementSibling;
  const labelled=!active||r.dataset.labels.split(' ').includes(active);
  const text=(r.dataset.path+' '+r.textContent).toLowerCase();
  const ok=labelled&&(!q||text.includes(q));
  r.hidden=!ok;if(!ok)d.hidden=true;if(ok)n++;}
 shown.textContent=n+' of '+total+(total===1?' file':' files');}
search.addEventListener('input',apply);
for(const c of document.querySelectorAll('.count')){c.addEventListener('click',()=>{
 active=active===c.dataset.label?null:c.dataset.label;
 for(const o of document.querySelectorAll('.count')){const on=o.dataset.label===active;
  o.classList.toggle('on',on);o.setAttribute('aria-pressed',on?'true':'false');}
 apply();});}
for(const r of rows()){r.addEventListener('click',()=>{const d=r.nextElementSibling;d.hidden=!d.hidden;});}
const heads=table.tHead.rows[0].cells;
for(let i=0;i<heads.length;i++){heads[i].addEventListener('click',()=>{
 const asc=!heads[i].classList.contains('asc');
 for(const h of heads)h.classList.remove('asc','desc');heads[i].classList.add(asc?'asc':'desc');
 const pairs=rows().map(r=>[r,r.nextElementSibling]);
 const key=r=>r.cells[i].dataset.sort||r.cells[i].textContent;
 pairs.sort((a,b)=>{const x=key(a[0]),y=key(b[0]);const n=parseFloat(x)-parseFloat(y);
  const c=isNaN(n)?x.localeCompare(y):n;return asc?c:-c;});
 for(const [r,d] of pairs){body.appendChild(r);body.appendChild(d);}});}
})();
"""


def labels_of(report: Report) -> tuple[VerdictCode, ...]:
    """Every label the file carries, the primary verdict first (also for reports that
    recorded no labels)."""
    code = report.verdict.code
    return (code, *(label for label in report.verdict.labels if label is not code))


def scanned_folders(paths: Sequence[str], roots: Sequence[str] | None) -> list[str]:
    """The folders paths are shown relative to: each root (a root that is one of the paths,
    a file given by name, stands for its folder), or without roots the folder all the paths
    are in. Normalised, without duplicates, in the order given."""
    normal = {os.path.normpath(path) for path in paths}
    if roots is None:
        parents = [os.path.dirname(path) for path in normal]
        try:
            common = os.path.commonpath(parents) if parents else ""
        except ValueError:  # absolute and relative paths mixed: no folder holds them all
            common = ""
        return [common] if common else []
    folders: dict[str, None] = {}  # (ordered, without duplicates)
    for root in roots:
        folder = os.path.normpath(printable(root))  # as the reports' paths show it
        if folder in normal:
            folder = os.path.dirname(folder)
        if folder and folder != ".":
            folders[folder] = None
    return list(folders)


def relative_path(path: str, folders: AbstractSet[str]) -> str:
    """The path's shortest form below one of the folders, or the path as it is."""
    normal = os.path.normpath(path)
    parent = os.path.dirname(normal)
    while parent:  # up from the file's own folder: the deepest folder given wins
        if parent in folders:
            return normal[len(parent) :].lstrip(os.sep)
        above = os.path.dirname(parent)
        if above == parent:
            break
        parent = above
    return path


def problem(report: Report) -> tuple[str, str] | None:
    """Why the file could not be (fully) checked, as (the reason in the row, the whole
    reason), or None: the first error's message, or an error or unsupported verdict's reason."""
    if report.errors:
        first = report.errors[0]
        whole = f"{first.stage}/{first.code}: {first.message}"
        message = first.message
        if len(report.errors) > 1:
            more = len(report.errors) - 1
            message += f" (and {more} more)"
            whole += "\n" + "\n".join(
                f"{error.stage}/{error.code}: {error.message}" for error in report.errors[1:]
            )
    elif report.verdict.code in (VerdictCode.ERROR, VerdictCode.UNSUPPORTED):
        reasons = report.verdict.reasons
        message = whole = reasons[0] if reasons else report.verdict.summary
    else:
        return None
    message = without_file_name(report, message)  # the row already names the file
    if len(message) > REASON_CHARACTERS:
        message = message[: REASON_CHARACTERS - 1].rstrip() + "…"
    return message, whole


def _code(code: VerdictCode) -> str:
    """The code, escaped, free to wrap after its underscores (never inside a word)."""
    return "_<wbr>".join(_e(part) for part in code.value.split("_"))


def _mark(code: VerdictCode) -> str:
    look = family_look(code)
    return (
        f'<span class="icon" role="img" aria-label="{_e(look.name)}" '
        f'title="{_e(look.name)}">{_e(look.icon)}</span>'
    )


def _chips(reports: Sequence[Report]) -> str:
    carrying = Counter(label for report in reports for label in labels_of(report))
    primary = Counter(report.verdict.code for report in reports)
    chips = []
    for code in VerdictCode:
        if not carrying[code]:
            continue
        files = "file carries" if carrying[code] == 1 else "files carry"
        as_verdict = f"{primary[code]} as verdict"
        chips.append(
            f'<button type="button" class="count" data-label="{_e(code.value)}" '
            f'aria-pressed="false" style="color:{family_look(code).colour}" '
            f'title="{carrying[code]} {files} this label; {as_verdict}">'
            f"{_mark(code)}<b>{carrying[code]}</b>{_e(code.value)}"
            + (f"<small>{_e(as_verdict)}</small>" if primary[code] != carrying[code] else "")
            + "</button>"
        )
    return '<div class="counts">' + "".join(chips) + "</div>"


def _folder_line(folders: Sequence[str]) -> str:
    if not folders:
        return ""
    shown = ", ".join(f"<code>{_e(folder)}</code>" for folder in folders[:FOLDERS_SHOWN])
    more = len(folders) - FOLDERS_SHOWN
    word = "Scanned folder" if len(folders) == 1 else "Scanned folders"
    return (
        f'<div class="folder">{word}: {shown}'
        + (f" and {more} more" if more > 0 else "")
        + " (paths below are relative to it; hover a path for the whole of it)</div>"
    )


def _row(report: Report, folders: AbstractSet[str]) -> str:
    code = report.verdict.code
    labels = labels_of(report)
    shown = relative_path(report.path, folders)
    trouble = problem(report)
    reason = (
        f'<span class="reason" title="{_e(trouble[1])}">{_e(trouble[0])}</span>' if trouble else ""
    )
    also = "".join(
        f'<span class="also" style="color:{family_look(label).colour}">+ {_mark(label)} '
        f"{_code(label)}</span>"
        for label in labels[1:]
    )
    return (
        f'<tr class="file" data-verdict="{_e(code.value)}" '
        f'data-labels="{_e(" ".join(label.value for label in labels))}" '
        f'data-path="{_e(report.path)}">'
        f'<td class="path" data-sort="{_e(shown)}"><span class="name" title="{_e(report.path)}">'
        f"{_e(shown)}</span>{reason}</td>"
        f'<td class="verdict" data-sort="{_e(code.value)}" style="color:{family_look(code).colour}">'
        f'{_mark(code)} <span class="code">{_code(code)}</span>{also}</td>'
        f"<td>{_e(credentials_cell(report))}</td>"
        f"<td>{_e(ai_declaration_cell(report))}</td>"
        f"<td>{_e(signer_cell(report))}</td>"
        f"<td>{_e(watermark_cell(report))}</td>"
        f'<td class="col-seconds" data-sort="{report.elapsed_seconds:.6f}">'
        f"{report.elapsed_seconds:.2f}</td></tr>"
    )


def render_html(
    reports: Sequence[Report],
    *,
    facts: Mapping[str, Any] | None = None,
    roots: Sequence[str] | None = None,
) -> str:
    """The HTML document for these reports; ``facts`` are shown under the title.

    ``roots`` are the files and folders the scan was given: each path is shown relative to
    the root it was found under (the full path on hover). Without roots, paths are shown
    relative to the folder that holds them all.
    """
    folders = scanned_folders([report.path for report in reports], roots)
    parts = document_head("provenance-checker scan", _STYLE)
    if facts:
        parts.append(
            '<div class="meta">'
            + " &middot; ".join(f"{_e(k)}: {_e(v)}" for k, v in facts.items())
            + "</div>"
        )
    parts.append(_folder_line(folders))
    parts.append(
        f'<p class="note-top">{_e(NO_SIGNAL_CAVEAT)} A count is the files carrying that label '
        "(a file can carry several; the first is its verdict): click it to filter. Click a row "
        "for its evidence, a column to sort.</p>"
    )
    parts.append(_chips(reports))
    total = len(reports)
    counter = f"{total} of {total} {'file' if total == 1 else 'files'}"
    parts.append(
        '<div class="tools"><input id="search" type="search" placeholder="Filter files" '
        f'aria-label="Filter files"><span id="shown" aria-live="polite">{counter}</span></div>'
    )
    parts.append(
        '<table id="files"><thead><tr><th class="col-file">File</th>'
        '<th class="col-verdict">Verdict</th><th class="col-credentials">Credentials</th>'
        '<th class="col-ai">AI declared</th><th class="col-signer">Signer</th>'
        '<th class="col-watermark">Watermark</th><th class="col-seconds">Seconds</th>'
        "</tr></thead><tbody>"
    )
    below = frozenset(folders)
    for report in reports:
        parts.append(_row(report, below))
        parts.append(
            '<tr class="detail" hidden><td colspan="7">'
            f"<p><b>{_e(report.verdict.summary)}</b></p><ul>{detail_items(report)}</ul>"
            f'<p class="meta">{_e(report.path)} &middot; sha256 {_e(report.sha256)} &middot; '
            f"checked {_e(report.checked_at)} &middot; provenance-checker "
            f"{_e(report.tool_version)}</p></td></tr>"
        )
    parts.append("</tbody></table>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"
