"""``provenance scan``: many files in parallel, resumable, with progress and report files."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from provenance.batch.scan_options import Engine, ScanOptions, usable_cpus
from provenance.batch.walk import WalkOptions, read_path_list
from provenance.cli.check_options import with_check_options
from provenance.cli.common import (
    EXIT_INTERRUPTED,
    FailOnOption,
    exit_code,
    fail,
    parse_fail_on,
    stderr_console,
    stdout_console,
)
from provenance.errors import ProvenanceError
from provenance.options import CheckOptions
from provenance.render.machine import to_jsonl
from provenance.render.text import terminal_text
from provenance.report import Report, VerdictCode

__all__ = ["scan_command"]


@with_check_options
def scan_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files and folders to scan; folders are walked recursively.",
            metavar="PATH",
            show_default=False,
            readable=False,
        ),
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Also scan the paths listed in this file, one per line ('-' reads standard input; blank lines and # comments are skipped).",
        ),
    ] = None,
    include: Annotated[
        list[str],
        typer.Option(
            "--include",
            help="Only scan files whose path below the folder, or name, matches this shell pattern (repeatable), e.g. '*.mp4' or 'clips/**'.",
        ),
    ] = [],  # noqa: B006 (typer reads the default; it is never mutated)
    exclude: Annotated[
        list[str],
        typer.Option(
            "--exclude",
            help="Skip files and folders matching this shell pattern (repeatable), e.g. '*.tmp' or 'proxies'.",
        ),
    ] = [],  # noqa: B006
    follow_links: Annotated[
        bool,
        typer.Option("--follow-links", help="Follow symbolic links to folders while walking."),
    ] = False,
    sniff: Annotated[
        bool,
        typer.Option(
            "--sniff/--no-sniff",
            help="Also scan files without a media suffix whose first bytes are media (--no-sniff: suffixes only).",
        ),
    ] = True,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", help="Worker processes (default: the number of CPUs).", min=1),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Seconds one file may take; a file over it gets an error record and the scan goes on (0: no limit).",
            min=0,
        ),
    ] = 900.0,
    memory_limit: Annotated[
        int,
        typer.Option(
            "--memory-limit",
            help="MiB of memory one worker may use; a file over it gets an error record and the scan goes on (0: no limit).",
            min=0,
        ),
    ] = 2048,
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            help="SQLite results store: unchanged files already checked with the same options are not checked again.",
            dir_okay=False,
        ),
    ] = Path("provenance-scan.db"),
    no_store: Annotated[
        bool,
        typer.Option("--no-store", help="Keep no results store (every file is checked)."),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the store's last interrupted scan with its paths and options (give its keys again if it used any).",
        ),
    ] = False,
    rescan: Annotated[
        bool,
        typer.Option("--rescan", help="Check every file again, ignoring stored results."),
    ] = False,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors",
            help="Check again the files whose stored result is an error (time or memory limit, crash, unreadable).",
        ),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="local: worker processes on this machine; dask: a Dask cluster (--scheduler, or a LocalCluster); inline: in this process, no isolation (debugging).",
        ),
    ] = Engine.LOCAL,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --engine dask; workers must see the files at the same paths).",
        ),
    ] = None,
    jsonl_path: Annotated[
        Path | None,
        typer.Option(
            "--jsonl",
            help="Write one JSON report per line to this file ('-': stream them to standard "
            "output as files finish, the summary going to standard error).",
            dir_okay=False,
        ),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="Write one flat CSV row per file to this file.", dir_okay=False),
    ] = None,
    html_path: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write a self-contained HTML report (counts, sortable table, evidence per file).",
            dir_okay=False,
        ),
    ] = None,
    progress: Annotated[
        bool,
        typer.Option(
            "--progress/--no-progress",
            help="Show a live progress bar with counts per verdict (on a terminal only).",
        ),
    ] = True,
    fail_on: FailOnOption = [],  # noqa: B006
    *,
    options: CheckOptions,
) -> None:
    """Scan folders of clips and images in parallel: resumable, with progress and reports."""
    from provenance.batch.engine import interrupted_scan, scan
    from provenance.cli.scan_display import ScanProgress, interrupted_message, print_summary

    wanted = parse_fail_on(fail_on)
    walk = WalkOptions(
        include=tuple(include), exclude=tuple(exclude), follow_links=follow_links, sniff=sniff
    )
    try:
        how = ScanOptions(
            jobs=jobs or usable_cpus(),
            timeout=timeout or None,
            memory_mb=memory_limit or None,
            store=None if no_store else store,
            retry_errors=retry_errors,
            rescan=rescan,
            engine=engine,
            scheduler=scheduler,
            walk=walk,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    stderr = stderr_console()
    display = ScanProgress(stderr, show=progress)
    reports: list[Report] = []
    try:
        if resume:
            if how.store is None:
                fail("--resume needs a results store (drop --no-store)")
            if paths or from_file:
                fail("give either paths to scan or --resume, not both")
            _check_only_keys_given(options)
            interrupted = interrupted_scan(how.store, options.watermarks.keys)
            targets, options = interrupted.paths, interrupted.options
            how = dataclasses.replace(how, walk=interrupted.walk)
        else:
            missing = [str(path) for path in paths or [] if not os.path.lexists(path)]
            if missing:  # (paths in a --from list get their own error records instead)
                fail(
                    f"{', '.join(missing)}: no such file or folder "
                    "(check the path, and that the share is mounted)"
                )
            targets = [str(path) for path in paths or []] + _listed(from_file)
            if not targets:
                fail("nothing to scan: give files or folders, --from FILE, or --resume")
        started = time.monotonic()
        stopped: Counter[str] = Counter()
        cached = 0
        streaming = jsonl_path is not None and str(jsonl_path) == "-"
        with display.shown():
            for item in scan(targets, options, how, on_planned=display.planned):
                if streaming:
                    sys.stdout.write(to_jsonl([item.report]))
                    sys.stdout.flush()
                reports.append(item.report)
                cached += item.cached
                if item.stopped:
                    stopped[item.stopped] += 1
                display.done(item.report)
    except ProvenanceError as exc:
        fail(str(exc))
    except KeyboardInterrupt:  # Ctrl-C: say what is kept and how to go on
        keyed = bool(options.watermarks.keys)
        message = interrupted_message(len(reports), display.total, how.store, keyed)
        for line in message.splitlines():
            stderr.print(terminal_text(line))
        raise typer.Exit(EXIT_INTERRUPTED) from None
    reports.sort(key=lambda report: report.path)
    facts: dict[str, Any] = {
        "files": len(reports),
        "checked": len(reports) - cached,
        "from the store": cached,
        "seconds": round(time.monotonic() - started, 1),
        "engine": how.engine.value,
    }
    written = _write_outputs(
        reports,
        facts,
        targets,
        jsonl=None if streaming else jsonl_path,
        csv=csv_path,
        html=html_path,
    )
    summary = stderr if streaming else stdout_console()  # standard output holds the reports
    failed = [report for report in reports if report.verdict.code is VerdictCode.ERROR]
    print_summary(summary, display.counts, facts, stopped, written, failed)
    raise typer.Exit(exit_code(reports, wanted))


def _listed(from_file: str | None) -> list[str]:
    """The paths of a ``--from`` list (``-``: standard input)."""
    if from_file is None:
        return []
    if from_file == "-":
        return list(read_path_list(sys.stdin))
    try:
        with open(from_file, encoding="utf-8") as listing:
            return list(read_path_list(listing))
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{from_file}: cannot read the list of paths ({exc})")


def _check_only_keys_given(options: CheckOptions) -> None:
    """``--resume`` takes the interrupted scan's options: refuse other check options."""
    without_keys = dataclasses.replace(
        options, watermarks=dataclasses.replace(options.watermarks, keys=(), detectors=None)
    )
    if without_keys != CheckOptions():
        fail(
            "--resume continues the interrupted scan with its own options; give only its keys "
            "(--key-file) and how to run (--jobs, --timeout, outputs)"
        )


def _write_outputs(
    reports: list[Report],
    facts: dict[str, Any],
    targets: list[str],
    *,
    jsonl: Path | None,
    csv: Path | None,
    html: Path | None,
) -> list[str]:
    """Write the report files asked for; returns what was written, for the summary.
    ``targets``: the paths the scan was given (the interrupted scan's with --resume); the HTML
    report shows file paths relative to them."""
    from provenance.render.files import write_csv, write_html, write_jsonl

    written = []
    for kind, destination in (("JSON Lines", jsonl), ("CSV", csv), ("HTML", html)):
        if destination is None:
            continue
        try:
            if kind == "CSV":
                write_csv(destination, reports)
            elif kind == "HTML":
                write_html(destination, reports, facts, roots=targets)
            else:
                write_jsonl(destination, reports)
        except OSError as exc:
            fail(f"{destination}: cannot write the {kind} report ({exc.strerror or exc})")
        written.append(f"{kind} {destination}")
    return written
