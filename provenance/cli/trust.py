"""``provenance trust``: install, extend and describe the trust lists."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from provenance.cli.common import EXIT_NETWORK, EXIT_USAGE, fail
from provenance.cli.help import HelpCommand, HelpGroup
from provenance.credentials import trust as trust_lists
from provenance.errors import NetworkError, TrustListError

__all__ = ["trust_app"]

trust_app = typer.Typer(
    cls=HelpGroup,
    help="Manage the trust lists used to decide whether a signer is recognised.",
    no_args_is_help=True,
)


@trust_app.command("update", cls=HelpCommand)
def trust_update(
    trust_dir: Annotated[
        Path | None,
        typer.Option(
            "--trust-dir",
            metavar="DIR",
            help="Where to store the lists (default: the user data directory).",
            file_okay=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="Download each list as URL/NAME from this mirror, not the public URLs.",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="Time to wait for each download.", min=1),
    ] = 30.0,
) -> None:
    """Download the current C2PA trust lists (this uses the network)."""
    target = trust_dir or trust_lists.default_trust_dir()
    try:
        record = trust_lists.update_trust_lists(target, base_url=base_url, timeout=timeout)
    except NetworkError as exc:
        fail(str(exc), EXIT_NETWORK)
    except TrustListError as exc:
        fail(f"downloaded list rejected: {exc}", EXIT_NETWORK)
    typer.echo(f"Trust lists updated in {target} (snapshot {record['date']}):")
    for name, info in record["files"].items():
        typer.echo(f"  {name}: {info['bytes']} bytes from {info['url']}")


@trust_app.command("add", cls=HelpCommand)
def trust_add(
    pem_file: Annotated[
        Path,
        typer.Argument(
            metavar="PEM",
            help="PEM file with one or more CA certificates to trust.",
            exists=True,
            dir_okay=False,
        ),
    ],
    trust_dir: Annotated[
        Path | None,
        typer.Option(
            "--trust-dir",
            metavar="DIR",
            help="Trust directory to add to (default: the user data directory).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Add your own trust anchors (reported as 'user anchors')."""
    try:
        target = trust_lists.add_user_anchor(pem_file, trust_dir)
    except TrustListError as exc:
        fail(str(exc), EXIT_USAGE)
    typer.echo(f"Added {pem_file} as a user anchor: {target}")


@trust_app.command("show", cls=HelpCommand)
def trust_show(
    trust_dir: Annotated[
        Path | None,
        typer.Option(
            "--trust-dir",
            metavar="DIR",
            help="Trust directory to describe (default: the user data directory).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Show which trust lists are installed, how many anchors each has, and how old they are."""
    try:
        material = trust_lists.load_trust(trust_dir)
    except TrustListError as exc:
        fail(str(exc), EXIT_USAGE)
    snapshot = material.snapshot
    typer.echo(f"Trust directory: {snapshot.directory}")
    if not snapshot.lists:
        typer.echo(
            "No trust list installed: no signer can be trusted. Run 'provenance trust update'."
        )
        return
    for source in snapshot.lists:
        typer.echo(f"  {source.value}: {snapshot.anchor_counts.get(source.value, 0)} anchors")
    if "interim_allowed" in snapshot.anchor_counts:
        typer.echo(
            f"  interim allowed list: {snapshot.anchor_counts['interim_allowed']} certificates"
        )
    typer.echo(
        f"Snapshot: {snapshot.snapshot_date} ({snapshot.date_source}), {snapshot.age_days} days old"
    )
