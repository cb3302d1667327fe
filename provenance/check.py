"""The check pipeline: one file (or bytes) in, one :class:`~provenance.report.Report` out.

path -> input checks and sha256 -> sniff -> media probe -> Content Credentials -> watermark
detectors on sampled frames -> verdict.
Every stage's failure becomes a :class:`~provenance.report.CheckError` in the report: a check
never raises for a bad file, so a batch always finishes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from provenance._version import __version__, engine_versions
from provenance.credentials.reader import read_credentials
from provenance.credentials.trust import TrustMaterial
from provenance.errors import MediaError, OversizedMediaError, ProvenanceError
from provenance.media.bmff import is_fragmented_init
from provenance.media.probe import probe
from provenance.media.sniff import SNIFF_BYTES, sniff
from provenance.options import CheckOptions
from provenance.report import (
    CheckError,
    CredentialsEvidence,
    CredentialsState,
    FramePicture,
    MediaInfo,
    MediaKind,
    RecoveredCredentials,
    Report,
    TrustSnapshot,
    WatermarkEvidence,
)
from provenance.verdict import derive_verdict
from provenance.watermark.options import WatermarkOptions

__all__ = ["check", "check_bytes", "failed_report", "upload_file"]

_CHUNK = 1 << 20


#: Files at least this big are hashed in a thread, beside the decoding and the detectors.
_HASH_BESIDE_BYTES = 32 << 20


class _Digest:
    """The file's sha256 and size, and its first bytes for sniffing, in one streaming pass.

    A big file is hashed in a thread while the check goes on: hashlib leaves the interpreter
    lock for large blocks, and the decoder reads exact quantisers on one core, so on two cores
    the hash of a 30-minute clip costs no wall time. Opening the file happens here, so an
    unreadable file fails at once.
    """

    def __init__(self, path: Path) -> None:
        self._stream = path.open("rb")
        self.head = self._stream.read(_CHUNK)
        self.stated_size = os.fstat(self._stream.fileno()).st_size
        self._digest = hashlib.sha256(self.head)
        self._size = len(self.head)
        self._error: OSError | None = None
        self._thread: threading.Thread | None = None
        if self.stated_size >= _HASH_BESIDE_BYTES:
            self._thread = threading.Thread(target=self._rest, name="provenance-hash")
            self._thread.start()
        else:
            self._rest()

    def _rest(self) -> None:
        try:
            with self._stream:
                while chunk := self._stream.read(_CHUNK):
                    self._digest.update(chunk)
                    self._size += len(chunk)
        except OSError as exc:  # re-raised by result()
            self._error = exc

    def result(self) -> tuple[str, int]:
        """(sha256, size) of what was read; raises the read's :class:`OSError`."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest.hexdigest(), self._size


def _unreadable(source: Path, exc: OSError) -> CheckError:
    return CheckError("input", "unreadable", f"{source}: read failed ({exc.strerror or exc}).")


def _listable(folder: Path) -> bool:
    try:
        with os.scandir(folder):
            return True
    except PermissionError:
        return False
    except OSError:  # anything else: the folder's own check says what it holds
        return True


