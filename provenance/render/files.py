"""Report files: JSON Lines, CSV, the scan's HTML report and the HTML evidence report.

Each file is written to a temporary name beside the destination and renamed into place, so a
reader never sees half a report, and an interrupted scan leaves the previous output intact.
The file gets the permissions the user's umask gives (not the temporary file's 0600).
"""

from __future__ import annotations

import csv
import io
import os
import stat
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from provenance.render.html import render_evidence_html, render_html
from provenance.render.machine import to_jsonl
from provenance.render.rows import CSV_FIELDS, csv_row
from provenance.report import Report, printable

__all__ = ["spreadsheet_safe", "write_csv", "write_evidence_html", "write_html", "write_jsonl"]


def _umask() -> int:
    mask = os.umask(0o022)  # reading the mask means setting it: put it straight back
    os.umask(mask)
    return mask


def _atomic_write(destination: Path, text: str) -> None:
    """Write ``text`` (any file name in it that is not UTF-8 escaped, see
    :func:`~provenance.report.printable`) to a new file renamed over ``destination``; a
    destination that is a device or a pipe (``/dev/stdout``) is written to as it is, never
    replaced."""
    text = printable(text)
    try:
        special = not stat.S_ISREG(os.stat(destination).st_mode)
    except OSError:  # missing (the usual case), or not reachable: the rename below says why
        special = False
    if special:
        with open(destination, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{destination.name}.", dir=destination.parent)
    try:
        # mkstemp makes the file 0600; a report gets what the user's umask gives any new file
        os.fchmod(handle, 0o666 & ~_umask())
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_jsonl(destination: Path, reports: Sequence[Report]) -> None:
    """One report per line, as :meth:`~provenance.report.Report.to_json` writes it."""
    _atomic_write(destination, to_jsonl(reports))


def spreadsheet_safe(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: a value that starts like a formula (``=``,
    ``+``, ``-``, ``@``, tab or carriage return) and is not a number gets a leading ``'``, so
    a hostile name or manifest string cannot run as a formula."""
    if not value or value[0] not in "=+-@\t\r":
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def write_csv(destination: Path, reports: Sequence[Report]) -> None:
    """One flat row per file (:data:`~provenance.render.rows.CSV_FIELDS`), with a header;
    cells that would start a spreadsheet formula are made text (:func:`spreadsheet_safe`)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for report in reports:
        writer.writerow({name: spreadsheet_safe(value) for name, value in csv_row(report).items()})
    _atomic_write(destination, buffer.getvalue())


def write_html(
    destination: Path,
    reports: Sequence[Report],
    facts: Mapping[str, Any] | None = None,
    roots: Sequence[str] | None = None,
) -> None:
    """The self-contained HTML report (:func:`~provenance.render.html.render_html`); paths
    are shown relative to the ``roots`` the scan was given."""
    _atomic_write(destination, render_html(reports, facts=facts, roots=roots))


def write_evidence_html(destination: Path, reports: Sequence[Report]) -> None:
    """The self-contained evidence report (:func:`~provenance.render.html.render_evidence_html`)."""
    _atomic_write(destination, render_evidence_html(reports))
