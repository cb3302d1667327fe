"""``provenance repository``: keep signed manifest stores apart from the files they describe."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.table import Table
from rich.text import Text

from provenance.cli.common import (
    EXIT_FAILED_CHECK,
    EXIT_USAGE,
    fail,
    stderr_console,
    stdout_console,
)
from provenance.cli.help import LIMITS, OUTPUT, WATERMARKS, HelpCommand, HelpGroup
from provenance.errors import ArgumentError, InputError
from provenance.render.text import terminal_text
from provenance.repository import ManifestRepository, RepositoryError, iter_entries
from provenance.watermark.keys import environment_keys, read_key_file

if TYPE_CHECKING:
    from provenance.repository.server import ContentReader

__all__ = ["repository_app"]

repository_app = typer.Typer(
    cls=HelpGroup,
    help=(
        "Keep signed manifest stores, so credentials stripped from a file can be recovered."
        "\n\nA repository is one SQLite file of C2PA manifest stores, indexed by manifest id "
        "and by the soft bindings (watermark identifiers) they declare."
    ),
    no_args_is_help=True,
)

RepositoryPath = Annotated[
    Path,
    typer.Option(
        "--repository",
        "-r",
        envvar="PROVENANCE_REPOSITORY",
        metavar="FILE",
        help="The repository file (SQLite; created by 'add').",
        dir_okay=False,
    ),
]


ManifestId = Annotated[str, typer.Argument(metavar="ID", help="The manifest id (urn:c2pa:...).")]


def _not_kept(manifest_id: str, repository: Path) -> NoReturn:
    fail(f"no manifest {manifest_id!r} in {repository}; 'provenance repository list' shows them")


def _open(path: Path, *, create: bool = False) -> ManifestRepository:
    try:
        return ManifestRepository(path, create=create)
    except RepositoryError as exc:
        fail(str(exc), EXIT_USAGE)


@repository_app.command("add", cls=HelpCommand)
def repository_add(
    stores: Annotated[
        list[Path],
        typer.Argument(
            metavar="STORE",
            help="Manifest store files (.c2pa, as 'provenance sign' or a C2PA signer writes them).",
            exists=True,
            dir_okay=False,
        ),
    ],
    repository: RepositoryPath,
    added_by: Annotated[
        str,
        typer.Option("--added-by", metavar="NAME", help="Who adds them, recorded with each entry."),
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


@repository_app.command("list", cls=HelpCommand)
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
            table.add_row(  # manifest strings are the signer's: shown, never obeyed
                terminal_text(entry.manifest_id),
                terminal_text(entry.title or ""),
                terminal_text(entry.claim_generator or ""),
                Text("\n").join(terminal_text(f"{alg}: {value}") for alg, value in entry.bindings),
                terminal_text(f"{entry.added_at} by {entry.added_by}"),
            )
        console.print(table)
        count = len(repo)
        console.print(Text(f"{count} manifest store{'' if count == 1 else 's'} in {repository}"))


@repository_app.command("show", cls=HelpCommand)
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


@repository_app.command("export", cls=HelpCommand)
def repository_export(
    manifest_id: ManifestId,
    output: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="Where to write the manifest store (.c2pa).", dir_okay=False
        ),
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


def _content_reader(
    keys: list[str], key_files: list[Path], repository: Path
) -> tuple[ContentReader | None, tuple[str, ...]]:
    """The reader of mark identifiers for ``byContent``, and the algorithm it reads, when a
    key is given (``--key``, ``--key-file``, else ``$PROVENANCE_MARK_KEY``); the watermark
    code is imported only then. Each asset is also matched against the identifiers the
    repository holds at that moment (far more robust than reading blind)."""
    found = [key for key in keys if key]
    for key_file in key_files:
        try:
            found += read_key_file(key_file)
        except InputError as exc:
            raise typer.BadParameter(str(exc), param_hint="--key-file") from None
    chosen = tuple(dict.fromkeys(found or environment_keys()))
    if not chosen:
        return None, ()
    from provenance.watermark import identifier as ids
    from provenance.watermark.detect import identifiers_in_file

    def reader(path: Path) -> Sequence[tuple[str, str]]:
        with ManifestRepository(repository, read_only=True) as repo:
            values = repo.binding_values(ids.ALGORITHM, limit=ids.MAX_KNOWN + 1)
        return identifiers_in_file(path, chosen, ids.known_identifiers(values))

    return reader, (ids.ALGORITHM,)


@repository_app.command("serve", cls=HelpCommand)
def repository_serve(
    repository: RepositoryPath,
    host: Annotated[
        str,
        typer.Option(
            "--host",
            metavar="ADDRESS",
            help="Address to listen on; any but 127.0.0.1 opens plain HTTP to others.",
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            metavar="N",
            help="TCP port (0: a free one, named in the URL printed).",
            min=0,
            max=65535,
        ),
    ] = 8080,
    write_token: Annotated[
        str | None,
        typer.Option(
            "--write-token",
            envvar="PROVENANCE_REPOSITORY_TOKEN",
            metavar="TOKEN",
            help="Accept new manifest stores sent with this bearer token (16+ characters).",
        ),
    ] = None,
    keys: Annotated[
        list[str],
        typer.Option(
            "--key",
            metavar="KEY",
            rich_help_panel=WATERMARKS,
            help="A mark key for byContent (repeatable); prefer --key-file.",
        ),
    ] = [],  # noqa: B006 (typer reads the default; it is never mutated)
    key_files: Annotated[
        list[Path],
        typer.Option(
            "--key-file",
            metavar="FILE",
            rich_help_panel=WATERMARKS,
            help="Mark keys, one per line (repeatable).",
            exists=True,
            dir_okay=False,
        ),
    ] = [],  # noqa: B006
    max_body_mb: Annotated[
        float,
        typer.Option(
            "--max-body-mb",
            metavar="MB",
            rich_help_panel=LIMITS,
            help="Largest byContent upload in MB (10^6 bytes); a larger one gets 413.",
            min=0.001,
        ),
    ] = 200.0,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            rich_help_panel=OUTPUT,
            help="Log one line per request.",
        ),
    ] = True,
) -> None:
    """Serve the repository with the C2PA Soft Binding Resolution API; Ctrl-C stops it.

    Read-only unless a write token is given: clients then add manifest stores with
    'Authorization: Bearer TOKEN'. With a mark key (--key-file, --key or $PROVENANCE_MARK_KEY),
    POST /matches/byContent reads identifiers from uploaded pictures and clips. Keys and
    tokens on a command line are visible to other users: prefer files and variables.
    """
    try:
        from provenance.repository.server import (
            ResolutionServer,
            ServerSettings,
            create_app,
            is_loopback,
        )
    except ImportError as exc:
        fail(
            f"serving needs starlette and uvicorn ({exc}): pip install 'provenance-checker[serve]'"
        )
    write_token = write_token or None  # an empty $PROVENANCE_REPOSITORY_TOKEN is no token
    reader, algorithms = _content_reader(keys, key_files, repository)
    if write_token is not None and not repository.exists():
        _open(repository, create=True).close()  # a writable server may start empty
    try:
        with ManifestRepository(repository, read_only=True) as repo:
            count = len(repo)
        settings = ServerSettings(
            repository=repository,
            write_token=write_token,
            content_reader=reader,
            content_algorithms=algorithms,
            max_body_bytes=max(1, round(max_body_mb * 1_000_000)),
        )
        server = ResolutionServer(
            create_app(settings),
            host=host,
            port=port,
            log_level="info",
            access_log=access_log,
        )
    except (RepositoryError, ArgumentError) as exc:
        fail(str(exc), EXIT_USAGE)
    warn = stderr_console()
    if not is_loopback(host):
        warn.print(
            Text("warning:", style="bold yellow").append(
                f" --host {host} makes the repository reachable from other machines, over "
                "plain HTTP"
                + (": the write token travels unencrypted" if write_token else "")
                + "; put a TLS proxy in front of it",
                style="",
            )
        )
    mode = "accepting manifests with the write token" if write_token else "read-only"
    content = "reads mark identifiers" if reader else "off (no mark key)"
    stores = f"{count} manifest store{'' if count == 1 else 's'}"
    typer.echo(f"serving {repository} ({stores}, {mode}) at {server.url}")
    typer.echo(f"byContent: {content}. Press Ctrl-C to stop.")
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it ended on
        server.run()
    typer.echo("stopped")
