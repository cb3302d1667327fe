"""Keyed-mark keys: where they come from, how they are named in public.

One key-file format serves ``check``, ``scan`` and ``mark``: UTF-8 text, **one key per line**;
surrounding whitespace is stripped and blank lines are skipped (a key is any other text,
``#`` included). ``$PROVENANCE_MARK_KEY`` may hold one key, which keeps it off command lines.
A key never appears in a report or a store: it is named by :func:`key_fingerprint`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from provenance.errors import InputError

__all__ = [
    "KEY_ENVIRONMENT",
    "environment_keys",
    "key_fingerprint",
    "keyed_mark_name",
    "read_key_file",
]

#: Environment variable that may hold a keyed-mark key (keeps it off command lines).
KEY_ENVIRONMENT = "PROVENANCE_MARK_KEY"


def environment_keys() -> tuple[str, ...]:
    """The keyed-mark key in ``$PROVENANCE_MARK_KEY``, if one is set (blanks stripped)."""
    key = os.environ.get(KEY_ENVIRONMENT, "").strip()
    return (key,) if key else ()


def read_key_file(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """The keys in a key file: one per line, stripped, blank lines skipped, in file order
    without repeats.

    Raises
    ------
    InputError
        The file cannot be read, is not UTF-8 text, or holds no key.
    """
    source = Path(path)
    try:
        text = source.read_text("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source}: a key file must be UTF-8 text, one key per line") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot read the key file ({exc.strerror or exc})") from None
    keys = tuple(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
    if not keys:
        raise InputError(f"{source}: the key file holds no key (one key per line)")
    return keys


def key_fingerprint(key: str | bytes) -> str:
    """A short public name for a key (the first 8 hex digits of its SHA-256), never the key."""
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return hashlib.sha256(raw).hexdigest()[:8]


def keyed_mark_name(key: str | bytes) -> str:
    """The ``mark`` a keyed-mark evidence carries: ``keyed:<fingerprint>``."""
    return f"keyed:{key_fingerprint(key)}"
