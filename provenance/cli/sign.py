"""``provenance sign``: sign a file with Content Credentials (a generator or platform declaring
what its models made), optionally keeping the manifest in a repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provenance.cli.common import EXIT_USAGE, fail
from provenance.credentials.signing import SigningError, sign_media, source_type_uri
from provenance.errors import ArgumentError
from provenance.repository import ManifestRepository, RepositoryError

__all__ = ["sign_command"]


def sign_command(
    source: Annotated[
        Path,
        typer.Argument(help="The file to sign (MP4, MOV, JPEG, PNG, WebP...).", dir_okay=False),
    ],
    output: Annotated[Path, typer.Argument(help="Where the signed copy goes.", dir_okay=False)],
    cert: Annotated[
        Path,
        typer.Option(
            "--cert",
            help="PEM certificate chain, the signing certificate first.",
            exists=True,
            dir_okay=False,
        ),
    ],
    private_key: Annotated[
        Path,
        typer.Option(
            "--private-key",
            help="PEM private key of the signing certificate (unencrypted; never printed).",
            exists=True,
            dir_okay=False,
        ),
    ],
    source_type: Annotated[
        str,
        typer.Option(
            "--source-type",
            help="IPTC digital source type, by name or URI: trainedAlgorithmicMedia (made by "
            "an AI model), compositeWithTrainedAlgorithmicMedia, digitalCapture...",
        ),
    ] = "trainedAlgorithmicMedia",
    title: Annotated[
        str | None, typer.Option("--title", help="Manifest title (default: the output name).")
    ] = None,
    generator: Annotated[
        str | None,
        typer.Option(
            "--generator", help="The tool or model that made the content (softwareAgent)."
        ),
    ] = None,
    tsa: Annotated[
        str | None,
        typer.Option(
            "--tsa",
            help="RFC 3161 time-stamp authority URL to countersign (uses the network).",
        ),
    ] = None,
    repository: Annotated[
        Path | None,
        typer.Option(
            "--repository",
            "-r",
            help="Also keep the manifest store in this repository (SQLite; created if missing).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Sign a file with C2PA Content Credentials declaring how it was made."""
    try:
        signed = sign_media(
            source,
            output,
            chain_pem=cert.read_bytes(),
            private_key_pem=private_key.read_bytes(),
            digital_source_type=source_type_uri(source_type),
            software_agent=generator,
            title=title,
        )
    except (SigningError, ArgumentError) as exc:
        fail(str(exc), EXIT_USAGE)
    except OSError as exc:
        fail(f"cannot read or write a file: {exc.strerror or exc}", EXIT_USAGE)
    typer.echo(f"signed {output} (manifest {signed.manifest_id})")
    if repository is not None:
        try:
            with ManifestRepository(repository) as repo:
                repo.add(signed.store, added_by="provenance sign")
        except RepositoryError as exc:
            fail(f"signed, but the manifest was not kept: {exc}", EXIT_USAGE)
        typer.echo(f"kept its manifest store in {repository}")
