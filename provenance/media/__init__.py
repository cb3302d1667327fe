"""The media layer: recognise formats (:func:`sniff`) and read media facts (:func:`probe`).

This is the only package that imports PyAV and OpenCV, and it imports them lazily; its names
load on first use, so importing one of its modules does not load the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._lazy import lazy_dir, lazy_getattr

if TYPE_CHECKING:
    from provenance.media.probe import probe
    from provenance.media.sniff import FileType, sniff, sniff_path

__all__ = ["FileType", "probe", "sniff", "sniff_path"]

__getattr__ = lazy_getattr(
    __name__,
    {
        "FileType": "provenance.media.sniff",
        "probe": "provenance.media.probe",
        "sniff": "provenance.media.sniff",
        "sniff_path": "provenance.media.sniff",
    },
)
__dir__ = lazy_dir(__all__)
