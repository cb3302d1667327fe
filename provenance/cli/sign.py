"""``provenance sign``: sign a file with Content Credentials (a generator or platform declaring
what its models made), optionally keeping the manifest in a repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provenance.cli.common import EXIT_USAGE, fail
from provenance.cli.help import RECOVERY, WATERMARKS
from provenance.cli.mark import one_key, parse_identifier
from provenance.credentials.signing import SigningError, source_type_uri
from provenance.errors import ArgumentError, MediaError
from provenance.repository import RepositoryError

__all__ = ["sign_command"]


def sign_command(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="IN", help="The file to sign (MP4, MOV, JPEG, PNG, WebP...).", dir_okay=False
        ),
    ],
    output: Annotated[
        Path, typer.Argument(metavar="OUT", help="Where the signed copy goes.", dir_okay=False)
    ],
    cert: Annotated[
        Path,
        typer.Option(
            "--cert",
            metavar="FILE",
            help="PEM certificate chain, the signing certificate first.",
            exists=True,
            dir_okay=False,
        ),
    ],
    private_key: Annotated[
        Path,
        typer.Option(
            "--private-key",
            metavar="FILE",
            help="Its PEM private key (unencrypted; never printed).",
            exists=True,
            dir_okay=False,
        ),
    ],
    source_type: Annotated[
        str,
        typer.Option(
            "--source-type",
            metavar="TYPE",
            help="IPTC digital source type, by name or URI, e.g. digitalCapture.",
        ),
    ] = "trainedAlgorithmicMedia",
    title: Annotated[
        str | None,
        typer.Option("--title", metavar="TEXT", help="Manifest title (default: the output name)."),
    ] = None,
    generator: Annotated[
        str | None,
        typer.Option(
            "--generator",
            metavar="NAME",
            help="The tool or model that made the content (softwareAgent).",
        ),
    ] = None,
    tsa: Annotated[
        str | None,
        typer.Option(
            "--tsa",
            metavar="URL",
            help="RFC 3161 time-stamp authority to countersign (uses the network).",
        ),
    ] = None,
    ingredients: Annotated[
        list[Path] | None,
        typer.Option(
            "--ingredient",
            metavar="FILE",
            help="An input it was made from, its credentials carried along (repeatable).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    mark: Annotated[
        bool,
        typer.Option(
            "--mark",
            rich_help_panel=WATERMARKS,
            help="First mark it with an identifier the manifest declares (needs a key).",
        ),
    ] = False,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            metavar="KEY",
            rich_help_panel=WATERMARKS,
            help="With --mark: the mark key. Prefer --key-file.",
        ),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            metavar="FILE",
            rich_help_panel=WATERMARKS,
            help="With --mark: a key file holding one key (else $PROVENANCE_MARK_KEY).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    identifier: Annotated[
        str | None,
        typer.Option(
            "--identifier",
            metavar="HEX",
            rich_help_panel=WATERMARKS,
            help="With --mark: the identifier, 16 hex digits (default: random).",
        ),
    ] = None,
    psnr: Annotated[
        float,
        typer.Option(
            "--psnr",
            metavar="DB",
            rich_help_panel=WATERMARKS,
            help="With --mark: the mark's target PSNR.",
            min=42.0,
            max=60.0,
        ),
    ] = 42.5,
    repository: Annotated[
        Path | None,
        typer.Option(
            "--repository",
            "-r",
            metavar="FILE",
            rich_help_panel=RECOVERY,
            help="Also keep the manifest store in this SQLite repository (created if missing).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Sign a file with C2PA Content Credentials declaring how it was made.

    The source type says how: trainedAlgorithmicMedia (made by an AI model),
    compositeWithTrainedAlgorithmicMedia, digitalCapture... With --mark, the file is first
    marked with a 64-bit identifier the manifest declares (a c2pa.soft-binding assertion), so
    its credentials can be recovered from copies they were stripped from.
    """
    from provenance.durable import sign_durable

    if not mark and (key is not None or key_file is not None or identifier is not None):
        raise typer.BadParameter("--key, --key-file and --identifier go with --mark")
    mark_key = one_key(key, key_file) if mark else None
    try:
        durable = sign_durable(
            source,
            output,
            chain_pem=cert.read_bytes(),
            private_key_pem=private_key.read_bytes(),
            mark_key=mark_key,
            identifier=parse_identifier(identifier),
            psnr=psnr,
            repository=repository,
            digital_source_type=source_type_uri(source_type),
            software_agent=generator,
            title=title,
            ingredients=ingredients or (),
            timestamp_url=tsa,
        )
    except RepositoryError as exc:
        fail(f"{output} may be signed, but the manifest was not kept: {exc}", EXIT_USAGE)
    except (SigningError, ArgumentError, MediaError) as exc:
        fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        fail(f"cannot read or write a file: {exc.strerror or exc}", EXIT_USAGE)
    typer.echo(f"signed {output} (manifest {durable.signed.manifest_id})")
    if durable.binding_value is not None:
        typer.echo(
            f"marked with identifier {durable.identifier:016x} "
            f"(soft binding {durable.binding_value})"
        )
    if durable.repository is not None:
        typer.echo(f"kept its manifest store in {durable.repository}")
