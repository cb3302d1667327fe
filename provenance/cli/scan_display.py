"""What ``provenance scan`` shows a person: the live progress bar and the closing summary."""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from provenance.render.look import icon, terminal_style
from provenance.render.text import terminal_text
from provenance.report import Report, VerdictCode
from provenance.verdict import NO_SIGNAL_CAVEAT

__all__ = ["SHOWN_FAILURES", "ScanProgress", "interrupted_message", "print_summary"]

#: Files that could not be checked, listed by name in the summary (the rest are counted).
SHOWN_FAILURES = 10


class ScanProgress:
    """A progress bar with counts per verdict, shown on a terminal only."""

    def __init__(self, console: Console, *, show: bool) -> None:
        self._bar = Progress(
            TextColumn("[bold]scan"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not (show and console.is_terminal),
            transient=False,
        )
        self.counts: Counter[VerdictCode] = Counter()
        self.total: int | None = None  # known once the walk is over
        self._task = self._bar.add_task("scan", total=None, counts="walking...")

    @contextmanager
    def shown(self) -> Iterator[ScanProgress]:
        """Show the bar while the block runs."""
        with self._bar:
            yield self

    def planned(self, total: int) -> None:
        """The walk is over: ``total`` files to go."""
        self.total = total
        self._bar.update(self._task, total=total, counts="")

    def done(self, report: Report) -> None:
        """One more file finished."""
        self.counts[report.verdict.code] += 1
        text = " ".join(f"{code.value} {n}" for code, n in self.counts.most_common())
        self._bar.update(self._task, advance=1, counts=text)


def print_summary(
    console: Console,
    counts: Mapping[VerdictCode, int],
    facts: Mapping[str, Any],
    stopped: Mapping[str, int],
    written: Sequence[str],
    failed: Sequence[Report] = (),
) -> None:
    """The verdict counts, how many files were checked or taken from the store, the files that
    could not be checked (the first :data:`SHOWN_FAILURES`, with their reasons), and the files
    written."""
    table = Table(title="Scan summary", header_style="bold")
    table.add_column("Verdict")
    table.add_column("Files", justify="right")
    for code in VerdictCode:
        if counts.get(code):
            table.add_row(
                Text(f"{icon(code)} {code.value}", style=terminal_style(code)), str(counts[code])
            )
    console.print(table)
    line = (
        f"{facts['files']} file{'' if facts['files'] == 1 else 's'}: {facts['checked']} "
        f"checked, {facts['from the store']} "
        f"unchanged (from the store), in {facts['seconds']} s"
    )
    if stopped:
        line += "; stopped: " + ", ".join(f"{n} {why}" for why, n in sorted(stopped.items()))
    console.print(Text(line))
    _print_failures(console, failed, written)
    for entry in written:
        console.print(terminal_text(f"wrote {entry}"))
    console.print(Text(NO_SIGNAL_CAVEAT))


def _print_failures(console: Console, failed: Sequence[Report], written: Sequence[str]) -> None:
    """Which files could not be checked and why: a newsroom must see them, not just a count."""
    if not failed:
        return
    console.print(Text(f"Could not be checked ({len(failed)}):", style="bold"))
    for report in failed[:SHOWN_FAILURES]:
        reason = report.errors[0].message if report.errors else report.verdict.summary
        console.print(terminal_text(f"  {report.path}: {reason}"))
    rest = len(failed) - SHOWN_FAILURES
    if rest > 0:
        where = (
            "every one is in " + ", ".join(written)
            if written
            else "--jsonl FILE or --csv FILE lists them all"
        )
        console.print(Text(f"  and {rest} more: {where}"))


def interrupted_message(
    done: int, total: int | None, store: Path | None, keyed: bool, reports: Sequence[str] = ()
) -> str:
    """What a Ctrl-C leaves behind, and the exact command that continues the scan (and writes
    the ``reports`` kinds the interrupted command named)."""
    progress = f"{done} of {total} files" if total is not None else f"{done} files"
    if store is None:
        return f"Interrupted after {progress}; nothing was kept (--no-store): run the scan again."
    command = f"provenance scan --resume --store {shlex.quote(str(store))}"
    keys = " (and its --key or --key-file again)" if keyed else ""
    writes = ""
    if reports:
        kinds = " and ".join(
            [", ".join(reports[:-1]), reports[-1]] if len(reports) > 1 else reports
        )
        writes = f" (it writes the {kinds} report{'s' if len(reports) > 1 else ''} named here)"
    return (
        f"Interrupted after {progress}. Their results are kept in {store}; continue "
        f"with{writes}:\n  {command}{keys}"
    )
