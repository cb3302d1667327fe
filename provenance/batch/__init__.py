"""Batch scans: walk, check in isolated workers, store, report (see ``provenance scan``).

Only :class:`Engine` lives here, so that the command line can name it without loading the
scan machinery (worker pool, store, walk) for ``provenance check``.
"""

from __future__ import annotations

import enum

__all__ = ["Engine"]


class Engine(enum.StrEnum):
    """Where the per-file checks run."""

    LOCAL = "local"
    DASK = "dask"
    INLINE = "inline"
