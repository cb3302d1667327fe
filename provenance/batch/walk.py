"""Which files ``check`` and ``scan`` read: folders walked, globs applied, media recognised by
content too. One walker for every entry point, so a folder gives the same files to both.

A file is picked up when its suffix is a media suffix (:data:`~provenance.media.sniff.MEDIA_SUFFIXES`)
or, with ``sniff`` on (the default), when its first bytes are a recognised media format: a clip
saved without an extension, or as ``.bin`` or ``.dat``, is still scanned. Hidden files and
folders (names starting with a dot) are skipped unless a path names them. Links to folders are
followed only with ``follow_links``, and a folder reached twice (a link loop) is walked once.
Files named on the command line, or in a list file, are always checked: a missing or odd one
gets its own error record rather than vanishing. A folder that holds no media file is yielded
itself, so that its check says so rather than silently checking nothing (unless ``include`` or
``exclude`` was given: then finding nothing is what the filters asked for).

Nothing is opened that is not a regular file: a named pipe, a socket or a device met in a
folder (whatever its suffix) is yielded without being sniffed, and so is a folder that cannot
be read, so that each gets an error record saying why it was not checked (its check does not
open it either) instead of blocking the walk or vanishing.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from provenance.media.sniff import MEDIA_FAMILIES, MEDIA_SUFFIXES, sniff_path

__all__ = ["WalkOptions", "iter_media_files", "read_path_list"]


@dataclass(frozen=True)
class WalkOptions:
    """How folders are walked.

    Parameters
    ----------
    include
        Shell patterns; when given, only files whose path relative to the walked folder (or
        whose name) matches one are kept.
    exclude
        Shell patterns of files and folders to leave out (matched like ``include``; a folder
        that matches is not entered).
    follow_links
        Follow symbolic links to folders (links to files are always checked).
    sniff
        Also pick up files without a media suffix whose first bytes are media.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    follow_links: bool = False
    sniff: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (what a results store records of a scan)."""
        return {
            "include": list(self.include),
            "exclude": list(self.exclude),
            "follow_links": self.follow_links,
            "sniff": self.sniff,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WalkOptions:
        """Options from :meth:`to_dict` data."""
        return cls(
            include=tuple(data.get("include", ())),
            exclude=tuple(data.get("exclude", ())),
            follow_links=bool(data.get("follow_links", False)),
            sniff=bool(data.get("sniff", True)),
        )


def _matches(relative: str, name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(relative, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def _is_media(path: Path, sniff: bool) -> bool:
    """Whether the walk yields ``path``: a media suffix, or media content (``sniff``), or not a
    regular file at all (its check reports it; opening a pipe to sniff it would block)."""
    if path.suffix.lower() in MEDIA_SUFFIXES:
        return True
    if not sniff:
        return False
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return True
    except OSError:  # a broken link, or gone since the folder was listed
        return False
    try:
        return sniff_path(path).family in MEDIA_FAMILIES
    except OSError:
        return False


def iter_media_files(
    paths: Iterable[str | os.PathLike[str]], options: WalkOptions | None = None
) -> Iterator[Path]:
    """Files to check, in a stable order: each path as given, folders walked sorted. A folder
    without media files is yielded itself, unless ``include`` / ``exclude`` filtered it."""
    opts = options or WalkOptions()
    for entry in paths:
        path = Path(entry)
        if not path.is_dir():
            yield path
            continue
        found = False
        for file in _walk(path, opts):
            found = True
            yield file
        if not found and not (opts.include or opts.exclude):
            yield path  # a folder of no media: its check says so (filters may leave none)


def _walk(top: Path, opts: WalkOptions) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()
    unreadable: list[Path] = []  # folders os.walk could not list (their check says why)

    def note(error: OSError) -> None:
        if error.filename is not None:
            unreadable.append(Path(os.fsdecode(error.filename)))

    for root, dirs, files in os.walk(top, onerror=note, followlinks=opts.follow_links):
        yield from unreadable
        unreadable.clear()
        here = Path(root)
        try:
            info = here.stat()
        except OSError:
            dirs[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:  # a link loop: this folder was walked
            dirs[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        relative_root = here.relative_to(top)
        kept = []
        for name in sorted(dirs):
            relative = (relative_root / name).as_posix()
            if name.startswith(".") or _matches(relative, name, opts.exclude):
                continue
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if name.startswith("."):
                continue
            relative = (relative_root / name).as_posix()
            if _matches(relative, name, opts.exclude):
                continue
            if opts.include and not _matches(relative, name, opts.include):
                continue
            candidate = here / name
            if _is_media(candidate, opts.sniff):
                yield candidate
    yield from unreadable


def read_path_list(stream: IO[str]) -> Iterator[str]:
    """Paths from a list file or standard input: one per line; blank lines and ``#`` comments
    are skipped; surrounding whitespace is kept only inside the path."""
    for line in stream:
        text = line.rstrip("\n").rstrip("\r")
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        yield text.strip()
