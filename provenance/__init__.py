"""provenance: evidence of AI generation in video clips and images.

>>> import provenance
>>> report = provenance.check("clip.mp4")            # doctest: +SKIP
>>> report.verdict.code, report.credentials.trust    # doctest: +SKIP
>>> for item in provenance.scan(["/media/inbox"]):  # doctest: +SKIP
...     print(item.path, item.report.verdict.code)

Checks are offline. Absence of a signal never means "authentic"; "could not check" is an
explicit state with a reason.
"""

from typing import TYPE_CHECKING

from provenance._lazy import lazy_getattr
from provenance._version import __version__
from provenance.check import CheckOptions, check, check_bytes
from provenance.credentials.trust import TrustMaterial, load_trust
from provenance.errors import (
    InputError,
    MediaError,
    NetworkError,
    ProvenanceError,
    TrustListError,
)
from provenance.media.sampling import Sampling, SamplingMode
from provenance.report import (
    AIDeclaration,
    CredentialsEvidence,
    CredentialsState,
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

if TYPE_CHECKING:
    from provenance.batch import Engine
    from provenance.batch.engine import ScanItem, ScanOptions, scan
    from provenance.batch.pool import ScanError
    from provenance.batch.settings import ScanSettings
    from provenance.batch.walk import WalkOptions

# Batch-scan names load on first use: ``import provenance`` stays light for single checks.
_LAZY = {
    "Engine": "provenance.batch",
    "ScanItem": "provenance.batch.engine",
    "ScanOptions": "provenance.batch.engine",
    "scan": "provenance.batch.engine",
    "ScanError": "provenance.batch.pool",
    "ScanSettings": "provenance.batch.settings",
    "WalkOptions": "provenance.batch.walk",
}


__getattr__ = lazy_getattr(__name__, _LAZY)

__all__ = [
    "AIDeclaration",
    "CheckOptions",
    "CredentialsEvidence",
    "CredentialsState",
    "CropSearch",
    "Engine",
    "InputError",
    "Integrity",
    "MediaError",
    "MediaInfo",
    "NetworkError",
    "ProvenanceError",
    "Report",
    "Sampling",
    "SamplingMode",
    "ScanError",
    "ScanItem",
    "ScanOptions",
    "ScanSettings",
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
    "load_trust",
    "scan",
]
