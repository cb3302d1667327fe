"""The per-file job of a scan: check one path with settings given as JSON.

The same function runs in a local worker process (:mod:`provenance.batch.worker`) and on a Dask
worker (:mod:`provenance.batch.dask_engine`). Settings are parsed and trust material loaded once
per process and settings, not once per file.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from provenance.batch.settings import ScanSettings

if TYPE_CHECKING:
    from provenance.check import CheckOptions

__all__ = ["check_path", "prepare"]


@functools.lru_cache(maxsize=4)
def prepare(settings_json: str) -> CheckOptions:
    """Check options for these settings, with trust material loaded (cached per process)."""
    return ScanSettings.from_json(settings_json).check_options()


def check_path(path: str, settings_json: str) -> dict[str, Any]:
    """Check one file; the report as a dict (see :meth:`~provenance.report.Report.to_dict`).

    Never raises for a bad file: what went wrong is in the report. Raises
    :class:`~provenance.errors.TrustListError` for unusable trust settings (every result would
    be wrong).
    """
    from provenance.check import check

    return check(path, prepare(settings_json)).to_dict()
