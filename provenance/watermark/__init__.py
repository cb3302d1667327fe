"""Frequency-domain watermark detectors (and the embedders used to make test material).

:mod:`provenance.watermark.dwtdct` reads invisible-watermark's ``dwtDct`` scheme (SD 1.x / 2.x,
SDXL, SVD, FLUX, InvokeAI); :mod:`provenance.watermark.payloads` lists the known messages.
Importing this package does not import OpenCV.
"""

from __future__ import annotations

from provenance.watermark.dwtdct import (
    ALL_HYPOTHESES,
    DEFAULT_CARRIER_LIMITS,
    CarrierLimits,
    DecodeStatus,
    Hypothesis,
    HypothesisResult,
    block_bits,
    decode,
    embed,
    score_block_bits,
)
from provenance.watermark.payloads import (
    FLUX,
    INVOKEAI,
    PAYLOADS,
    SD1,
    SD2,
    SDXL,
    Payload,
    payload_by_name,
)

__all__ = [
    "ALL_HYPOTHESES",
    "DEFAULT_CARRIER_LIMITS",
    "FLUX",
    "INVOKEAI",
    "PAYLOADS",
    "SD1",
    "SD2",
    "SDXL",
    "CarrierLimits",
    "DecodeStatus",
    "Hypothesis",
    "HypothesisResult",
    "Payload",
    "block_bits",
    "decode",
    "embed",
    "payload_by_name",
    "score_block_bits",
]
