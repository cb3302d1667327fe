"""What ``provenance scan`` does around :func:`~provenance.batch.engine.scan`: resume, live
progress, the summary table and the output files. Kept out of :mod:`provenance.cli` so the
command-line module stays a thin layer of options.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from provenance.batch.engine import ScanOptions, scan
from provenance.batch.settings import ScanSettings, lists_as_tuples
from provenance.batch.store import ResultStore
from provenance.batch.walk import WalkOptions, read_path_list
from provenance.render.text import verdict_style
from provenance.report import Report, VerdictCode
from provenance.watermark.options import key_fingerprint

__all__ = ["ScanRequest", "run_scan"]


@dataclass(frozen=True)
class ScanRequest:
    """The ``scan`` command's options, parsed: what to scan, how, and where to report it.

    On ``resume`` the paths, walk (``options.walk``) and settings come from the store instead
    (the keys are still taken from ``settings``: they are never stored).
    """

    paths: list[str]
    from_file: str | None
    settings: ScanSettings
    options: ScanOptions
    resume: bool = False
    jsonl: Path | None = None
    csv: Path | None = None
    html: Path | None = None
    progress: bool = True


def _resumed(
    request: ScanRequest,
) -> tuple[list[str], WalkOptions, ScanSettings]:
    """The paths, walk and settings of the store's last interrupted scan."""
    store_path = request.options.store
    if store_path is None:
        raise ValueError("--resume needs a results store (drop --no-store)")
    if request.paths or request.from_file:
        raise ValueError("give either paths to scan or --resume, not both")
    if not store_path.is_file():
        raise ValueError(f"{store_path}: no results store to resume from (see --store)")
    with ResultStore(store_path) as store:
        record = store.last_unfinished()
    if record is None:
        raise ValueError(f"{store_path}: every recorded scan finished; nothing to resume")
    public = dict(record.settings_public)
    wanted_keys = sorted(public.pop("keys", []))
    given = request.settings.keys
    if sorted(key_fingerprint(key) for key in given) != wanted_keys:
        raise ValueError(
            f"the interrupted scan used {len(wanted_keys)} keyed-mark key(s) "
            f"({', '.join(wanted_keys) or 'none'}); give the same keys with --key-file"
        )
    settings = ScanSettings.from_dict({**public, "keys": list(given)})
    recorded: dict[str, Any] = record.inputs.get("walk", {})
    walk = WalkOptions(**lists_as_tuples(recorded))
    return list(record.inputs.get("paths", [])), walk, settings


def run_scan(request: ScanRequest, *, stdout: Console, stderr: Console) -> list[Report]:
    """Run the scan the request describes; print progress and a summary; write the outputs."""
    if request.resume:
        paths, walk, settings = _resumed(request)
    else:
        paths = list(request.paths)
        if request.from_file == "-":
            paths += list(read_path_list(sys.stdin))
        elif request.from_file is not None:
            with open(request.from_file, encoding="utf-8") as listing:
                paths += list(read_path_list(listing))
        if not paths:
            raise ValueError("nothing to scan: give files or folders, --from FILE, or --resume")
        walk, settings = request.options.walk, request.settings
    options = dataclasses.replace(request.options, walk=walk)
    inputs = {"paths": paths, "walk": dataclasses.asdict(walk)}
    started = time.monotonic()
    reports: list[Report] = []
    counts: Counter[VerdictCode] = Counter()
    stopped: Counter[str] = Counter()
    cached = 0
    show = request.progress and stderr.is_terminal
    bar = Progress(
        TextColumn("[bold]scan"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr,
        disable=not show,
        transient=False,
    )
    with bar:
        task: TaskID = bar.add_task("scan", total=None, counts="walking...")

        def planned(total: int) -> None:
            bar.update(task, total=total, counts="")

        for item in scan(paths, settings, options, inputs=inputs, on_planned=planned):
            reports.append(item.report)
            counts[item.report.verdict.code] += 1
            cached += item.cached
            if item.stopped:
                stopped[item.stopped] += 1
            bar.update(task, advance=1, counts=_counts_text(counts))
    reports.sort(key=lambda report: report.path)
    elapsed = time.monotonic() - started
    facts: dict[str, Any] = {
        "files": len(reports),
        "checked": len(reports) - cached,
        "from the store": cached,
        "seconds": round(elapsed, 1),
        "engine": options.engine.value,
    }
    written = _write_outputs(request, reports, facts)
    _summary(stdout, counts, facts, stopped, written)
    return reports


def _counts_text(counts: Counter[VerdictCode]) -> str:
    return " ".join(f"{code.value} {count}" for code, count in counts.most_common())


def _write_outputs(request: ScanRequest, reports: list[Report], facts: dict[str, Any]) -> list[str]:
    from provenance.batch.outputs import write_csv, write_html, write_jsonl

    written = []
    if request.jsonl is not None:
        write_jsonl(request.jsonl, reports)
        written.append(f"JSON Lines {request.jsonl}")
    if request.csv is not None:
        write_csv(request.csv, reports)
        written.append(f"CSV {request.csv}")
    if request.html is not None:
        write_html(request.html, reports, facts)
        written.append(f"HTML {request.html}")
    return written


def _summary(
    console: Console,
    counts: Counter[VerdictCode],
    facts: dict[str, Any],
    stopped: Counter[str],
    written: list[str],
) -> None:
    table = Table(title="Scan summary", header_style="bold")
    table.add_column("Verdict")
    table.add_column("Files", justify="right")
    for code in VerdictCode:
        if counts.get(code):
            table.add_row(Text(code.value, style=verdict_style(code)), str(counts[code]))
    console.print(table)
    line = (
        f"{facts['files']} files: {facts['checked']} checked, {facts['from the store']} "
        f"unchanged (from the store), in {facts['seconds']} s"
    )
    if stopped:
        line += "; stopped: " + ", ".join(f"{n} {why}" for why, n in sorted(stopped.items()))
    console.print(line)
    for entry in written:
        console.print(f"wrote {entry}")
    console.print(
        "Absence of a signal never means authentic: no_signal only says nothing was found."
    )
