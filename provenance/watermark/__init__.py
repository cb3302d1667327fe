"""Frequency-domain watermark detectors, behind one interface.

Reading order: :mod:`.options` (what to look for) and :mod:`.keys`; :mod:`.detector` (the
interface every detector implements) and :mod:`.detect` (which routes a file's frames to the
active detectors); then each detector:

- dwtDct, invisible-watermark's public scheme (SD 1.x / 2.x, SDXL, SVD, FLUX, InvokeAI):
  :mod:`.dwtdct_detector` over :mod:`.dwtdct_frame` (the per-frame path a check runs),
  :mod:`.dwtdct_search` (the crop-robust search) and :mod:`.dwtdct_statistic` (the robust
  statistic both use), all built on :mod:`.dwtdct_scheme` (the scheme, bit-exact: hypotheses,
  transform, block bits); :mod:`.dwtdct_reference` is the bit-exact reference decoder and
  :mod:`.dwtdct_embed` the bit-exact embedder (for tests and corpora); :mod:`.payloads` lists
  the known messages.
- the keyed mark of ``provenance mark``: :mod:`.keyed_detector` over :mod:`.keyed`.

:mod:`.policy` holds every threshold. Importing this package is light: the numpy-backed names
below load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._lazy import lazy_dir, lazy_getattr
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
            "block_bits",
        ),
        "provenance.watermark.dwtdct_scheme",
    ),
    **dict.fromkeys(
        ("HypothesisResult", "decode", "score_block_bits"),
        "provenance.watermark.dwtdct_reference",
    ),
    "embed": "provenance.watermark.dwtdct_embed",
    "SearchResult": "provenance.watermark.dwtdct_statistic",
    **dict.fromkeys(
        ("NATIVE_SIZES", "aligned", "native_candidates", "resize_to"),
        "provenance.watermark.dwtdct_frame",
    ),
    "search": "provenance.watermark.dwtdct_search",
}

if TYPE_CHECKING:
    from provenance.watermark.dwtdct_embed import embed
    from provenance.watermark.dwtdct_frame import (
        NATIVE_SIZES,
        aligned,
        native_candidates,
        resize_to,
    )
    from provenance.watermark.dwtdct_reference import HypothesisResult, decode, score_block_bits
    from provenance.watermark.dwtdct_scheme import (
        ALL_HYPOTHESES,
        DEFAULT_CARRIER_LIMITS,
        CarrierLimits,
        DecodeStatus,
        Hypothesis,
        block_bits,
    )
    from provenance.watermark.dwtdct_search import search
    from provenance.watermark.dwtdct_statistic import SearchResult


__getattr__ = lazy_getattr(__name__, _LAZY)
__dir__ = lazy_dir(__all__)
