"""The ``provenance`` command line. Thin: parse options, call the library once, render, exit.

Exit codes (also in the README):

0  every file was checked and none matched ``--fail-on``
1  at least one file matched ``--fail-on``
2  usage error (bad option, unreadable trust anchors; a scan that cannot start)
3  at least one file could not be (fully) checked: verdict error or unsupported, or an error
   recorded in its report. Takes precedence over 1.
4  ``trust update`` could not download the lists (nothing was changed)
"""

from __future__ import annotations

import dataclasses
import enum
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from provenance._version import __version__
from provenance.batch import Engine
from provenance.check import CheckOptions, check, iter_media_files
from provenance.credentials import trust as trust_lists
from provenance.errors import NetworkError, TrustListError
from provenance.media.sampling import Sampling
from provenance.render import render_details, render_table, to_json, to_jsonl
from provenance.report import Report, TrustSource, VerdictCode
from provenance.watermark.options import (
    DEFAULT_SAMPLING,
    CropSearch,
    WatermarkOptions,
    environment_keys,
)

__all__ = [
    "EXIT_FAILED_CHECK",
    "EXIT_MATCHED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_USAGE",
    "app",
    "main",
]

EXIT_OK = 0
EXIT_MATCHED = 1
EXIT_USAGE = 2
EXIT_FAILED_CHECK = 3
EXIT_NETWORK = 4

