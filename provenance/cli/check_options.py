"""The check options of the command line, declared once for every command that checks.

:func:`with_check_options` gives a command (``check``, ``scan``) every option below and hands
it one :class:`~provenance.options.CheckOptions` built from them by :func:`build_options`. To
add a check option: add its field to ``CheckOptions`` (or ``WatermarkOptions``), declare it in
:data:`CHECK_OPTIONS`, and map it in :func:`build_options`; both commands, the scan's workers
and the Dask engine then have it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from provenance.cli.common import stop_on_closed_pipe
from provenance.cli.help import INPUT, LIMITS, RECOVERY, TRUST, WATERMARKS
from provenance.errors import InputError
from provenance.media.sampling import Sampling
from provenance.options import CheckOptions
from provenance.report import Detector, TrustSource
from provenance.watermark.keys import environment_keys, read_key_file
from provenance.watermark.options import (
    DEFAULT_SAMPLING,
    CropSearch,
    WatermarkOptions,
    detector_names,
)

__all__ = ["CHECK_OPTIONS", "build_options", "with_check_options"]

_Command = TypeVar("_Command", bound=Callable[..., Any])


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


#: Every check option, as the command-line parameters of the commands that check.
CHECK_OPTIONS: tuple[inspect.Parameter, ...] = (
    _option(
        "trust_dir",
        Annotated[
            Path | None,
            typer.Option(
                "--trust-dir",
                metavar="DIR",
                rich_help_panel=TRUST,
                help="Trust directory (default: $PROVENANCE_TRUST_DIR, or user data).",
                file_okay=False,
            ),
        ],
        None,
    ),
    _option(
        "trust_list",
        Annotated[
            list[TrustSource],
            typer.Option(
                "--trust-list",
                metavar="SOURCE",
                rich_help_panel=TRUST,
                help="Sources: official, interim, user or none (repeatable; default: all).",
            ),
        ],
        [],
    ),
    _option(
        "anchors",
        Annotated[
            list[Path],
            typer.Option(
                "--anchors",
                metavar="FILE",
                rich_help_panel=TRUST,
                help="Extra PEM trust anchors, reported as user anchors (repeatable).",
                exists=True,
                dir_okay=False,
            ),
        ],
        [],
    ),
    _option(
        "sidecar",
        Annotated[
            Path | None,
            typer.Option(
                "--sidecar",
                metavar="FILE",
                rich_help_panel=INPUT,
                help="A detached .c2pa manifest store for the file (one file only).",
                exists=True,
                dir_okay=False,
            ),
        ],
        None,
    ),
    _option(
        "fragments",
        Annotated[
            list[Path],
            typer.Option(
                "--fragment",
                metavar="FILE",
                rich_help_panel=INPUT,
                help="An fMP4 fragment of the init segment, in order (repeatable).",
                exists=True,
                dir_okay=False,
            ),
        ],
        [],
    ),
    _option(
        "fetch_remote",
        Annotated[
            bool,
            typer.Option(
                "--fetch-remote",
                rich_help_panel=INPUT,
                help="Allow downloading remote manifests (off: checks stay offline).",
            ),
        ],
        False,
    ),
    _option(
        "repository",
        Annotated[
            Path | None,
            typer.Option(
                "--repository",
                envvar="PROVENANCE_REPOSITORY",
                metavar="FILE",
                rich_help_panel=RECOVERY,
                help="Recover stripped credentials from this repository (needs a mark key).",
                exists=True,
                dir_okay=False,
            ),
        ],
        None,
    ),
    _option(
        "resolve_url",
        Annotated[
            str | None,
            typer.Option(
                "--resolve",
                metavar="URL",
                rich_help_panel=RECOVERY,
                help="Ask this Soft Binding Resolution API for manifests (uses the network).",
            ),
        ],
        None,
    ),
    _option(
        "credentials_only",
        Annotated[
            bool,
            typer.Option(
                "--credentials-only",
                rich_help_panel=INPUT,
                help="Check Content Credentials only: no media facts, no watermarks.",
            ),
        ],
        False,
    ),
    _option(
        "detector",
        Annotated[
            list[str],
            typer.Option(
                "--detector",
                metavar="NAME",
                rich_help_panel=WATERMARKS,
                help="dwtdct, keyed or none (repeatable; default: dwtdct, and keyed given a key).",
            ),
        ],
        [],
    ),
    _option(
        "keys",
        Annotated[
            list[str],
            typer.Option(
                "--key",
                metavar="KEY",
                rich_help_panel=WATERMARKS,
                help="A key (repeatable; prefer --key-file).",
            ),
        ],
        [],
    ),
    _option(
        "key_files",
        Annotated[
            list[Path],
            typer.Option(
                "--key-file",
                metavar="FILE",
                rich_help_panel=WATERMARKS,
                help="Mark keys, one per line (repeatable).",
                exists=True,
                dir_okay=False,
            ),
        ],
        [],
    ),
    _option(
        "sampling",
        Annotated[
            str,
            typer.Option(
                "--sampling",
                metavar="MODE",
                rich_help_panel=WATERMARKS,
                help="Frames per clip: auto, evenly:N, keyframes, every:N, all.",
            ),
        ],
        str(DEFAULT_SAMPLING),
    ),
    _option(
        "max_frames",
        Annotated[
            int | None,
            typer.Option(
                "--max-frames",
                metavar="N",
                rich_help_panel=LIMITS,
                help="Read at most N frames per clip.",
                min=1,
            ),
        ],
        None,
    ),
    _option(
        "payloads",
        Annotated[
            list[str],
            typer.Option(
                "--payload",
                metavar="NAME",
                rich_help_panel=WATERMARKS,
                help="dwtDct payloads: sd1, sd2, sdxl, flux, invokeai (repeatable; default: all).",
            ),
        ],
        [],
    ),
    _option(
        "crop_search",
        Annotated[
            CropSearch,
            typer.Option(
                "--crop-search",
                metavar="auto|on|off",
                rich_help_panel=WATERMARKS,
                help="Crop-robust dwtDct search (slower); auto: images only.",
            ),
        ],
        CropSearch.AUTO,
    ),
    # one visible flag: a --x/--no-x pair takes a column of its own in its help panel,
    # squeezing every help line there; --resize-search (the default) stays accepted
    _option(
        "no_resize_search",
        Annotated[
            bool,
            typer.Option(
                "--no-resize-search",
                rich_help_panel=WATERMARKS,
                help="Skip decoding again at native generator sizes (faster).",
            ),
        ],
        False,
    ),
    _option(
        "resize_search",
        Annotated[
            bool,
            typer.Option(
                "--resize-search",
                hidden=True,
                help="Also decode at native generator sizes (the default).",
            ),
        ],
        False,
    ),
    _option(
        "segment_seconds",
        Annotated[
            float,
            typer.Option(
                "--segment-seconds",
                metavar="S",
                rich_help_panel=WATERMARKS,
                help="Seconds per keyed-mark segment (at most 240 a clip).",
                min=0.01,
            ),
        ],
        1.0,
    ),
)

_NAMES = frozenset(parameter.name for parameter in CHECK_OPTIONS)


def _keys(
    keys: list[str], key_files: list[Path], detectors: tuple[Detector, ...] | None
) -> tuple[str, ...]:
    found = [key for key in keys if key]  # a --key is used as given
    for key_file in key_files:
        try:
            found += read_key_file(key_file)
        except InputError as exc:
            raise typer.BadParameter(str(exc), param_hint="--key-file") from None
    if not found and detectors is not None and Detector.KEYED in detectors:
        found += environment_keys()
    return tuple(dict.fromkeys(found))


def _split(values: list[str]) -> tuple[str, ...]:
    """Repeated or comma-separated values, blanks dropped."""
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _usable_trust_dir(directory: Path, *, anchors_given: bool) -> None:
    """Refuse a ``--trust-dir`` that is missing, or that holds no list while no ``--anchors``
    are given: every signer would silently come out "untrusted"."""
    from provenance.credentials.trust import holds_trust_lists

    fix = (
        f"Fill it with 'provenance trust update --trust-dir {directory}' (the C2PA lists) or "
        f"'provenance trust add ROOT.pem --trust-dir {directory}', or leave out --trust-dir "
        "to use the installed lists."
    )
    if not directory.is_dir():
        raise typer.BadParameter(f"{directory}: no such trust directory. {fix}")
    if not anchors_given and not holds_trust_lists(directory):
        raise typer.BadParameter(
            f"{directory} holds no trust list, so no signer could be trusted. {fix}"
        )


def build_options(values: Mapping[str, Any]) -> CheckOptions:
    """The :class:`CheckOptions` the command-line values of :data:`CHECK_OPTIONS` describe.

    Paths are made absolute, so workers (and Dask workers on other machines sharing the
    mount) read the same files.
    """
    sources = values["trust_list"]
    trust_dir, sidecar = values["trust_dir"], values["sidecar"]
    if trust_dir is not None and any(s is not TrustSource.NONE for s in sources or [None]):
        _usable_trust_dir(trust_dir, anchors_given=bool(values["anchors"]))
    try:
        detectors = detector_names(values["detector"])
        return CheckOptions(
            trust_dir=trust_dir.resolve() if trust_dir else None,
            trust_sources=(
                None if not sources else tuple(s for s in sources if s is not TrustSource.NONE)
            ),
            extra_anchors=tuple(path.resolve() for path in values["anchors"]),
            sidecar=sidecar.resolve() if sidecar else None,
            fragments=tuple(path.resolve() for path in values["fragments"]),
            fetch_remote=values["fetch_remote"],
            repository=values["repository"].resolve() if values["repository"] else None,
            resolve_url=values["resolve_url"],
            credentials_only=values["credentials_only"],
            watermarks=WatermarkOptions(
                detectors=detectors,
                keys=_keys(values["keys"], values["key_files"], detectors),
                sampling=Sampling.parse(values["sampling"], max_frames=values["max_frames"]),
                payloads=_split(values["payloads"]) or None,
                crop_search=values["crop_search"],
                resize_search=not values["no_resize_search"],
                segment_seconds=values["segment_seconds"],
            ),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def with_check_options(command: _Command) -> _Command:
    """Give a typer command every check option; it receives them as ``options:
    CheckOptions`` (its own parameters stay as they are)."""
    own = [
        parameter
        for parameter in inspect.signature(command, eval_str=True).parameters.values()
        if parameter.name != "options"
    ]
    parameters = [*own, *CHECK_OPTIONS]

    @functools.wraps(command)
    def run(**values: Any) -> Any:
        shared = {name: values.pop(name) for name in _NAMES}
        try:
            return command(**values, options=build_options(shared))
        except BrokenPipeError:  # both commands stream to standard output
            stop_on_closed_pipe()

    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return run  # type: ignore[return-value]
