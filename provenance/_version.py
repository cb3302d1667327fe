"""The package version (single source for pyproject and the reports), and the engines'."""

from __future__ import annotations

import functools
import platform

__version__ = "0.1.0"


@functools.cache
def engine_versions(*, frames: bool = True) -> dict[str, str]:
    """Versions of the engines a report depends on (loads them: call it when checking).

    ``frames=False`` is for a credentials-only check, which never decodes a frame: only the
    C2PA engine is loaded and named, so such a check (and its start-up) stays free of PyAV,
    OpenCV and numpy.
    """
    import c2pa

    versions = {
        "provenance-checker": __version__,
        "c2pa-python": str(c2pa.__version__),
        "c2pa-rs": str(c2pa.sdk_version()),
    }
    if frames:
        import av
        import cv2
        import numpy

        versions |= {
            "pyav": str(av.__version__),
            "ffmpeg": str(getattr(av, "ffmpeg_version_info", "") or "unknown"),
            "opencv": str(cv2.__version__),
            "numpy": str(numpy.__version__),
        }
    return versions | {"python": platform.python_version()}
