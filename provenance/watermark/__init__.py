"""Frequency-domain watermark detectors (and the embedders used to make test material).

:mod:`provenance.watermark.dwtdct` reads invisible-watermark's ``dwtDct`` scheme (SD 1.x / 2.x,
SDXL, SVD, FLUX, InvokeAI), :mod:`provenance.watermark.dwtdct_search` adds the crop-robust
search, the robust statistic and resizing back to native sizes, and
:mod:`provenance.watermark.payloads` lists the known messages. The keyed mark is
:mod:`provenance.watermark.keyed`; :mod:`provenance.watermark.detect` runs the detectors over a
file's frames and :mod:`provenance.watermark.policy` holds the thresholds.
Importing this package is light: the numpy-backed names below load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._lazy import lazy_getattr
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

# The numpy-backed names load with their module on first access, so that importing the package
# (which :mod:`provenance` does, for the options) stays light.
_LAZY = {
    **dict.fromkeys(
        (
            "ALL_HYPOTHESES",
            "DEFAULT_CARRIER_LIMITS",
            "CarrierLimits",
            "DecodeStatus",
            "Hypothesis",
            "HypothesisResult",
            "block_bits",
            "decode",
            "embed",
            "score_block_bits",
        ),
        "provenance.watermark.dwtdct",
    ),
    **dict.fromkeys(
        ("NATIVE_SIZES", "SearchResult", "aligned", "native_candidates", "resize_to", "search"),
        "provenance.watermark.dwtdct_search",
    ),
}

if TYPE_CHECKING:
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


__getattr__ = lazy_getattr(__name__, _LAZY)
