"""The media layer: recognise formats (:func:`sniff`) and read media facts (:func:`probe`).

This is the only package that imports PyAV and OpenCV, and it imports them lazily.
"""

from __future__ import annotations

from provenance.media.probe import probe
from provenance.media.sniff import FileType, sniff, sniff_path

__all__ = ["FileType", "probe", "sniff", "sniff_path"]
