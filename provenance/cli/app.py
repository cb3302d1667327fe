"""The Typer app of the command line, built with every command or only the one that runs.

Typer reads each command's signature when the app runs, so registering a command imports its
module and everything that module imports. ``provenance check`` therefore registers only
``check``: the other commands' libraries (the repository's SQLite layer, signing, the trust
list downloader) stay unloaded, and the command starts sooner. Help and unknown commands get
the whole app.
"""

from __future__ import annotations

import importlib

import typer

from provenance._version import __version__
from provenance.cli.help import HelpGroup

__all__ = ["COMMANDS", "build_app"]

#: Each command: (module, attribute, whether it is a group of sub-commands).
COMMANDS: dict[str, tuple[str, str, bool]] = {
    "check": ("provenance.cli.check", "check_command", False),
    "scan": ("provenance.cli.scan", "scan_command", False),
    "mark": ("provenance.cli.mark", "mark_command", False),
    "sign": ("provenance.cli.sign", "sign_command", False),
    "trust": ("provenance.cli.trust", "trust_app", True),
    "repository": ("provenance.cli.repository", "repository_app", True),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"provenance-checker {__version__}")
        raise typer.Exit(0)


def build_app(command: str | None = None) -> typer.Typer:
    """The app with every command, or with ``command`` alone when it is one of them."""
    from provenance.cli.help import HelpCommand

    app = typer.Typer(
        name="provenance",
        help=(
            "Check video clips and images for evidence of AI generation: Content Credentials "
            "(C2PA) and invisible watermarks. Offline by default. Absence of a "
            "signal never means authentic."
        ),
        cls=HelpGroup,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _main(
        version: bool = typer.Option(
            False,
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ) -> None:
        """Check media for evidence of AI generation."""

    names = [command] if command in COMMANDS else list(COMMANDS)
    for name in names:
        module, attribute, group = COMMANDS[name]
        target = getattr(importlib.import_module(module), attribute)
        if group:
            app.add_typer(target, name=name)
        else:
            app.command(name, cls=HelpCommand)(target)
    return app
