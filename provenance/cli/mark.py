"""``provenance mark``: embed the keyed watermark in a clip."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provenance.cli.common import EXIT_FAILED_CHECK, fail
from provenance.errors import ArgumentError, InputError, MediaError
from provenance.watermark.keys import KEY_ENVIRONMENT, environment_keys, read_key_file

__all__ = ["mark_command", "one_key", "parse_identifier"]


def one_key(key: str | None, key_file: Path | None) -> str:
    """The key to mark with, from ``--key``, ``--key-file`` (the key-file format of every
    command, holding exactly one key) or ``$PROVENANCE_MARK_KEY``."""
    if key is not None and key_file is not None:
        raise typer.BadParameter("give the key once: --key or --key-file, not both")
    if key_file is not None:
        try:
            keys = read_key_file(key_file)
        except InputError as exc:
            raise typer.BadParameter(str(exc), param_hint="--key-file") from None
        if len(keys) > 1:
            raise typer.BadParameter(
                f"{key_file} holds {len(keys)} keys; a clip is marked with one (one key per "
                "line: keep only the one to mark with)",
                param_hint="--key-file",
            )
        return keys[0]
    keys = (key,) if key else environment_keys()  # a --key is used as given
    if not keys:
        raise typer.BadParameter(
            "no key: pass --key-file FILE (preferred: keeps the key out of shell history), "
            f"set {KEY_ENVIRONMENT}, or pass --key"
        )
    return keys[0]


def mark_command(
    source: Annotated[
        Path,
        typer.Argument(metavar="IN", help="Clip or image to mark.", exists=True, dir_okay=False),
    ],
    destination: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="Where the marked clip or image (.jpg, .png, .webp) goes."
        ),
    ],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            metavar="KEY",
            help="The secret key. Prefer --key-file or $PROVENANCE_MARK_KEY.",
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            metavar="FILE",
            help="A key file (as for check) holding the one key to mark with.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    psnr: Annotated[
        float,
        typer.Option(
            "--psnr",
            metavar="DB",
            help="Target PSNR per frame: lower is more robust and more visible.",
            min=30,
            max=60,
        ),
    ] = 42.5,
    crf: Annotated[
        int,
        typer.Option(
            "--crf",
            metavar="N",
            help="H.264 quality of the output (lower is better).",
            min=0,
            max=51,
        ),
    ] = 18,
    identifier: Annotated[
        str | None,
        typer.Option(
            "--identifier",
            metavar="HEX",
            help="Also carry this 64-bit identifier (16 hex digits), read back with the key.",
        ),
    ] = None,
) -> None:
    """Embed the keyed watermark in every frame of a clip or in an image.

    For platforms marking their own AI output. A clip is re-encoded with H.264: audio copied;
    range, colour tags, rotation and timestamps kept. 'provenance sign --mark' picks an
    identifier and declares it in the manifest.
    """
    from provenance.watermark.marking import mark_media

    secret = one_key(key, key_file)
    if destination.resolve() == source.resolve():
        raise typer.BadParameter("the destination must differ from the source")
    try:
        marked = mark_media(
            source, destination, secret, psnr=psnr, crf=crf, identifier=parse_identifier(identifier)
        )
    except (MediaError, ArgumentError) as exc:
        fail(str(exc), EXIT_FAILED_CHECK)
    typer.echo(f"Marked {marked.frames} frames: {destination}")


def parse_identifier(text: str | None) -> int | None:
    """``--identifier``: 16 hex digits, or None."""
    if text is None:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        value = -1
    if len(text) != 16 or value < 0:
        raise typer.BadParameter(
            f"{text!r} is not 16 hex digits (a 64-bit identifier)", param_hint="--identifier"
        )
    return value