app = typer.Typer(
    name="provenance",
    help=(
        "Check video clips and images for evidence of AI generation: Content Credentials "
        "(C2PA) and invisible watermarks. Offline by default. Absence of a "
        "signal never means authentic."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
trust_app = typer.Typer(
    help="Manage the trust lists used to decide whether a signer is recognised.",
    no_args_is_help=True,
)
app.add_typer(trust_app, name="trust")

_stderr = Console(stderr=True)


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"provenance-checker {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Check media for evidence of AI generation."""


def _stdout_console() -> Console:
    """Standard output; piped output (logs, CI) gets a wide table, not rich's 80 columns."""
    return Console(width=None if sys.stdout.isatty() else 160)


def _trust_sources(chosen: list[TrustSource]) -> tuple[TrustSource, ...] | None:
    """``--trust-list`` choices as trust sources: None (all installed) when none was given,
    ``()`` for ``none``."""
    if not chosen:
        return None
    return tuple(choice for choice in chosen if choice is not TrustSource.NONE)


def _parse_fail_on(values: list[str]) -> set[VerdictCode]:
    codes: set[VerdictCode] = set()
    valid = ", ".join(c.value for c in VerdictCode)
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if item == "ai":
                codes |= {VerdictCode.AI_DECLARED, VerdictCode.AI_EDITED, VerdictCode.AI_WATERMARK}
                continue
            try:
                codes.add(VerdictCode(item))
            except ValueError:
                raise typer.BadParameter(
                    f"unknown verdict {item!r}; use 'ai' or one of: {valid}"
                ) from None
    return codes


def exit_code(reports: list[Report], fail_on: set[VerdictCode]) -> int:
    """The documented exit code for a set of reports."""
    incomplete = {VerdictCode.ERROR, VerdictCode.UNSUPPORTED}
    if any(r.errors or incomplete & set(r.verdict.labels) for r in reports):
        return EXIT_FAILED_CHECK
    if any(fail_on & set(r.verdict.labels) for r in reports):
        return EXIT_MATCHED
    return EXIT_OK


# Options shared by `check` and `scan` (one definition each, so their help stays the same).
FailOnOption = Annotated[
    list[str],
    typer.Option(
        "--fail-on",
        help=(
            "Exit with 1 when any file's verdict labels include one of these (comma-separated or "
            "repeated): verdict codes such as ai_declared, credentials_tampered, or 'ai' for "
            "ai_declared, ai_edited and ai_watermark."
        ),
    ),
]
TrustDirOption = Annotated[
    Path | None,
    typer.Option(
        "--trust-dir",
        help="Trust directory to use instead of the installed one ($PROVENANCE_TRUST_DIR or the user data directory).",
        file_okay=False,
    ),
]
TrustListOption = Annotated[
    list[TrustSource],
    typer.Option(
        "--trust-list",
        help="Use only these trust sources (repeatable): official, interim, user, or none. Default: all installed.",
    ),
]
AnchorsOption = Annotated[
    list[Path],
    typer.Option(
        "--anchors",
        help="Extra PEM trust anchors for this run (repeatable); reported as user anchors.",
        exists=True,
        dir_okay=False,
    ),
]
CredentialsOnlyOption = Annotated[
    bool,
    typer.Option(
        "--credentials-only",
        help="Check Content Credentials only: skip reading media facts and watermark detection (faster for large batches).",
    ),
]
DetectorOption = Annotated[
    list[str],
    typer.Option(
        "--detector",
        help=(
            "Watermark detectors to run (repeatable): dwtdct (the public SD/SDXL/SVD/FLUX/"
            "InvokeAI marks), keyed (your own keyed mark; needs a key), or none. Default: "
            "dwtdct, plus keyed when a key is given."
        ),
    ),
]
KeysOption = Annotated[
    list[str],
    typer.Option(
        "--key",
        help="A keyed-mark key to look for (repeatable). Prefer --key-file or $PROVENANCE_MARK_KEY: command lines are visible to other users.",
    ),
]
KeyFilesOption = Annotated[
    list[Path],
    typer.Option(
        "--key-file",
        help="A file of keyed-mark keys, one per line (repeatable).",
        exists=True,
        dir_okay=False,
    ),
]
SamplingOption = Annotated[
    str,
    typer.Option(
        "--sampling",
        help="Frames to read from each clip: evenly:N (N evenly spaced frames), keyframes, every:N (every N-th frame) or all.",
    ),
]
MaxFramesOption = Annotated[
    int | None,
    typer.Option("--max-frames", help="Read at most this many frames per clip.", min=1),
]
CropSearchOption = Annotated[
    CropSearch,
    typer.Option(
        "--crop-search",
        help="When to run the dwtDct crop-robust search (slower; finds marks in cropped pictures): auto (still images only), on (every frame), off.",
    ),
]
ResizeSearchOption = Annotated[
    bool,
    typer.Option(
        "--resize-search/--no-resize-search",
        help="Also decode pictures resized back to native generator sizes of the same shape (images and a clip's first frame).",
    ),
]
FetchRemoteOption = Annotated[
    bool,
    typer.Option(
        "--fetch-remote",
        help="Allow downloading remote manifests over the network. Off by default: checks are offline.",
    ),
]


@app.command("check")
def check_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders to check. Folders are walked recursively for media files.",
            show_default=False,
            readable=False,  # an unreadable file gets its own error record, not a usage error
        ),
    ],
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="Output: a table (with details for a single file), one JSON array, or JSON Lines.",
        ),
    ] = OutputFormat.TABLE,
    fail_on: FailOnOption = [],  # noqa: B006 (typer reads the default; it is never mutated)
    trust_dir: TrustDirOption = None,
    trust_list: TrustListOption = [],  # noqa: B006
    anchors: AnchorsOption = [],  # noqa: B006
    sidecar: Annotated[
        Path | None,
        typer.Option(
            "--sidecar",
            help="A detached .c2pa manifest store for the file being checked.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    fragments: Annotated[
        list[Path],
        typer.Option(
            "--fragment",
            help="An fMP4 media fragment (.m4s) of the init segment being checked (repeatable, in order).",
            exists=True,
            dir_okay=False,
        ),
    ] = [],  # noqa: B006
    credentials_only: CredentialsOnlyOption = False,
    detector: DetectorOption = [],  # noqa: B006
    keys: KeysOption = [],  # noqa: B006
    key_files: KeyFilesOption = [],  # noqa: B006
    sampling: SamplingOption = str(DEFAULT_SAMPLING),
    max_frames: MaxFramesOption = None,
    crop_search: CropSearchOption = CropSearch.AUTO,
    resize_search: ResizeSearchOption = True,
    fetch_remote: FetchRemoteOption = False,
    evidence_html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help=(
                "Also write a self-contained HTML evidence report to this file: hashes, "
                "credentials in detail, watermark figures with a per-frame chart and the "
                "strongest frame, credential thumbnail, trust snapshot and versions."
            ),
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Check files for Content Credentials, AI declarations and AI-generator watermarks."""
    wanted = _parse_fail_on(fail_on)
    watermarks = _watermark_options(
        detector, keys, key_files, sampling, max_frames, crop_search, resize_search
    )
    sources = _trust_sources(trust_list)
    options = CheckOptions(
        trust_dir=trust_dir,
        trust_sources=sources,
        extra_anchors=tuple(anchors),
        sidecar=sidecar,
        fragments=tuple(fragments),
        fetch_remote=fetch_remote,
        credentials_only=credentials_only,
        watermarks=watermarks,
        previews=evidence_html is not None,
    )
    try:
        options = dataclasses.replace(options, trust=options.load_trust())
    except TrustListError as exc:
        _stderr.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    reports: list[Report] = []
    stdout = _stdout_console()
    for path in iter_media_files(paths):
        report = check(path, options)
        reports.append(report)
        if output_format is OutputFormat.JSONL:
            sys.stdout.write(to_jsonl([report]))
            sys.stdout.flush()
    if evidence_html is not None and reports:
        from provenance.batch.outputs import write_evidence_html

        write_evidence_html(evidence_html, reports)
    if output_format is OutputFormat.JSON:
        sys.stdout.write(to_json(reports) + "\n")
    elif output_format is OutputFormat.TABLE:
        render_table(reports, stdout)
        if len(reports) == 1:
            render_details(reports[0], stdout)
    raise typer.Exit(exit_code(reports, wanted))


@app.command("scan")
def scan_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Files and folders to scan; folders are walked recursively.",
            show_default=False,
            readable=False,
        ),
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Also scan the paths listed in this file, one per line ('-' reads standard input; blank lines and # comments are skipped).",
        ),
    ] = None,
    include: Annotated[
        list[str],
        typer.Option(
            "--include",
            help="Only scan files whose path below the folder, or name, matches this shell pattern (repeatable), e.g. '*.mp4' or 'clips/**'.",
        ),
    ] = [],  # noqa: B006
    exclude: Annotated[
        list[str],
        typer.Option(
            "--exclude",
            help="Skip files and folders matching this shell pattern (repeatable), e.g. '*.tmp' or 'proxies'.",
        ),
    ] = [],  # noqa: B006
    follow_links: Annotated[
        bool,
        typer.Option("--follow-links", help="Follow symbolic links to folders while walking."),
    ] = False,
    sniff: Annotated[
        bool,
        typer.Option(
            "--sniff/--no-sniff",
            help="Also scan files without a media suffix whose first bytes are media (--no-sniff: suffixes only).",
        ),
    ] = True,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", help="Worker processes (default: the number of CPUs).", min=1),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Seconds one file may take; a file over it gets an error record and the scan goes on (0: no limit).",
            min=0,
        ),
    ] = 900.0,
    memory_limit: Annotated[
        int,
        typer.Option(
            "--memory-limit",
            help="MiB of memory one worker may use; a file over it gets an error record and the scan goes on (0: no limit).",
            min=0,
        ),
    ] = 2048,
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            help="SQLite results store: unchanged files already checked with the same settings are not checked again.",
            dir_okay=False,
        ),
    ] = Path("provenance-scan.db"),
    no_store: Annotated[
        bool,
        typer.Option("--no-store", help="Keep no results store (every file is checked)."),
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the store's last interrupted scan: its paths and settings (give its keys again if it used any).",
        ),
    ] = False,
    rescan: Annotated[
        bool,
        typer.Option("--rescan", help="Check every file again, ignoring stored results."),
    ] = False,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors",
            help="Check again the files whose stored result is an error (time or memory limit, crash, unreadable).",
        ),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(
            "--engine",
            help="local: worker processes on this machine; dask: a Dask cluster (--scheduler, or a LocalCluster); inline: in this process, no isolation (debugging).",
        ),
    ] = Engine.LOCAL,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (with --engine dask; workers must see the files at the same paths).",
        ),
    ] = None,
    jsonl_path: Annotated[
        Path | None,
        typer.Option(
            "--jsonl", help="Write one JSON report per line to this file.", dir_okay=False
        ),
    ] = None,
    csv_path: Annotated[
        Path | None,
        typer.Option("--csv", help="Write one flat CSV row per file to this file.", dir_okay=False),
    ] = None,
    html_path: Annotated[
        Path | None,
        typer.Option(
            "--html",
            help="Write a self-contained HTML report (counts, sortable table, evidence per file).",
            dir_okay=False,
        ),
    ] = None,
    progress: Annotated[
        bool,
        typer.Option(
            "--progress/--no-progress",
            help="Show a live progress bar with counts per verdict (on a terminal only).",
        ),
    ] = True,
    fail_on: FailOnOption = [],  # noqa: B006
    trust_dir: TrustDirOption = None,
    trust_list: TrustListOption = [],  # noqa: B006
    anchors: AnchorsOption = [],  # noqa: B006
    credentials_only: CredentialsOnlyOption = False,
    detector: DetectorOption = [],  # noqa: B006
    keys: KeysOption = [],  # noqa: B006
    key_files: KeyFilesOption = [],  # noqa: B006
    sampling: SamplingOption = str(DEFAULT_SAMPLING),
    max_frames: MaxFramesOption = None,
    crop_search: CropSearchOption = CropSearch.AUTO,
    resize_search: ResizeSearchOption = True,
    fetch_remote: FetchRemoteOption = False,
) -> None:
    """Scan folders of clips and images in parallel: resumable, with progress and reports."""
    from provenance.batch.cli_scan import ScanRequest, run_scan
    from provenance.batch.engine import ScanOptions, usable_cpus
    from provenance.batch.settings import ScanSettings
    from provenance.batch.walk import WalkOptions

    wanted = _parse_fail_on(fail_on)
    watermarks = _watermark_options(
        detector, keys, key_files, sampling, max_frames, crop_search, resize_search
    )
    sources = _trust_sources(trust_list)
    try:
        options = ScanOptions(
            jobs=jobs or usable_cpus(),
            timeout=timeout or None,
            memory_mb=memory_limit or None,
            store=None if no_store else store,
            retry_errors=retry_errors,
            rescan=rescan,
            engine=engine,
            scheduler=scheduler,
            walk=WalkOptions(
                include=tuple(include),
                exclude=tuple(exclude),
                follow_links=follow_links,
                sniff=sniff,
            ),
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    request = ScanRequest(
        paths=[str(p) for p in paths or []],
        from_file=from_file,
        settings=ScanSettings(
            trust_dir=str(trust_dir) if trust_dir else None,
            trust_sources=(None if sources is None else tuple(source.value for source in sources)),
            anchors=tuple(str(a.resolve()) for a in anchors),
            credentials_only=credentials_only,
            fetch_remote=fetch_remote,
            detectors=watermarks.detectors,
            keys=watermarks.keys,
            sampling=sampling,
            max_frames=max_frames,
            crop_search=watermarks.crop_search.value,
            resize_search=watermarks.resize_search,
        ),
        options=options,
        resume=resume,
        jsonl=jsonl_path,
        csv=csv_path,
        html=html_path,
        progress=progress,
    )
    from provenance.batch.pool import ScanError

    try:
        reports = run_scan(request, stdout=_stdout_console(), stderr=_stderr)
    except (ValueError, OSError, ScanError) as exc:
        _stderr.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    raise typer.Exit(exit_code(reports, wanted))


def _watermark_options(
    detectors: list[str],
    keys: list[str],
    key_files: list[Path],
    sampling: str,
    max_frames: int | None,
    crop_search: CropSearch,
    resize_search: bool,
) -> WatermarkOptions:

    chosen: tuple[str, ...] | None = None
    if detectors:
        names = [n.strip().lower() for d in detectors for n in d.split(",") if n.strip()]
        chosen = tuple(n for n in names if n != "none")
    secrets = [k for k in keys if k]
    for key_file in key_files:
        secrets += [line.strip() for line in key_file.read_text("utf-8").splitlines()]
    secrets = [k for k in secrets if k]
    if not secrets and chosen is not None and "keyed" in chosen:
        secrets = list(environment_keys())
    try:
        return WatermarkOptions(
            detectors=chosen,
            keys=tuple(dict.fromkeys(secrets)),
            sampling=Sampling.parse(sampling, max_frames=max_frames),
            crop_search=crop_search,
            resize_search=resize_search,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _read_key(key: str | None, key_file: Path | None) -> str:
    import os

    given = [v for v in (key, key_file) if v is not None]
    if len(given) > 1:
        raise typer.BadParameter("give the key once: --key or --key-file, not both")
    if key_file is not None:
        text = key_file.read_text("utf-8").strip()
    else:
        text = key if key is not None else os.environ.get("PROVENANCE_MARK_KEY", "")
    if not text:
        raise typer.BadParameter(
            "no key: pass --key-file FILE (preferred: keeps the key out of shell history), "
            "set PROVENANCE_MARK_KEY, or pass --key"
        )
    return text


@app.command("mark")
def mark_command(
    source: Annotated[Path, typer.Argument(help="Clip to mark.", exists=True, dir_okay=False)],
    destination: Annotated[
        Path, typer.Argument(help="Where to write the marked clip (H.264; audio is copied).")
    ],
    key: Annotated[
        str | None,
        typer.Option("--key", help="The secret key. Prefer --key-file or $PROVENANCE_MARK_KEY."),
    ] = None,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file", help="A file holding the secret key.", exists=True, dir_okay=False
        ),
    ] = None,
    psnr: Annotated[
        float,
        typer.Option(
            "--psnr",
            help=(
                "Target PSNR of each marked frame against the original, in dB: lower is more "
                "robust to re-encoding and more visible."
            ),
            min=30,
            max=60,
        ),
    ] = 42.5,
    crf: Annotated[
        int,
        typer.Option(
            "--crf", help="H.264 quality of the output (0-51, lower is better).", min=0, max=51
        ),
    ] = 18,
) -> None:
    """Embed the keyed watermark in every frame of a clip (for platforms marking their own AI output)."""
    from provenance.errors import MediaError
    from provenance.watermark.keyed import mark_file

    secret = _read_key(key, key_file)
    if destination.resolve() == source.resolve():
        raise typer.BadParameter("the destination must differ from the source")
    try:
        frames = mark_file(source, destination, secret, psnr=psnr, crf=crf)
    except MediaError as exc:
        _stderr.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_FAILED_CHECK) from None
    typer.echo(f"Marked {frames} frames: {destination}")


@trust_app.command("update")
def trust_update(
    trust_dir: Annotated[
        Path | None,
        typer.Option(
            "--trust-dir",
            help="Where to store the lists (default: the user data directory).",
            file_okay=False,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Download every list as BASE_URL/<file name> from this mirror instead of the public URLs.",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for each download.", min=1)
    ] = 30.0,
) -> None:
    """Download the current C2PA trust lists (this uses the network)."""
    target = trust_dir or trust_lists.default_trust_dir()
    try:
        record = trust_lists.update_trust_lists(target, base_url=base_url, timeout=timeout)
    except NetworkError as exc:
        _stderr.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_NETWORK) from None
    except TrustListError as exc:
        _stderr.print(f"[bold red]error:[/] downloaded list rejected: {exc}")
        raise typer.Exit(EXIT_NETWORK) from None
    typer.echo(f"Trust lists updated in {target} (snapshot {record['date']}):")
    for name, info in record["files"].items():
        typer.echo(f"  {name}: {info['bytes']} bytes from {info['url']}")


@trust_app.command("add")
def trust_add(
    pem_file: Annotated[
        Path,
        typer.Argument(
            help="PEM file with one or more CA certificates to trust.", exists=True, dir_okay=False
        ),
    ],
    trust_dir: Annotated[
        Path | None,
        typer.Option(
            "--trust-dir",
            help="Trust directory to add to (default: the user data directory).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Add your own trust anchors (reported as 'user anchors')."""
    try:
        target = trust_lists.add_user_anchor(pem_file, trust_dir)
    except TrustListError as exc:
        _stderr.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    typer.echo(f"Added {pem_file} as a user anchor: {target}")


@trust_app.command("show")
def trust_show(
    trust_dir: Annotated[
        Path | None,
        typer.Option(
            "--trust-dir",
            help="Trust directory to describe (default: the user data directory).",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Show which trust lists are installed, how many anchors each has, and how old they are."""
    try:
        material = trust_lists.load_trust(trust_dir)
    except TrustListError as exc:
        _stderr.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
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


def main() -> None:
    """Console-script entry point."""
    app()
