"""The bit-exact reference decoder of invisible-watermark's ``dwtDct`` scheme (clean-room).

:func:`decode` reads every block exactly as the reference ``EmbedMaxDct.decode`` does (the
scheme itself, its hypotheses and block bits, is :mod:`.dwtdct_scheme`) and scores each payload
under each hypothesis. A check does not run it: the per-frame path of a check is
:mod:`.dwtdct_frame`, with the robust statistic; this decoder is the reference the tests and
benchmarks hold that path to.

The soft statistic is the centred agreement z of ``research/watermark.md`` section 1.6 under
an iid-Bernoulli(p̂) null, where p̂ is the image's own fraction of 1-blocks. Its p-value is the
nominal normal tail; natural images have a heavier tail, so detection thresholds must be
calibrated (they live in the policy layer, not here).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from provenance.errors import ArgumentError
from provenance.watermark.dwtdct_scheme import (
    ALL_HYPOTHESES,
    DEFAULT_CARRIER_LIMITS,
    CarrierLimits,
    DecodeStatus,
    Hypothesis,
    as_hypotheses,
    as_payloads,
    band_bits,
    block_grid,
    check_image,
    message_bits,
)
from provenance.watermark.payloads import PAYLOADS, Payload

__all__ = ["HypothesisResult", "decode", "score_block_bits"]


@dataclass(frozen=True)
class HypothesisResult:
    """The decode of one payload under one hypothesis.

    Attributes
    ----------
    payload
        Payload name (see :mod:`provenance.watermark.payloads`).
    hypothesis
        Embedding domain and channel order assumed.
    status
        ``decoded``, or why not (``too_small``, ``too_flat``); when not decoded the statistics
        below are ``None`` and ``decoded_bits`` is empty.
    blocks
        Number of 8x8-pixel blocks read (N).
    payload_bits
        Payload length L.
    matched_bits
        Bits of the reference's hard majority vote (mean block bit ``* 255 > 127``) that equal
        the payload.
    bit_accuracy
        ``matched_bits / payload_bits``.
    ones_fraction
        p̂, the image's fraction of blocks that decode as 1.
    z
        Centred agreement z: ``(A - E) / sqrt(N p̂ (1 - p̂))`` with ``A`` the number of blocks
        whose bit equals the payload bit they carry and ``E = N1 p̂ + N0 (1 - p̂)``.
    p_value
        Nominal one-sided normal tail of ``z`` (not calibrated: natural images have a heavier
        tail than the iid null).
    decoded_bits
        The hard-voted message, as the reference decoder would return it.
    reason
        Plain-language explanation when not decoded, else empty.
    """

    payload: str
    hypothesis: Hypothesis
    status: DecodeStatus
    blocks: int
    payload_bits: int
    matched_bits: int | None = None
    bit_accuracy: float | None = None
    ones_fraction: float | None = None
    z: float | None = None
    p_value: float | None = None
    decoded_bits: tuple[int, ...] = ()
    reason: str = ""

    @property
    def decoded(self) -> bool:
        """True when the frame could be decoded (the statistics are present)."""
        return self.status is DecodeStatus.DECODED


def score_block_bits(
    bits: npt.NDArray[Any], payload: Payload | Iterable[int]
) -> tuple[int, float, float, float, tuple[int, ...]]:
    """Hard vote and soft statistic of per-block ``bits`` against one message.

    Returns ``(matched_bits, ones_fraction, z, p_value, decoded_bits)``; see
    :class:`HypothesisResult` for the definitions. ``z`` is 0 (and the p-value 0.5) when every
    block has the same bit. Requires at least as many blocks as message bits.
    """
    message = message_bits(payload, "score_block_bits")
    block_values = np.asarray(bits).reshape(-1)
    count = block_values.size
    length = message.size
    if count < length:
        raise ArgumentError(
            f"score_block_bits: {count} blocks cannot carry a {length}-bit message "
            "(need at least one block per bit)"
        )
    carried = np.arange(count) % length
    ones = np.bincount(carried, weights=block_values.astype(np.float64), minlength=length)
    votes = np.bincount(carried, minlength=length).astype(np.float64)
    # The reference: mean of the block bits per message bit, then ``mean * 255 > 127``.
    voted = ((ones / votes) * 255 > 127).astype(np.uint8)
    matched = int(np.count_nonzero(voted == message))

    ones_total = float(ones.sum())
    ones_fraction = ones_total / count
    is_one = message == 1
    agreement = float(ones[is_one].sum() + (votes[~is_one] - ones[~is_one]).sum())
    carrying_one = float(votes[is_one].sum())
    expected = carrying_one * ones_fraction + (count - carrying_one) * (1.0 - ones_fraction)
    variance = count * ones_fraction * (1.0 - ones_fraction)
    z = (agreement - expected) / math.sqrt(variance) if variance > 0 else 0.0
    p_value = 0.5 * math.erfc(z / math.sqrt(2.0))
    return matched, ones_fraction, z, p_value, tuple(int(bit) for bit in voted)


def decode(
    image_bgr: npt.NDArray[Any],
    payloads: Payload | Iterable[Payload] = PAYLOADS,
    *,
    hypotheses: Iterable[Hypothesis] = ALL_HYPOTHESES,
    limits: CarrierLimits = DEFAULT_CARRIER_LIMITS,
) -> list[HypothesisResult]:
    """Decode one frame for each payload under each hypothesis.

    The transform and block bits are computed once per hypothesis and shared by all
    payloads. Results are ordered payload by payload, hypotheses in the given order.

    Parameters
    ----------
    image_bgr
        (H, W, 3) BGR frame, uint8 (as decoded from a file) or float32 in [0, 255]. A float32
        frame can only be read under ``float32`` hypotheses; ``uint8`` ones report it as an
        error (TypeError), so pass uint8 frames to test all four.
    payloads
        One payload or several (default: every known payload).
    hypotheses
        Embedding domain x channel order combinations to test.
    limits
        The inconclusive rules (:class:`CarrierLimits`).

    Returns
    -------
    list of HypothesisResult
        ``status`` says whether each could be decoded: a frame under ``limits.min_area`` is
        ``too_small`` (nothing is decoded); a hypothesis whose carrier is flat is ``too_flat``.
    """
    image = check_image(image_bgr, "decode")
    chosen_payloads = as_payloads(payloads)
    chosen_hypotheses = as_hypotheses(hypotheses)
    if image.dtype != np.uint8 and any(h.domain == "uint8" for h in chosen_hypotheses):
        raise ArgumentError(
            f"decode: a {image.dtype} image_bgr cannot be read under the uint8 hypotheses; "
            "pass the uint8 frame, or only float32 hypotheses"
        )
    rows, cols = image.shape[:2]
    block_rows, block_cols = block_grid(image.shape)
    count = block_rows * block_cols

    results: dict[tuple[str, Hypothesis], HypothesisResult] = {}
    if rows * cols < limits.min_area:
        reason = (
            f"frame is {cols}x{rows} = {rows * cols} pixels; the dwtDct decoder needs at least "
            f"{limits.min_area} (the reference refuses less than 256 x 256)"
        )
        for payload in chosen_payloads:
            for hypothesis in chosen_hypotheses:
                results[payload.name, hypothesis] = HypothesisResult(
                    payload=payload.name,
                    hypothesis=hypothesis,
                    status=DecodeStatus.TOO_SMALL,
                    blocks=count,
                    payload_bits=len(payload.bits),
                    reason=reason,
                )
    else:
        for hypothesis in chosen_hypotheses:
            bits, flat_reason = band_bits(image, hypothesis, limits, "decode")
            for payload in chosen_payloads:
                results[payload.name, hypothesis] = _result_for(
                    bits, payload, hypothesis, flat_reason
                )
    return [
        results[payload.name, hypothesis]
        for payload in chosen_payloads
        for hypothesis in chosen_hypotheses
    ]


def _result_for(
    bits: np.ndarray, payload: Payload, hypothesis: Hypothesis, flat_reason: str
) -> HypothesisResult:
    length = len(payload.bits)
    result = functools.partial(
        HypothesisResult,
        payload=payload.name,
        hypothesis=hypothesis,
        blocks=int(bits.size),
        payload_bits=length,
    )
    if bits.size < length:
        return result(
            status=DecodeStatus.TOO_SMALL,
            reason=f"{bits.size} blocks cannot carry the {length}-bit {payload.name} message",
        )
    if flat_reason:
        return result(status=DecodeStatus.TOO_FLAT, reason=flat_reason)
    matched, ones_fraction, z, p_value, voted = score_block_bits(bits, payload)
    return result(
        status=DecodeStatus.DECODED,
        matched_bits=matched,
        bit_accuracy=matched / length,
        ones_fraction=ones_fraction,
        z=z,
        p_value=p_value,
        decoded_bits=voted,
    )
