"""``provenance check``: check files and folders here and now, and show the evidence."""

from __future__ import annotations

import dataclasses
import enum
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from provenance.batch.scan_options import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    Engine,
    ScanOptions,
)
from provenance.cli.check_options import with_check_options
from provenance.cli.common import (
    FailOnOption,
    MemoryLimitOption,
    TimeoutOption,
    exit_code,
    fail,
    parse_fail_on,
    stdout_console,
)
from provenance.cli.help import LIMITS, OUTPUT
from provenance.errors import ProvenanceError
from provenance.options import CheckOptions
from provenance.report import Report

__all__ = ["OutputFormat", "check_command"]


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"


@with_check_options
def check_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders to check; folders are walked for media files.",
            metavar="PATH",
            show_default=False,
            readable=False,  # an unreadable file gets its own error record, not a usage error
        ),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="table|json|jsonl",
            rich_help_panel=OUTPUT,
            help="A table (details for one file), a JSON array or JSON Lines.",
        ),
    ] = OutputFormat.TABLE,
    fail_on: FailOnOption = [],  # noqa: B006 (typer reads the default; it is never mutated)
    evidence_html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            rich_help_panel=OUTPUT,
            help="Also write a self-contained HTML evidence report.",
            dir_okay=False,
        ),
    ] = None,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    memory_limit: MemoryLimitOption = DEFAULT_MEMORY_MB,
    in_process: Annotated[
        bool,
        typer.Option(
            "--in-process",
            rich_help_panel=LIMITS,
            help="No worker, no limits: faster start, for trusted files.",
        ),
    ] = False,
    *,
    options: CheckOptions,
) -> None:
    """Check files for Content Credentials, AI declarations and AI-generator watermarks.

    Watermarks: dwtdct finds the public SD, SDXL, SVD, FLUX and InvokeAI marks; keyed finds
    your own mark with its key (--key-file, --key or $PROVENANCE_MARK_KEY). --sampling auto
    reads a short clip whole, a longer one's key frames plus 8 evenly spaced frames. Each
    file is checked in a worker process, within the limits.
    """
    from provenance.batch.engine import scan
    from provenance.render.machine import to_json, to_jsonl

    wanted = parse_fail_on(fail_on)
    if evidence_html is not None:
        options = dataclasses.replace(options, previews=True)
    # each file in a worker process with limits, as a scan does (a hostile file cannot hang
    # or exhaust this process); a folder of no media is a file with its own error here
    try:
        how = ScanOptions(
            jobs=1,
            engine=Engine.INLINE if in_process else Engine.LOCAL,
            timeout=timeout or None,
            memory_mb=memory_limit or None,
            store=None,
            nothing_is_error=False,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    reports: list[Report] = []
    try:
        warm = _load_renderer_meanwhile if output_format is OutputFormat.TABLE else None
        for item in scan(paths, options, how, on_started=warm):
            reports.append(item.report)
            if output_format is OutputFormat.JSONL:
                sys.stdout.write(to_jsonl([item.report]))
                sys.stdout.flush()
    except ProvenanceError as exc:
        fail(str(exc))
    if evidence_html is not None and reports:
        from provenance.render.files import write_evidence_html

        try:
            write_evidence_html(evidence_html, reports)
        except OSError as exc:
            fail(f"{evidence_html}: cannot write the evidence report ({exc.strerror or exc})")
    if output_format is OutputFormat.JSON:
        sys.stdout.write(to_json(reports) + "\n")
    elif output_format is OutputFormat.TABLE:
        from provenance.render.text import render_details, render_table

        console = stdout_console()
        render_table(reports, console)
        if len(reports) == 1:
            render_details(reports[0], console)
    raise typer.Exit(exit_code(reports, wanted))


def _load_renderer_meanwhile() -> None:
    """Load the table's renderer (rich, about 25 ms) in a thread while the worker checks,
    rather than after the result comes back. (Not before: the worker is forked, which needs
    this process to have one thread.)"""

    def load() -> None:
        import provenance.render.text  # noqa: F401  # loaded for its side effect: warm

    threading.Thread(target=load, name="provenance-warm", daemon=True).start()
