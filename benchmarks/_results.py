"""Helpers shared by the benchmark scripts: machine facts and RESULTS.md sections."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex
import sys
from pathlib import Path

__all__ = ["cpu_model", "emit_section", "section_head", "write_section"]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or the machine type."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_section(output: Path, name: str, section: str) -> None:
    """Replace benchmark ``name``'s marked section of ``output`` (or append it)."""
    start_mark, end_mark = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if output.is_file():
        text = output.read_text("utf-8")
    else:
        text = (
            "# Benchmark results\n\n"
            "Written by the scripts in this folder (see README.md); each benchmark replaces only "
            "its own section, between its HTML comment markers.\n"
        )
    start = text.find(start_mark)
    end = text.find(end_mark, start)
    if start != -1 and end != -1:
        text = text[:start] + section.rstrip("\n") + text[end + len(end_mark) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    output.write_text(text if text.endswith("\n") else text + "\n", "utf-8")


def emit_section(section: str, output: str, name: str) -> None:
    """Print the section (``output`` is ``-``) or replace it in the Markdown file ``output``."""
    if output == "-":
        print(section)
        return
    write_section(Path(output), name, section)
    print(f"wrote the {name} section of {output}", file=sys.stderr)


def _command(name: str) -> str:
    """The command that made the figures: the script with the options it was given (the
    ``--output`` destination left out)."""
    given = sys.argv[1:]
    kept: list[str] = []
    skip = False
    for argument in given:
        if skip:
            skip = False
        elif argument == "--output":
            skip = True
        elif not argument.startswith("--output="):
            kept.append(argument)
    return shlex.join(["python", f"benchmarks/{name}.py", *kept])


def section_head(name: str, title: str, versions: str) -> list[str]:
    """The first lines of a benchmark's section: marker, title, when and how, machine, versions.

    ``versions`` is the comma-separated list of what the figures depend on.
    """
    return [
        f"<!-- {name}:start -->",
        f"## {title}",
        "",
        f"*{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `{_command(name)}`.*",
        "",
        f"- **Machine:** {len(os.sched_getaffinity(0))} CPUs usable, {cpu_model()}.",
        f"- **Versions:** python {platform.python_version()}, {versions}.",
    ]
