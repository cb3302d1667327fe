"""The scan's HTML report (``provenance scan --html``): counts per verdict, a sortable and
filterable table, and each file's evidence lines; self-contained and offline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from provenance.render.html_parts import ITEM_STYLE, detail_items, document_head
from provenance.render.html_parts import escape as _e
from provenance.render.look import colour
from provenance.render.rows import (
    ai_declaration_cell,
    credentials_cell,
    signer_cell,
    watermark_cell,
)
from provenance.report import Report, VerdictCode
from provenance.verdict import NO_SIGNAL_CAVEAT

__all__ = ["render_html"]

_STYLE = (
    """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#111}
h1{font-size:20px;margin:0 0 4px}.meta{color:#555;margin-bottom:16px}
.counts{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.count{border:1px solid #ddd;border-radius:6px;padding:6px 10px;cursor:pointer;background:#fff}
.count.on{outline:2px solid #111}.count b{font-size:16px;margin-right:6px}
input{padding:6px 8px;width:320px;border:1px solid #bbb;border-radius:4px}
table{border-collapse:collapse;width:100%;margin-top:12px}
th,td{border-bottom:1px solid #eee;padding:6px 8px;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f6f6f6;position:sticky;top:0;user-select:none}
th.asc:after{content:" \\25B2"}th.desc:after{content:" \\25BC"}
tr.file{cursor:pointer}tr.file:hover{background:#fafafa}
.verdict{font-weight:600;white-space:nowrap}.path{word-break:break-all}
tr.detail td{background:#fbfbfb;padding:8px 24px}tr.detail ul{margin:0;padding-left:18px}
li.detail{list-style:none;margin-left:12px}.note-top{color:#555;margin:8px 0}
"""
    + ITEM_STYLE
)

_SCRIPT = """
(function(){
const table=document.getElementById('files');const body=table.tBodies[0];
const rows=()=>Array.from(body.querySelectorAll('tr.file'));
let active=null;const search=document.getElementById('search');
function apply(){const q=search.value.toLowerCase();
 for(const r of rows()){const d=r.nextElementSibling;
  const ok=(!active||r.dataset.verdict===active)&&(!q||r.textContent.toLowerCase().includes(q));
  r.hidden=!ok;if(!ok)d.hidden=true;}}
search.addEventListener('input',apply);
for(const c of document.querySelectorAll('.count')){c.addEventListener('click',()=>{
 active=active===c.dataset.verdict?null:c.dataset.verdict;
 for(const o of document.querySelectorAll('.count'))o.classList.toggle('on',o.dataset.verdict===active);
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


def render_html(reports: Sequence[Report], *, facts: Mapping[str, Any] | None = None) -> str:
    """The HTML document for these reports; ``facts`` are shown under the title."""
    counts = Counter(report.verdict.code for report in reports)
    parts = document_head("provenance-checker scan", _STYLE)
    if facts:
        parts.append(
            '<div class="meta">'
            + " &middot; ".join(f"{_e(k)}: {_e(v)}" for k, v in facts.items())
            + "</div>"
        )
    parts.append(
        f'<p class="note-top">{_e(NO_SIGNAL_CAVEAT)} Click a row for its evidence, a count to '
        "filter, a column to sort.</p>"
    )
    parts.append('<div class="counts">')
    for code in VerdictCode:
        if counts.get(code):
            parts.append(
                f'<div class="count" data-verdict="{_e(code.value)}">'
                f'<b style="color:{colour(code)}">{counts[code]}</b>{_e(code.value)}</div>'
            )
    parts.append(
        f'</div><input id="search" type="search" placeholder="Filter files" '
        f'aria-label="Filter files"> {len(reports)} files'
    )
    parts.append(
        '<table id="files"><thead><tr><th>File</th><th>Verdict</th><th>Credentials</th>'
        "<th>AI declared</th><th>Signer</th><th>Watermark</th><th>Seconds</th></tr></thead><tbody>"
    )
    for report in reports:
        code = report.verdict.code
        parts.append(
            f'<tr class="file" data-verdict="{_e(code.value)}">'
            f'<td class="path">{_e(report.path)}</td>'
            f'<td class="verdict" style="color:{colour(code)}">{_e(code.value)}</td>'
            f"<td>{_e(credentials_cell(report))}</td>"
            f"<td>{_e(ai_declaration_cell(report))}</td>"
            f"<td>{_e(signer_cell(report))}</td>"
            f"<td>{_e(watermark_cell(report))}</td>"
            f'<td data-sort="{report.elapsed_seconds:.6f}">{report.elapsed_seconds:.2f}</td></tr>'
        )
        parts.append(
            '<tr class="detail" hidden><td colspan="7">'
            f"<p><b>{_e(report.verdict.summary)}</b></p><ul>{detail_items(report)}</ul>"
            f'<p class="meta">sha256 {_e(report.sha256)} &middot; checked {_e(report.checked_at)}'
            f" &middot; provenance-checker {_e(report.tool_version)}</p></td></tr>"
        )
    parts.append("</tbody></table>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"
