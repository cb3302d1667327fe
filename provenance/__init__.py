"""provenance: evidence of AI generation in video clips and images.

>>> import provenance
>>> report = provenance.check("clip.mp4")            # doctest: +SKIP
>>> report.verdict.code, report.credentials.trust    # doctest: +SKIP
>>> options = provenance.CheckOptions(credentials_only=True)
>>> for item in provenance.scan(["/media/inbox"], options):  # doctest: +SKIP
...     print(item.path, item.report.verdict.code)

Checks are offline. Absence of a signal never means "authentic"; "could not check" is an
explicit state with a reason.
"""

from typing import TYPE_CHECKING

from provenance._lazy import lazy_dir, lazy_getattr
from provenance._version import __version__
from provenance.errors import (
    ArgumentError,
    InputError,
    MediaError,
    NetworkError,
    ProvenanceError,
    ScanError,
    TrustListError,
)

if TYPE_CHECKING:
    from provenance.batch.engine import ScanItem, scan
    from provenance.batch.isolated import check_bytes_isolated, check_isolated
    from provenance.batch.scan_options import Engine, ReportFiles, ScanOptions
    from provenance.batch.walk import WalkOptions
    from provenance.check import check, check_bytes
    from provenance.credentials.trust import TrustMaterial, load_trust
    from provenance.media.sampling import Sampling, SamplingMode
    from provenance.options import CheckOptions
    from provenance.report import (
        AIDeclaration,
        CredentialsEvidence,
        CredentialsState,
        Detector,
        Integrity,
        MediaInfo,
        Report,
        TrustSource,
        TrustStatus,
        Verdict,
        VerdictCode,
        WatermarkEvidence,
        WatermarkState,
    )
    from provenance.watermark.options import CropSearch, WatermarkOptions

# Everything but the version and the errors loads on first use (PEP 562): ``import
# provenance`` and ``provenance --version`` stay light, and a command loads only what it runs.
_REPORT_NAMES = (
    "AIDeclaration",
    "CredentialsEvidence",
    "CredentialsState",
    "Detector",
    "Integrity",
    "MediaInfo",
    "Report",
    "TrustSource",
    "TrustStatus",
    "Verdict",
    "VerdictCode",
    "WatermarkEvidence",
    "WatermarkState",
)
_LAZY = {
    "CheckOptions": "provenance.options",
    "CropSearch": "provenance.watermark.options",
    "Engine": "provenance.batch.scan_options",
    "ReportFiles": "provenance.batch.scan_options",
    "Sampling": "provenance.media.sampling",
    "SamplingMode": "provenance.media.sampling",
    "ScanItem": "provenance.batch.engine",
    "ScanOptions": "provenance.batch.scan_options",
    "TrustMaterial": "provenance.credentials.trust",
    "WalkOptions": "provenance.batch.walk",
    "WatermarkOptions": "provenance.watermark.options",
    "check": "provenance.check",
    "check_bytes": "provenance.check",
    "check_bytes_isolated": "provenance.batch.isolated",
    "check_isolated": "provenance.batch.isolated",
    "load_trust": "provenance.credentials.trust",
    "scan": "provenance.batch.engine",
    **dict.fromkeys(_REPORT_NAMES, "provenance.report"),
}


__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "AIDeclaration",
    "ArgumentError",
    "CheckOptions",
    "CredentialsEvidence",
    "CredentialsState",
    "CropSearch",
    "Detector",
    "Engine",
    "InputError",
    "Integrity",
    "MediaError",
    "MediaInfo",
    "NetworkError",
    "ProvenanceError",
    "Report",
    "ReportFiles",
    "Sampling",
    "SamplingMode",
    "ScanError",
    "ScanItem",
    "ScanOptions",
    "TrustListError",
    "TrustMaterial",
    "TrustSource",
    "TrustStatus",
    "Verdict",
    "VerdictCode",
    "WalkOptions",
    "WatermarkEvidence",
    "WatermarkOptions",
    "WatermarkState",
    "__version__",
    "check",
    "check_bytes",
    "check_bytes_isolated",
    "check_isolated",
    "load_trust",
    "scan",
]

__dir__ = lazy_dir(__all__)
