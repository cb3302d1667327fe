"""The ``provenance`` command line. Thin: each command parses its options, makes one library
call, renders the result and picks an exit code. One module per command; the check options
are declared once (:mod:`.check_options`) and shared by ``check`` and ``scan``.

Exit codes (also in the README; :mod:`.common` defines them):

0  every file was checked and none matched ``--fail-on``
1  at least one file matched ``--fail-on``
2  usage error (bad option, unreadable trust anchors; a scan that cannot start), or a
   command stopped by an unexpected failure (an output it cannot write, an internal error)
3  at least one file could not be (fully) checked: verdict error or unsupported, or an error
   recorded in its report. Takes precedence over 1.
4  ``trust update`` could not download the lists (nothing was changed)
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from provenance._version import __version__

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]

EXIT_OK, EXIT_USAGE = 0, 2  # (:mod:`.common` holds them all; it loads typer and rich)


def __getattr__(name: str) -> Any:
    """``app``: the whole command line as a Typer app, built on first use (for tests and
    tools that drive it; :func:`main` builds only the command it runs)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from provenance.cli.app import build_app

    globals()["app"] = whole = build_app()
    return whole


def main() -> None:
    """Console-script entry point.

    On a terminal, usage errors get typer's framed message; off a terminal (a pipe, a log, a
    script) they are plain lines that nothing wraps, so a path or a URL stays whole. An
    unexpected exception never escapes as a traceback with exit 1 (which means "matched
    --fail-on"): it is one ``error:`` line and exit 2 (:func:`_crashed`).
    """
    arguments = sys.argv[1:]
    if arguments == ["--version"]:  # answered before any command is loaded
        print(f"provenance-checker {__version__}")
        sys.exit(EXIT_OK)
    try:
        _run(arguments)
    except Exception as exc:  # the last resort: any failure, said plainly
        _crashed(exc)


def _run(arguments: list[str]) -> None:
    import typer

    from provenance.cli.app import build_app

    # only the command that runs is loaded (each command's module loads what it needs)
    app: typer.Typer = build_app(arguments[0] if arguments else None)
    if sys.stderr.isatty():
        app()
        return
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        sys.stderr.write("Aborted.\n")
        sys.exit(1)
    except typer.TyperException as exc:  # usage errors (typer vendors click's exceptions)
        show = getattr(exc, "show", None)
        if callable(show):
            show(file=sys.stderr)
        else:
            sys.stderr.write(f"error: {exc}\n")
        sys.exit(int(getattr(exc, "exit_code", EXIT_USAGE)))
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _crashed(exc: Exception) -> NoReturn:
    """Say what failed and exit 2; the traceback only with ``PROVENANCE_TRACEBACK=1``."""
    from provenance.report import printable

    if os.environ.get("PROVENANCE_TRACEBACK", "").strip() in {"1", "true", "yes"}:
        traceback.print_exc()
    if isinstance(exc, OSError) and exc.errno is not None:
        where = f" ({printable(os.fsdecode(exc.filename))})" if exc.filename else ""
        message = (
            f"error: the command stopped: {exc.strerror or exc}{where}. Check the disk space and "
            "that the outputs (standard output, report files, the store) can be written, then "
            "run it again."
        )
    else:
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        place = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
        message = (
            f"error: internal error ({type(exc).__name__}: {printable(str(exc))}{place}). This is "
            f"a bug in provenance-checker {__version__}: please report it with the command you "
            "ran and this message (PROVENANCE_TRACEBACK=1 shows the traceback)."
        )
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # no usable standard error: the code says it
        pass
    os._exit(EXIT_USAGE)  # (sys.exit would flush a broken standard output again)
