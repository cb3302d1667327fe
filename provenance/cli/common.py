"""What every command shares: exit codes, the consoles, error messages, ``--fail-on``.

Output must survive logs and pipes: messages are never hard-wrapped (the terminal wraps them,
a log keeps each on one line), and text from files is never read as rich markup.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from provenance.cli.help import LIMITS, OUTPUT
from provenance.report import Report, VerdictCode, printable

if TYPE_CHECKING:  # rich loads when a command first prints
    from rich.console import Console

__all__ = [
    "EXIT_FAILED_CHECK",
    "EXIT_MATCHED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_PIPE_CLOSED",
    "EXIT_USAGE",
    "FailOnOption",
    "MemoryLimitOption",
    "TimeoutOption",
    "exit_code",
    "fail",
    "parse_fail_on",
    "stderr_console",
    "stdout_console",
]

EXIT_OK = 0
EXIT_MATCHED = 1
EXIT_USAGE = 2
EXIT_FAILED_CHECK = 3
EXIT_NETWORK = 4
#: A scan stopped by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
#: Standard output closed by its reader (``| head``): 128 + SIGPIPE, as shells report a
#: command killed by it; never 1, which means "matched --fail-on".
EXIT_PIPE_CLOSED = 141

#: Width of the table on a pipe: wide enough that no cell is folded, however long the path.
_PIPE_WIDTH = 100_000


def stdout_console() -> Console:
    """Standard output: word-wrapped to the terminal on a terminal; on a pipe or in a log,
    lines as long as their content (nothing folded, wrapped or cut)."""
    from rich.console import Console

    tty = sys.stdout.isatty()
    return Console(width=None if tty else _PIPE_WIDTH, soft_wrap=not tty, highlight=False)


def stderr_console() -> Console:
    """Standard error, for progress and messages: word-wrapped on a terminal, never wrapped
    on a pipe or in a log."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=not sys.stderr.isatty(), highlight=False)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``error: message`` on standard error (as plain text) and exit with ``code``."""
    from rich.text import Text

    text = Text("error:", style="bold red")
    text.append(f" {printable(message)}")  # a path that is not UTF-8 shows escaped
    stderr_console().print(text)
    raise typer.Exit(code)


def parse_fail_on(values: Iterable[str]) -> set[VerdictCode]:
    """``--fail-on`` values (comma-separated or repeated) as verdict codes; ``ai`` means the
    three AI verdicts."""
    codes: set[VerdictCode] = set()
    valid = ", ".join(c.value for c in VerdictCode)
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if item == "ai":
                codes |= {VerdictCode.AI_DECLARED, VerdictCode.AI_EDITED, VerdictCode.AI_WATERMARK}
                continue
            try:
                codes.add(VerdictCode(item))
            except ValueError:
                raise typer.BadParameter(
                    f"unknown verdict {item!r}; use 'ai' or one of: {valid}"
                ) from None
    return codes


def exit_code(reports: Iterable[Report], fail_on: set[VerdictCode]) -> int:
    """The documented exit code for a set of reports."""
    incomplete = {VerdictCode.ERROR, VerdictCode.UNSUPPORTED}
    matched = False
    failed = False
    for report in reports:
        labels = set(report.verdict.labels)
        failed = failed or bool(report.errors or incomplete & labels)
        matched = matched or bool(fail_on & labels)
    if failed:
        return EXIT_FAILED_CHECK
    return EXIT_MATCHED if matched else EXIT_OK


FailOnOption = Annotated[
    list[str],
    typer.Option(
        "--fail-on",
        metavar="CODES",
        rich_help_panel=OUTPUT,
        help=(
            "Exit 1 on these verdict codes, comma-separated or repeated; 'ai' means "
            "ai_declared, ai_edited and ai_watermark."
        ),
    ),
]


#: ``--timeout``, for every command that checks files in workers (``check``, ``scan``).
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        rich_help_panel=LIMITS,
        help="Seconds per file, else an error record (0: no limit).",
        min=0,
    ),
]

#: ``--memory-limit``, with :data:`TimeoutOption`.
MemoryLimitOption = Annotated[
    int,
    typer.Option(
        "--memory-limit",
        metavar="MIB",
        rich_help_panel=LIMITS,
        help="MiB per worker, else an error record (0: no limit).",
        min=0,
    ),
]


def stop_on_closed_pipe() -> NoReturn:
    """The reader of standard output went away (``provenance scan --jsonl - | head``): stop
    quietly with :data:`EXIT_PIPE_CLOSED`. Standard output is pointed at ``/dev/null`` first,
    so that flushing it at exit cannot fail again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    raise typer.Exit(EXIT_PIPE_CLOSED)
