"""provenance: evidence of AI generation in video clips and images.

>>> import provenance
>>> report = provenance.check("clip.mp4")            # doctest: +SKIP
>>> report.verdict.code, report.credentials.trust    # doctest: +SKIP

Checks are offline. Absence of a signal never means "authentic"; "could not check" is an
explicit state with a reason.
"""

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

__all__ = [
    "AIDeclaration",
    "CheckOptions",
    "CredentialsEvidence",
    "CredentialsState",
    "CropSearch",
    "InputError",
    "Integrity",
    "MediaError",
    "MediaInfo",
    "NetworkError",
    "ProvenanceError",
    "Report",
    "Sampling",
    "SamplingMode",
    "TrustListError",
    "TrustMaterial",
    "TrustSource",
    "TrustStatus",
    "Verdict",
    "VerdictCode",
    "WatermarkEvidence",
    "WatermarkOptions",
    "WatermarkState",
    "__version__",
    "check",
    "check_bytes",
    "load_trust",
]