def _input_error(path: Path) -> CheckError | None:
    """Why ``path`` cannot be checked at all, or None."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return CheckError("input", "not_found", f"{path}: no such file. Check the path.")
    except PermissionError:
        return CheckError(
            "input", "permission", f"{path}: permission denied. Check the file's permissions."
        )
    except OSError as exc:
        return CheckError("input", "unreadable", f"{path}: cannot access ({exc.strerror}).")
    if stat.S_ISDIR(info.st_mode) and not _listable(path):
        return CheckError(
            "input",
            "unreadable_folder",
            f"{path}: a folder that cannot be read (permission denied), so the files in it "
            "were not checked. Give read access to it, or leave it out with --exclude.",
        )
    if stat.S_ISDIR(info.st_mode):
        return CheckError(
            "input",
            "is_directory",
            f"{path}: is a folder, not a media file, and holds no media files to check "
            "(folders are walked for files with media suffixes such as .mp4, .mov, .jpg).",
        )
    if not stat.S_ISREG(info.st_mode):
        return CheckError(
            "input",
            "not_a_file",
            f"{path}: not a regular file (a named pipe, a socket or a device), so it was not "
            "opened. Leave it out with --exclude, or check a copy saved as a file.",
        )
    if info.st_size == 0:
        return CheckError(
            "input",
            "empty",
            f"{path}: empty file (0 bytes). Check that the copy or upload finished.",
        )
    return None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _report(
    path: Path,
    *,
    started: float,
    checked_at: str,
    credentials: CredentialsEvidence,
    errors: Sequence[CheckError],
    sha256: str | None = None,
    size: int | None = None,
    media: MediaInfo | None = None,
    watermarks: Sequence[WatermarkEvidence] = (),
    recovered: Sequence[RecoveredCredentials] = (),
    pictures: Sequence[FramePicture] = (),
    frames: bool = False,
) -> Report:
    return Report(
        path=str(path),
        sha256=sha256,
        size_bytes=size,
        media=media,
        credentials=credentials,
        watermarks=tuple(watermarks),
        verdict=derive_verdict(credentials, watermarks, errors, recovered),
        errors=tuple(errors),
        tool_version=__version__,
        engine_versions=engine_versions(frames=frames),
        checked_at=checked_at,
        elapsed_seconds=round(time.perf_counter() - started, 6),
        recovered=tuple(recovered),
        frame_pictures=tuple(pictures),
    ).printable()  # a file name that is not UTF-8 shows escaped, so every output writes it


def failed_report(
    path: str | os.PathLike[str],
    error: CheckError,
    *,
    why: str,
    elapsed_seconds: float = 0.0,
    trust: TrustMaterial | None = None,
) -> Report:
    """The report of a file whose check could not run or did not finish.

    For callers that run :func:`check` out of process (``provenance scan``): a worker stopped
    at its time or memory limit, or killed by a crash in a native library, still leaves one
    report for its file, with verdict ``error`` and ``error`` saying what happened.
    """
    snapshot = trust.snapshot if trust is not None else TrustSnapshot()
    credentials = CredentialsEvidence(
        state=CredentialsState.NOT_CHECKED, trust_snapshot=snapshot, message=why
    )
    return _report(
        Path(path),
        started=time.perf_counter() - elapsed_seconds,
        checked_at=_now(),
        errors=[error],
        credentials=credentials,
    )


def check(path: str | os.PathLike[str], options: CheckOptions | None = None) -> Report:
    """Check one file and return its report. Never raises for a bad file.

    The check runs in the calling process, with no time or memory limit: a hostile file
    (a decompression bomb under the pixel budget, content that sends a native decoder into a
    loop) can hold it for long or grow it large. For files from strangers use
    :func:`provenance.check_isolated`, which runs this in a worker process with the limits
    ``provenance check`` and ``provenance scan`` apply (900 s, 2048 MiB by default).

    Parameters
    ----------
    path
        The file to check.
    options
        How to check; :class:`CheckOptions` defaults when ``None``.

    Raises
    ------
    TrustListError
        Only for bad trust configuration (an anchor file that does not parse), which would
        make every result wrong; bad *input files* are reported in the report instead.
    """
    opts = options or CheckOptions()
    trust = opts.load_trust()
    source = Path(path)
    started = time.perf_counter()
    checked_at = _now()
    errors: list[CheckError] = []

    def not_checked(error: CheckError, why: str) -> Report:
        elapsed = time.perf_counter() - started
        return failed_report(source, error, why=why, elapsed_seconds=elapsed, trust=trust)

    problem = _input_error(source)
    if problem is not None:
        return not_checked(problem, "The file could not be opened, so nothing was checked.")

    try:
        digest = _Digest(source)
    except PermissionError:
        error = CheckError(
            "input", "permission", f"{source}: permission denied. Check the file's permissions."
        )
        return not_checked(error, "The file could not be opened, so nothing was checked.")
    except OSError as exc:
        return not_checked(
            _unreadable(source, exc), "The file could not be read, so nothing was checked."
        )
    size = digest.stated_size
    file_type = sniff(digest.head[:SNIFF_BYTES])

    media: MediaInfo | None = None
    if file_type.family == "pdf" and not opts.credentials_only:
        # a documented Content Credentials format: a document, not a failed media file; it
        # simply has no frames for the watermark detectors
        media = MediaInfo(kind=MediaKind.OTHER, container="pdf", size_bytes=size)
    elif not opts.credentials_only and file_type.family not in ("c2pa", "fmp4_fragment"):
        try:
            media = probe(source, size_bytes=size)
        except MediaError as exc:
            if not (file_type.family == "bmff" and is_fragmented_init(source)):
                kind = "not_media" if file_type.family == "unknown" else "corrupt"
                kind = "too_large" if isinstance(exc, OversizedMediaError) else kind
                errors.append(CheckError("media", kind, str(exc)))
            # an fMP4 init segment holds no frames: no media facts, and no error either

    if file_type.family == "unknown" and opts.sidecar is None and media is None:
        if not errors:  # credentials-only mode skipped the probe that would have said so
            errors.append(
                CheckError(
                    "media",
                    "not_media",
                    f"{source.name}: not a recognised video, audio or image format. Check that "
                    "the file is complete and is media.",
                )
            )
        credentials = CredentialsEvidence(
            state=CredentialsState.NOT_CHECKED,
            trust_snapshot=trust.snapshot,
            message="Not a recognised media format, so Content Credentials were not looked for.",
        )
    else:
        credentials = read_credentials(
            source,
            trust=trust,
            mime_type=file_type.mime_type,
            family=file_type.family,
            sidecar=opts.sidecar,
            fragments=opts.fragments,
            fetch_remote=opts.fetch_remote,
            thumbnail=opts.previews,
        )
    watermarks: tuple[WatermarkEvidence, ...] = ()
    pictures: tuple[FramePicture, ...] = ()
    if not opts.credentials_only:
        watermarks, pictures = _watermarks(
            source,
            media,
            opts.watermarks,
            errors,
            previews=opts.previews,
            known=_known_identifiers(opts),
        )
    try:
        recovered = _recover(source, watermarks, opts, trust, file_type.mime_type, file_type.family)
    except (ProvenanceError, OSError, ValueError, RuntimeError) as exc:  # a hostile answer
        recovered = ()
        errors.append(
            CheckError(
                "recovery",
                "failed",
                f"Stripped credentials could not be recovered ({exc}); the rest of the check "
                "stands. Check the repository file or the resolution service.",
            )
        )
    try:
        sha256, size = digest.result()
    except OSError as exc:
        return not_checked(
            _unreadable(source, exc), "The file could not be read, so nothing was checked."
        )
    return _report(
        source,
        started=started,
        checked_at=checked_at,
        errors=errors,
        credentials=credentials,
        sha256=sha256,
        size=size,
        media=media,
        watermarks=watermarks,
        recovered=recovered,
        pictures=pictures,
        frames=not opts.credentials_only,
    )


def _known_identifiers(options: CheckOptions) -> tuple[int, ...]:
    """The identifiers the local repository holds, for the keyed detector to match against
    (empty without a repository or a key, or when the repository cannot be read: recovery
    then says why)."""
    if options.repository is None or not options.watermarks.keys:
        return ()
    import sqlite3

    from provenance.repository import ManifestRepository, RepositoryError
    from provenance.watermark import identifier as ids

    try:
        with ManifestRepository(options.repository, create=False, read_only=True) as repository:
            values = repository.binding_values(ids.ALGORITHM, limit=ids.MAX_KNOWN + 1)
    except (RepositoryError, sqlite3.Error):
        return ()
    return ids.known_identifiers(values)


def _recover(
    source: Path,
    watermarks: Sequence[WatermarkEvidence],
    options: CheckOptions,
    trust: TrustMaterial,
    mime_type: str | None,
    family: str | None,
) -> tuple[RecoveredCredentials, ...]:
    """Credentials recovered by the identifiers the marks carry (only with a repository or a
    resolver given: the lookup is the check's only optional network use)."""
    if options.repository is None and options.resolve_url is None:
        return ()
    identifiers = [(i.algorithm, i.value) for w in watermarks for i in w.identifiers]
    if not identifiers:
        return ()
    from provenance.repository.recover import recover_credentials

    return recover_credentials(
        source,
        identifiers,
        trust=trust,
        repository=options.repository,
        resolve_url=options.resolve_url,
        mime_type=mime_type,
        family=family,
    )


def _watermarks(
    source: Path,
    media: MediaInfo | None,
    options: WatermarkOptions,
    errors: list[CheckError],
    *,
    previews: bool = False,
    known: tuple[int, ...] = (),
) -> tuple[tuple[WatermarkEvidence, ...], tuple[FramePicture, ...]]:
    """Run the watermark detectors on the file's frames; failures become errors + states.
    Returns the evidence and (with ``previews``) pictures of some frames read."""
    active = options.active
    if not active:
        return (), ()

    if media is None:
        return options.not_checked("the file's frames could not be read (see the errors)."), ()
    if media.kind not in (MediaKind.VIDEO, MediaKind.IMAGE):
        what = "a PDF document" if media.container == "pdf" else f"an {media.kind.value} file"
        return options.not_checked(f"{what} has no frames to look at."), ()
    from provenance.watermark.detect import detect_watermarks  # numpy and OpenCV: on first use

    try:
        run = detect_watermarks(
            source,
            options,
            media=media,
            previews=previews,
            known_identifiers=known,
        )
    except MediaError as exc:
        errors.append(CheckError("watermark", "frames", str(exc)))
        return options.not_checked(str(exc)), ()
    if run.error is not None:
        errors.append(
            CheckError(
                "watermark",
                "decode",
                f"{source.name}: {run.error}; the watermark evidence covers the "
                f"{run.frames} frames read before that.",
            )
        )
    elif run.truncated:
        errors.append(
            CheckError(
                "watermark",
                "truncated",
                f"{source.name}: the video stream ends before its stated length (the file is "
                f"probably cut short); the watermark evidence covers the {run.frames} frames "
                "read.",
            )
        )
    return run.evidence, run.pictures


#: The longest name an upload's temporary file gets, in bytes (file systems allow 255).
_NAME_BYTES = 200


def _file_name_for(name: str) -> str:
    """A file name that any file system takes for an upload called ``name``: its last part,
    without NUL, cut to :data:`_NAME_BYTES` bytes with its suffix kept (a name given by an
    uploader can be anything)."""
    base = Path(name.replace("\0", "")).name or "upload"
    encoded = base.encode("utf-8", "surrogateescape")
    if len(encoded) <= _NAME_BYTES:
        return base
    suffix = Path(base).suffix.encode("utf-8", "surrogateescape")[:16]
    stem = encoded[: _NAME_BYTES - len(suffix)].decode("utf-8", "ignore")
    return stem + suffix.decode("utf-8", "ignore")


@contextlib.contextmanager
def upload_file(data: bytes, name: str = "upload") -> Iterator[Path]:
    """``data`` as a file in a private temporary folder (mode 0700), under the upload's own
    file name so messages name it; the folder is removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="provenance-"))
    try:
        temporary = folder / _file_name_for(name)
        temporary.write_bytes(data)
        yield temporary
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check_bytes(
    data: bytes, *, name: str = "upload", options: CheckOptions | None = None
) -> Report:
    """Check in-memory bytes. They are written to a private temporary file, removed afterwards.

    The report's ``path`` is ``name``. Like :func:`check`, this runs in the calling process:
    for uploads from strangers use :func:`provenance.check_bytes_isolated`.
    """
    with upload_file(data, name) as temporary:
        report = check(temporary, options)
    return dataclasses.replace(report, path=name)
