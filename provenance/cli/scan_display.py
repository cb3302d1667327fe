"""What ``provenance scan`` shows a person: the live progress bar and the closing summary."""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from provenance.render.look import icon, terminal_style
from provenance.render.rows import without_file_name
from provenance.render.text import terminal_text
from provenance.report import Report, VerdictCode
from provenance.verdict import NO_SIGNAL_CAVEAT

__all__ = ["SHOWN_FAILURES", "ScanProgress", "interrupted_message", "print_summary"]

#: Files that could not be checked, listed by name in the summary (the rest are counted).
SHOWN_FAILURES = 10


class ScanProgress:
    """Live progress on a terminal only: a first line with the bar, the count of files done,
    the time taken and the ETA, and below it the files per verdict, wrapping onto as many
    lines as the width needs, so that the bar, count and ETA stay on screen however many
    verdict kinds turn up."""

    def __init__(self, console: Console, *, show: bool) -> None:
        self.counts: Counter[VerdictCode] = Counter()
        self.total: int | None = None  # known once the walk is over
        self._counts = _Counts(self.counts)
        self._bar = _Progress(
            self._counts,
            TextColumn("[bold]scan"),
            BarColumn(),  # 40 cells, fewer when the line is narrower (rich shrinks it)
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not (show and console.is_terminal),
            transient=False,
        )
        self._task = self._bar.add_task("scan", total=None)

    @contextmanager
    def shown(self) -> Iterator[ScanProgress]:
        """Show the progress while the block runs."""
        with self._bar:
            yield self

    def planned(self, total: int) -> None:
        """The walk is over: ``total`` files to go."""
        self.total = total
        self._counts.walking = False
        self._bar.update(self._task, total=total)

    def done(self, report: Report) -> None:
        """One more file finished."""
        self.counts[report.verdict.code] += 1
        self._bar.update(self._task, advance=1)

    def renderable(self) -> RenderableType:
        """What the live display shows now (the progress line and the counts below it)."""
        return self._bar.get_renderable()


class _Progress(Progress):
    """A progress line with the counts per verdict below it."""

    def __init__(self, counts: _Counts, *columns: ProgressColumn, **settings: Any) -> None:
        self._verdict_counts = counts  # before Progress builds its first renderable
        super().__init__(*columns, **settings)

    def get_renderables(self) -> Iterable[RenderableType]:
        yield self.make_tasks_table(self.tasks)
        yield self._verdict_counts


class _Counts:
    """Files per verdict, in the verdicts' order, each ``icon code n`` kept whole on a line:
    the entries wrap onto more lines as the width needs, and an entry wider than the line has
    its code shortened (never its count)."""

    def __init__(self, counts: Mapping[VerdictCode, int]) -> None:
        self._counts = counts
        self.walking = True

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        entries = [
            _entry(code, self._counts[code], options.max_width)
            for code in VerdictCode
            if self._counts.get(code)
        ]
        if not entries:
            yield Text("walking..." if self.walking else "", style="dim")
            return
        line = Text()
        for entry in entries:
            if line and line.cell_len + 2 + entry.cell_len > options.max_width:
                yield line
                line = Text()
            if line:
                line.append("  ")
            line.append_text(entry)
        yield line


def _entry(code: VerdictCode, count: int, width: int) -> Text:
    """``icon code n`` in the verdict's style; the code shortened (``cred_``, then an ellipsis)
    if the whole is wider than the line."""
    number = f" {count}"
    name = code.value
    room = width - 2 - len(number)
    if len(name) > room:
        name = name.replace("credentials_", "cred_")
    if len(name) > room:
        name = name[: max(1, room - 1)] + "…"
    style = terminal_style(code)
    return Text.assemble((f"{icon(code)} ", style), (name, style), number)


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
        reason = without_file_name(report, reason)  # the line names the file already
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
