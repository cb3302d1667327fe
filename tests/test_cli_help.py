"""``--help`` reads in an 80-column terminal: the real command line, at a given width.

Every help page is rendered by ``python -m provenance ... --help`` in a subprocess with an
explicit ``COLUMNS`` (80 and 100), ``TERM=dumb`` and ``NO_COLOR=1``, so nothing here depends
on the terminal the tests run in.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from provenance.cli import app
from provenance.cli.help import PANELS
from provenance.testing.synth import write_clip

WIDTHS = (80, 100)

#: Environment variables that would change the width or the styling of rich's output.
_DISPLAY_VARIABLES = (
    "COLUMNS",
    "LINES",
    "TERMINAL_WIDTH",
    "FORCE_COLOR",
    "NO_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "JUPYTER_COLUMNS",
    "_TYPER_FORCE_DISABLE_TERMINAL",
)


def _commands() -> dict[tuple[str, ...], Any]:
    """Every command and group of ``provenance``, by the words that name it."""
    found: dict[tuple[str, ...], Any] = {}

    def walk(words: tuple[str, ...], command: Any) -> None:
        found[words] = command
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk((*words, name), sub)

    walk((), typer.main.get_command(app))
    return found


COMMANDS = _commands()


@functools.cache
def help_text(words: tuple[str, ...], width: int) -> str:
    env = {k: v for k, v in os.environ.items() if k not in _DISPLAY_VARIABLES}
    env.update(COLUMNS=str(width), TERM="dumb", NO_COLOR="1")
    result = subprocess.run(
        [sys.executable, "-m", "provenance", *words, "--help"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _option_names(command: Any) -> list[str]:
    """Every option name the command shows, ``--help`` included (hidden ones, kept for old
    scripts, are accepted but not shown)."""
    names = ["--help"]
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden:
            names += [*param.opts, *param.secondary_opts]
    return names


def _words(text: str) -> str:
    """The words of a help page, however wrapped (panel borders out)."""
    return " ".join(text.replace("│", " ").split())


def _panel_titles(text: str) -> list[str]:
    return re.findall(r"╭─ (\S.*?) ─", text)


def test_every_command_is_covered() -> None:
    names = {" ".join(words) for words in COMMANDS}
    assert {"", "check", "scan", "mark", "sign", "trust update", "repository serve"} <= names


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("words", list(COMMANDS), ids=lambda words: " ".join(words) or "-")
def test_help_fits_the_width_and_names_every_option_in_full(
    words: tuple[str, ...], width: int
) -> None:
    text = help_text(words, width)
    too_long = [line for line in text.splitlines() if len(line) > width]
    assert too_long == []
    assert "…" not in text  # rich cuts what does not fit with an ellipsis
    # types as users write them: FILE, N, table|json|jsonl... not typer's <list[Path]>, <bool>
    assert re.search(r"<[a-zA-Z]", text) is None, text
    assert "list[" not in text
    assert "[Path]" not in text
    assert "{" not in text
    for name in _option_names(COMMANDS[words]):
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text), (name, text)


@pytest.mark.parametrize("width", WIDTHS)
def test_check_and_scan_group_their_options_in_panels(width: int) -> None:
    check = _panel_titles(help_text(("check",), width))
    assert check == ["Arguments", "Options", *[p for p in PANELS if p != "Scan"]]
    scan = _panel_titles(help_text(("scan",), width))
    assert scan == ["Arguments", "Options", *PANELS]
    # each option sits in its panel
    text = help_text(("scan",), width)
    panels = dict(zip(scan, re.split(r"╭─ \S.*? ─.*\n", text)[1:], strict=True))
    for panel, option in (
        ("Input", "--sidecar"),
        ("Input", "--include"),
        ("Trust", "--trust-dir"),
        ("Watermarks", "--key-file"),
        ("Recovery", "--resolve"),
        ("Output", "--jsonl"),
        ("Output", "--fail-on"),
        ("Limits", "--timeout"),
        ("Scan", "--resume"),
    ):
        assert re.search(rf"│ +{option} ", panels[panel]), (panel, option)


def test_every_panel_is_a_known_one() -> None:
    # a misspelt panel would show as a panel of its own, out of order
    for words, command in COMMANDS.items():
        for param in command.params:
            panel = getattr(param, "rich_help_panel", None)
            assert panel is None or panel in PANELS, (words, param.name, panel)


def test_check_help_is_about_sixty_lines_at_100_columns() -> None:
    assert len(help_text(("check",), 100).splitlines()) <= 65


@pytest.mark.parametrize("width", WIDTHS)
def test_usage_lines_read_as_users_write_them(width: int) -> None:
    def usage(*words: str) -> str:
        return next(line for line in help_text(words, width).splitlines() if "Usage:" in line)

    assert usage("check").split()[-2:] == ["[OPTIONS]", "PATH..."]
    assert usage("scan").split()[-2:] == ["[OPTIONS]", "[PATH]..."]  # or --from, --resume
    assert usage("mark").split()[-2:] == ["IN", "OUT"]
    assert usage("repository", "add").split()[-1] == "STORE..."
    assert usage("repository", "export").split()[-2:] == ["ID", "OUT"]


def test_help_shows_defaults_choices_and_ranges() -> None:
    text = _words(help_text(("scan",), 100))
    for shown in (
        "local|dask|inline",
        "[default: provenance-scan.db]",
        "[default: 900.0]",
        "[default: 2048]",
        "[default: auto]",
        "auto|on|off",
        "official, interim, user or none",
        "sd1, sd2, sdxl, flux, invokeai",
        "N [x>=1]",
        "[env var: PROVENANCE_REPOSITORY]",
    ):
        assert shown in text, shown
    check = _words(help_text(("check",), 100))
    assert "table|json|jsonl" in check
    assert "[default: table]" in check


def test_the_hidden_resize_search_flag_is_still_accepted(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    clip = tmp_path / "c.mp4"
    write_clip(clip, seconds=0.25)
    for flag in ("--resize-search", "--no-resize-search"):
        result = CliRunner().invoke(app, ["check", flag, "--format", "json", str(clip)])
        assert result.exit_code == 0, result.output
