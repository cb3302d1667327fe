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

from provenance.batch.scan_options import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    Engine,
    ReportFiles,
    ScanOptions,
    usable_cpus,
)
from provenance.batch.walk import WalkOptions, read_path_list
from provenance.cli.check_options import with_check_options
from provenance.cli.common import (
    EXIT_INTERRUPTED,
    FailOnOption,
    MemoryLimitOption,
    TimeoutOption,
    exit_code,
    fail,
    parse_fail_on,
    stderr_console,
    stdout_console,
)
from provenance.cli.help import INPUT, OUTPUT, SCAN
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
            metavar="FILE",
            rich_help_panel=INPUT,
            help="Also scan the paths listed in FILE, one per line ('-': standard input).",
        ),
    ] = None,
    include: Annotated[
        list[str],
        typer.Option(
            "--include",
            metavar="GLOB",
            rich_help_panel=INPUT,
            help="Only files whose path or name matches, e.g. '*.mp4' (repeatable).",
        ),
    ] = [],  # noqa: B006 (typer reads the default; it is never mutated)
    exclude: Annotated[
        list[str],
        typer.Option(
            "--exclude",
            metavar="GLOB",
            rich_help_panel=INPUT,
            help="Skip files and folders that match, e.g. '*.tmp' (repeatable).",
        ),
    ] = [],  # noqa: B006
    follow_links: Annotated[
        bool,
        typer.Option(
            "--follow-links", rich_help_panel=INPUT, help="Follow symbolic links to folders."
        ),
    ] = False,
    sniff: Annotated[
        bool,
        typer.Option(
            "--sniff/--no-sniff",
            rich_help_panel=INPUT,
            help="Also scan files without a media suffix that hold media.",
        ),
    ] = True,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            rich_help_panel=SCAN,
            help="Worker processes (default: the number of CPUs).",
            min=1,
        ),
    ] = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    memory_limit: MemoryLimitOption = DEFAULT_MEMORY_MB,
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            metavar="FILE",
            rich_help_panel=SCAN,
            help="Results store: unchanged files are not checked again.",
            dir_okay=False,
        ),
    ] = Path("provenance-scan.db"),
    no_store: Annotated[
        bool,
        typer.Option(
            "--no-store", rich_help_panel=SCAN, help="Keep no results store (check every file)."
        ),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            rich_help_panel=SCAN,
            help="Continue the store's interrupted scan (give its keys again).",
        ),
    ] = False,
    rescan: Annotated[
        bool,
        typer.Option(
            "--rescan", rich_help_panel=SCAN, help="Check every file again, ignoring the store."
        ),
    ] = False,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors",
            rich_help_panel=SCAN,
            help="Check again the files whose stored result is an error.",
        ),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            metavar="local|dask|inline",
            rich_help_panel=SCAN,
            help="Workers here, a Dask cluster, or this process (debugging).",
        ),
    ] = Engine.LOCAL,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            rich_help_panel=SCAN,
            help="Dask scheduler for --engine dask, e.g. tcp://10.0.0.5:8786.",
        ),
    ] = None,
    jsonl_path: Annotated[
        Path | None,
        typer.Option(
            "--jsonl",
            metavar="FILE",
            rich_help_panel=OUTPUT,
            help="Write one JSON report per line ('-': stream to standard output).",
            dir_okay=False,
        ),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            rich_help_panel=OUTPUT,
            help="Write one CSV row per file.",
            dir_okay=False,
        ),
    ] = None,
    html_path: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            rich_help_panel=OUTPUT,
            help="Write a self-contained HTML report.",
            dir_okay=False,
        ),
    ] = None,
    no_reports: Annotated[
        bool,
        typer.Option(
            "--no-reports",
            rich_help_panel=OUTPUT,
            help="With --resume: skip the reports the interrupted scan named.",
        ),
    ] = False,
    progress: Annotated[
        bool,
        typer.Option(
            "--progress/--no-progress",
            rich_help_panel=OUTPUT,
            help="Show live progress and counts (on a terminal).",
        ),
    ] = True,
    fail_on: FailOnOption = [],  # noqa: B006
    *,
    options: CheckOptions,
) -> None:
    """Scan folders of clips and images in parallel: resumable, with progress and reports.

    Each file is checked in its own worker process; a file past --timeout or --memory-limit
    gets an error record and the scan goes on. Results are kept in the store as they arrive,
    so --resume continues an interrupted scan and writes the reports it named. With --engine dask, the workers must see the
    files at the same paths. The check options work as in 'provenance check'.
    """
    from provenance.batch.engine import interrupted_scan, scan
    from provenance.cli.scan_display import ScanProgress, interrupted_message, print_summary

    wanted = parse_fail_on(fail_on)
    walk = WalkOptions(
        include=tuple(include), exclude=tuple(exclude), follow_links=follow_links, sniff=sniff
    )
    if no_reports and (html_path or csv_path or jsonl_path):
        fail("give either --no-reports or report files (--html, --csv, --jsonl), not both")
    try:
        given = ReportFiles(html=_named(html_path), csv=_named(csv_path), jsonl=_named(jsonl_path))
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
            reports=given,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    stderr = stderr_console()
    display = ScanProgress(stderr, show=progress)
    reports: list[Report] = []
    stored_reports = False  # writing the reports the interrupted command named
    try:
        if resume:
            if how.store is None:
                fail("--resume needs a results store (drop --no-store)")
            if paths or from_file:
                fail("give either paths to scan or --resume, not both")
            _check_only_keys_given(options)
            interrupted = interrupted_scan(how.store, options.watermarks.keys)
            targets, options = interrupted.paths, interrupted.options
            # the interrupted command's reports, unless this one names its own or none
            stored_reports = not (given or no_reports)
            chosen = interrupted.reports if stored_reports else given
            how = dataclasses.replace(how, walk=interrupted.walk, reports=chosen)
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
        streaming = how.reports.jsonl == "-"
        # the files as this command named them (the summary shows them so), else the stored
        # ones, absolute
        named = {"html": html_path, "csv": csv_path, "jsonl": jsonl_path}
        outputs = {
            kind: Path(path) if stored_reports else named[kind]
            for kind, path in how.reports.to_dict().items()
            if path is not None
        }
        with display.shown():
            for item in scan(
                targets, options, how, on_planned=display.planned, on_wait=_say_waiting
            ):
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
        message = interrupted_message(
            len(reports), display.total, how.store, keyed, _kinds(how.reports)
        )
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
    written, unwritten = _write_outputs(
        reports,
        facts,
        targets,
        jsonl=None if streaming else outputs.get("jsonl"),
        csv=outputs.get("csv"),
        html=outputs.get("html"),
    )
    summary = stderr if streaming else stdout_console()  # standard output holds the reports
    failed = [report for report in reports if report.verdict.code is VerdictCode.ERROR]
    print_summary(summary, display.counts, facts, stopped, written, failed)
    for message in unwritten[:-1]:
        stderr_console().print(terminal_text(f"error: {message}"))
    if unwritten:
        fail(unwritten[-1])
    raise typer.Exit(exit_code(reports, wanted))


