"""``provenance repository``: keep signed manifest stores apart from the files they describe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table
from rich.text import Text

from provenance.cli.common import EXIT_FAILED_CHECK, EXIT_USAGE, fail, stdout_console
from provenance.repository import ManifestRepository, RepositoryError, iter_entries

__all__ = ["repository_app"]

repository_app = typer.Typer(
    help=(
        "Keep signed C2PA manifest stores in a repository (one SQLite file), indexed by "
        "manifest id and by the soft bindings (watermark identifiers) they declare, so that "
        "credentials stripped from a file can be recovered."
    ),
    no_args_is_help=True,
)

RepositoryPath = Annotated[
    Path,
    typer.Option(
        "--repository",
        "-r",
        envvar="PROVENANCE_REPOSITORY",
        help="The repository file (SQLite; created by 'add'). Also $PROVENANCE_REPOSITORY.",
        dir_okay=False,
    ),
]


ManifestId = Annotated[str, typer.Argument(help="The manifest id (urn:c2pa:...).")]


def _not_kept(manifest_id: str, repository: Path) -> NoReturn:
    fail(f"no manifest {manifest_id!r} in {repository}; 'provenance repository list' shows them")


def _open(path: Path, *, create: bool = False) -> ManifestRepository:
    try:
        return ManifestRepository(path, create=create)
    except RepositoryError as exc:
        fail(str(exc), EXIT_USAGE)


@repository_app.command("add")
def repository_add(
    stores: Annotated[
        list[Path],
        typer.Argument(
            help="Manifest store files (.c2pa, as 'provenance sign' or a C2PA signer writes them).",
            exists=True,
            dir_okay=False,
        ),
    ],
    repository: RepositoryPath,
    added_by: Annotated[
        str,
        typer.Option("--added-by", help="Who adds them, recorded with each entry."),
    ] = "provenance repository add",
) -> None:
    """Add manifest stores; one that cannot be read is skipped (exit code 3), not the rest."""
    console = stdout_console()
    failed = 0
    with _open(repository, create=True) as repo:
        for path in stores:
            try:
                entry = repo.add(path.read_bytes(), added_by=added_by)
            except (RepositoryError, OSError) as exc:
                failed += 1
                typer.echo(f"{path}: not added: {exc}", err=True)
                continue
            bindings = len(entry.bindings)
            console.print(
                Text(
                    f"{path}: {entry.manifest_id} ({bindings} soft binding"
                    f"{'' if bindings == 1 else 's'})"
                )
            )
    if failed:
        raise typer.Exit(EXIT_FAILED_CHECK)


@repository_app.command("list")
def repository_list(
    repository: RepositoryPath,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line instead of a table.")
    ] = False,
) -> None:
    """List the manifest stores, in the order they were added."""
    console = stdout_console()
    with _open(repository) as repo:
        if as_json:
            for entry in iter_entries(repo):
                typer.echo(json.dumps(entry.to_dict()))
            return
        table = Table(header_style="bold")
        for name in ("Manifest id", "Title", "Generator", "Soft bindings", "Added"):
            table.add_column(name, overflow="fold")
        for entry in iter_entries(repo):
            table.add_row(
                Text(entry.manifest_id),
                Text(entry.title or ""),
                Text(entry.claim_generator or ""),
                Text("\n".join(f"{alg}: {value}" for alg, value in entry.bindings)),
                Text(f"{entry.added_at} by {entry.added_by}"),
            )
        console.print(table)
        count = len(repo)
        console.print(Text(f"{count} manifest store{'' if count == 1 else 's'} in {repository}"))


@repository_app.command("show")
def repository_show(
    manifest_id: ManifestId,
    repository: RepositoryPath,
) -> None:
    """Print one entry as JSON (without the store's bytes; see 'export')."""
    with _open(repository) as repo:
        entry = repo.get(manifest_id)
    if entry is None:
        _not_kept(manifest_id, repository)
    typer.echo(json.dumps(entry.to_dict(), indent=2))


@repository_app.command("export")
def repository_export(
    manifest_id: ManifestId,
    output: Annotated[
        Path, typer.Argument(help="Where to write the manifest store (.c2pa).", dir_okay=False)
    ],
    repository: RepositoryPath,
) -> None:
    """Write one manifest store to a file (a C2PA sidecar: 'check --sidecar' reads it)."""
    with _open(repository) as repo:
        store = repo.manifest_store(manifest_id)
    if store is None:
        _not_kept(manifest_id, repository)
    try:
        output.write_bytes(store)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    typer.echo(f"wrote {output} ({len(store):,} bytes)")
