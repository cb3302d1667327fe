"""Frequency-domain watermark detectors (and the embedders used to make test material).

:mod:`provenance.watermark.dwtdct` reads invisible-watermark's ``dwtDct`` scheme (SD 1.x / 2.x,
SDXL, SVD, FLUX, InvokeAI), :mod:`provenance.watermark.dwtdct_search` adds the crop-robust
search, the robust statistic and resizing back to native sizes, and
:mod:`provenance.watermark.payloads` lists the known messages. The keyed mark is
:mod:`provenance.watermark.keyed`; :mod:`provenance.watermark.detect` runs the detectors over a
file's frames and :mod:`provenance.watermark.policy` holds the thresholds.
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
from provenance.watermark.dwtdct_search import (
    NATIVE_SIZES,
    SearchResult,
    aligned,
    native_candidates,
    resize_to,
    search,
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
    "NATIVE_SIZES",
    "PAYLOADS",
    "SD1",
    "SD2",
    "SDXL",
    "CarrierLimits",
    "DecodeStatus",
    "Hypothesis",
    "HypothesisResult",
    "Payload",
    "SearchResult",
    "aligned",
    "block_bits",
    "decode",
    "embed",
    "native_candidates",
    "payload_by_name",
    "resize_to",
    "score_block_bits",
    "search",
]