def _named(path: Path | None) -> str | None:
    """A report option as given (``-`` stays ``-``; typer would make ``Path('-')``)."""
    return None if path is None else str(path)


def _kinds(reports: ReportFiles) -> list[str]:
    """The kinds of report files named (for the Ctrl-C message)."""
    named = (("HTML", reports.html), ("CSV", reports.csv), ("JSON Lines", reports.jsonl))
    return [kind for kind, name in named if name is not None and name != "-"]


def _say_waiting(store: Path) -> None:
    stderr_console().print(
        terminal_text(
            f"Another scan is using the store {store}: waiting for it to finish (the files it "
            "checks are not checked again)."
        )
    )


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
) -> tuple[list[str], list[str]]:
    """Write the report files asked for; returns what was written, for the summary, and why
    each file that could not be written was not (the others are written all the same).
    ``targets``: the paths the scan was given (the interrupted scan's with --resume); the HTML
    report shows file paths relative to them."""
    from provenance.render.files import write_csv, write_html, write_jsonl

    written: list[str] = []
    unwritten: list[str] = []
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
            unwritten.append(
                f"{destination}: cannot write the {kind} report ({exc.strerror or exc}); the "
                "results store and the other reports are kept. Free disk space or choose a path "
                "you can write, then run the same scan again: it reuses the stored results"
            )
            continue
        written.append(f"{kind} {destination}")
    return written, unwritten
