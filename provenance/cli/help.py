"""How ``--help`` reads: options in named panels, in one order, and names as users write them.

Every command is a :class:`HelpCommand` and every group a :class:`HelpGroup`. They change only
what the help shows, never what is parsed:

- the panels (``rich_help_panel=`` on each option, one of :data:`PANELS`) come in the order of
  :data:`PANELS`, whatever the order the options are declared in;
- a usage line names its arguments as click does (``PATH...``, ``[PATH]...`` when optional)
  rather than typer's ``{PATH}...``;
- an argument with a ``metavar`` shows no type beside it (not ``<list[Path]>``), and a flag
  shows none (not ``<bool>``): the name and the help say it.

Options take a ``metavar`` saying what to write (``FILE``, ``DIR``, ``N``, ``SECONDS``,
``URL``...), or their few choices (``table|json|jsonl``).
"""

from __future__ import annotations

import copy
from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup

__all__ = [
    "INPUT",
    "LIMITS",
    "OUTPUT",
    "PANELS",
    "RECOVERY",
    "SCAN",
    "TRUST",
    "WATERMARKS",
    "HelpCommand",
    "HelpGroup",
]

INPUT = "Input"
TRUST = "Trust"
WATERMARKS = "Watermarks"
RECOVERY = "Recovery"
OUTPUT = "Output"
LIMITS = "Limits"
SCAN = "Scan"

#: The option panels, in the order ``--help`` shows them (after the arguments and the
#: options in no panel, ``--help`` itself among them).
PANELS: tuple[str, ...] = (INPUT, TRUST, WATERMARKS, RECOVERY, OUTPUT, LIMITS, SCAN)


class _Argument(TyperArgument):
    """An argument named as users write it, in the usage line and in the help."""

    def get_usage_pieces(self, ctx: Any) -> list[str]:
        name = self.metavar or (self.name or "").upper()
        if not self.required:
            name = f"[{name}]"
        return [name + ("..." if self.nargs != 1 else "")]


_UNTYPED: dict[type, type] = {}


def _untyped(base: type) -> type:
    """``base`` (a parameter type) showing no type in the help: its ``get_metavar`` says
    nothing, where typer would show ``<path>``. Parsing is the base type's own."""

    def get_metavar(self: Any, param: Any, ctx: Any = None) -> str:
        return ""

    if base not in _UNTYPED:
        _UNTYPED[base] = type(f"Untyped{base.__name__}", (base,), {"get_metavar": get_metavar})
    return _UNTYPED[base]


def _as_users_write(params: list[Any]) -> None:
    """Give typer's arguments the usage and help display of :class:`_Argument` (typer shows no
    type for flags itself); their parsing is typer's own, untouched."""
    for param in params:
        if type(param) is TyperArgument:
            param.__class__ = _Argument
            if param.metavar:
                param.type = copy.copy(param.type)
                param.type.__class__ = _untyped(type(param.type))


def _panel_rank(param: Any) -> int:
    panel = getattr(param, "rich_help_panel", None)
    return PANELS.index(panel) + 1 if panel in PANELS else 0


def _reflowed(text: str | None) -> str | None:
    """Help text with each paragraph on one line, for rich to wrap to the terminal (rich
    keeps the line breaks of a docstring's paragraphs)."""
    if text is None:
        return None
    return "\n\n".join(" ".join(part.split()) for part in text.split("\n\n"))


class HelpCommand(TyperCommand):
    """A command whose ``--help`` reads as described in this module."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _reflowed(self.help)
        _as_users_write(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        _as_users_write([option])
        return option

    def format_help(self, ctx: Any, formatter: Any) -> None:
        declared = self.params
        self.params = sorted(declared, key=_panel_rank)  # stable: declared order per panel
        try:
            super().format_help(ctx, formatter)
        finally:
            self.params = declared


class HelpGroup(TyperGroup):
    """A group whose ``--help`` shows its flags without ``<bool>``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _reflowed(self.help)
        _as_users_write(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        _as_users_write([option])
        return option
