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
                help="Trust directory to use instead of the installed one ($PROVENANCE_TRUST_DIR or the user data directory).",
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
                help="Use only these trust sources (repeatable): official, interim, user, or none. Default: all installed.",
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
                help="Extra PEM trust anchors for this run (repeatable); reported as user anchors.",
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
                help="A detached .c2pa manifest store for the file being checked (one file only).",
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
                help="An fMP4 media fragment (.m4s) of the init segment being checked (repeatable, in order; one file only).",
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
                help="Allow downloading remote manifests over the network. Off by default: checks are offline.",
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
                help="A manifest repository (SQLite, see 'provenance repository') to recover stripped credentials from, by the identifier a keyed mark carries (needs the mark key). Offline. Also $PROVENANCE_REPOSITORY.",
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
                help="A C2PA Soft Binding Resolution API base URL (ours: 'provenance repository serve', or another's) asked for the manifests of the identifiers read. Uses the network; named in the report.",
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
                help="Check Content Credentials only: skip reading media facts and watermark detection (faster for large batches).",
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
                help=(
                    "Watermark detectors to run (repeatable): dwtdct (the public SD/SDXL/SVD/FLUX/"
                    "InvokeAI marks), keyed (your own keyed mark; needs a key), or none. Default: "
                    "dwtdct, plus keyed when a key is given."
                ),
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
                help="A keyed-mark key to look for (repeatable). Prefer --key-file or $PROVENANCE_MARK_KEY: command lines are visible to other users.",
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
                help="A file of keyed-mark keys, one per line (repeatable).",
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
                help=(
                    "Frames to read from each clip: auto (short clips whole, longer ones "
                    "every key frame plus 8 evenly spaced frames), evenly:N (N evenly "
                    "spaced frames), keyframes, every:N (every N-th frame) or all."
                ),
            ),
        ],
        str(DEFAULT_SAMPLING),
    ),
    _option(
        "max_frames",
        Annotated[
            int | None,
            typer.Option("--max-frames", help="Read at most this many frames per clip.", min=1),
        ],
        None,
    ),
    _option(
        "payloads",
        Annotated[
            list[str],
            typer.Option(
                "--payload",
                help="dwtDct payloads to test (repeatable or comma-separated): sd1, sd2, sdxl, flux, invokeai. Default: all.",
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
                help="When to run the dwtDct crop-robust search (slower; finds marks in cropped pictures): auto (still images only), on (every frame), off.",
            ),
        ],
        CropSearch.AUTO,
    ),
    _option(
        "resize_search",
        Annotated[
            bool,
            typer.Option(
                "--resize-search/--no-resize-search",
                help="Also decode pictures resized back to native generator sizes of the same shape (images and a clip's first frame).",
            ),
        ],
        True,
    ),
    _option(
        "segment_seconds",
        Annotated[
            float,
            typer.Option(
                "--segment-seconds",
                help="Length of the keyed mark's timeline segments, in seconds (longer clips get longer segments, at most 240 per clip).",
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
                resize_search=values["resize_search"],
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
        return command(**values, options=build_options(shared))

    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in parameters}
    return run  # type: ignore[return-value]
