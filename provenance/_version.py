"""The package version (single source for pyproject and the reports), and the engines'."""

from __future__ import annotations

import functools
import platform

__version__ = "0.1.0"


@functools.cache
def engine_versions() -> dict[str, str]:
    """Versions of the engines a report depends on (loads them: call it when checking)."""
    import av
    import c2pa
    import cv2
    import numpy

    return {
        "provenance-checker": __version__,
        "c2pa-python": str(c2pa.__version__),
        "c2pa-rs": str(c2pa.sdk_version()),
        "pyav": str(av.__version__),
        "ffmpeg": str(getattr(av, "ffmpeg_version_info", "") or "unknown"),
        "opencv": str(cv2.__version__),
        "numpy": str(numpy.__version__),
        "python": platform.python_version(),
    }
