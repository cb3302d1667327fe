"""The bit-exact ``dwtDct`` embedder: invisible-watermark's encoder, quirks included.

Marks made with :func:`embed` equal what a generator calling the reference encoder writes (the
swapped detail bands of its inverse transform and the truncating uint8 write-back included), so
tests, the evaluation corpus and the demo corpus carry the marks real generators carry. A check
never embeds: this module serves test and evaluation material.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from provenance.errors import ArgumentError
from provenance.watermark.dwtdct_scheme import (
    HAAR_TAP,
    LL_BLOCK,
    QIM_STEP,
    REFERENCE_MIN_AREA,
    as_blocks,
    block_grid,
    carrier_positions,
    check_channel_order,
    check_domain,
    check_image,
    domain_input,
    haar_forward,
    message_bits,
    opencv,
)
from provenance.watermark.payloads import Payload

__all__ = ["embed"]


def _synthesis_pass(low: np.ndarray, high: np.ndarray, axis: int) -> np.ndarray:
    """One Haar synthesis pass (rec_lo = [c, c], rec_hi = [c, -c]) as PyWavelets rounds it."""
    tap = low.dtype.type(HAAR_TAP)
    scaled_low = tap * low
    scaled_high = tap * high
    shape = list(low.shape)
    shape[axis] *= 2
    out = np.empty(shape, dtype=low.dtype)
    if axis == 0:
        out[0::2] = scaled_low + scaled_high
        out[1::2] = scaled_low - scaled_high
    else:
        out[:, 0::2] = scaled_low + scaled_high
        out[:, 1::2] = scaled_low - scaled_high
    return out


def _haar_inverse(
    ll: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray, diagonal: np.ndarray
) -> np.ndarray:
    """``pywt.idwt2((ll, (horizontal, vertical, diagonal)), 'haar')``, bit-equal.

    PyWavelets undoes the last axis first: (LL, V) and (H, D) along the columns, then the
    two results along the rows.
    """
    low = _synthesis_pass(ll, vertical, axis=1)
    high = _synthesis_pass(horizontal, diagonal, axis=1)
    return _synthesis_pass(low, high, axis=0)


def embed(
    image_bgr: npt.NDArray[Any],
    bits: Payload | Iterable[int],
    *,
    domain: str = "uint8",
    channel_order: str = "bgr",
) -> npt.NDArray[Any]:
    """Mark an image exactly as the reference ``dwtDct`` encoder does, quirks included.

    The output equals ``EmbedMaxDct(bits, wmLen=len(bits)).encode(x)`` for ``x`` the array the
    generator fed (see ``domain`` and ``channel_order``), including the swapped H / V detail
    bands of its inverse transform and the truncating uint8 write-back; it is meant for tests
    and datasets that must look like real generator output.

    Parameters
    ----------
    image_bgr
        (H, W, 3) BGR image, uint8 or float32 in [0, 255]; not modified.
    bits
        A :class:`~provenance.watermark.payloads.Payload` or a sequence of 0/1.
    domain
        ``"uint8"`` (requires uint8; returns uint8) or ``"float32"`` (the image converted to
        float32; returns float32, before any clipping / rounding the generator applies next).
    channel_order
        ``"bgr"``, or ``"rgb"`` to mark as a generator that passed an RGB array to the BGR
        encoder would (the result is returned in the input's channel order).

    Raises
    ------
    ValueError
        If the area is below 256 x 256 (the reference refuses it) or the bits are invalid.
    """
    image = check_image(image_bgr, "embed")
    check_domain(domain, "embed")
    check_channel_order(channel_order, "embed")
    message = message_bits(bits, "embed")
    data = domain_input(image, domain, "embed")
    rows, cols = data.shape[:2]
    if rows * cols < REFERENCE_MIN_AREA:
        raise ArgumentError(
            f"embed: image_bgr is {cols}x{rows}; the encoder needs rows * cols >= 256 * 256"
        )
    cv2 = opencv()
    fed = data if channel_order == "bgr" else data[:, :, ::-1]
    yuv = cv2.cvtColor(np.ascontiguousarray(fed), cv2.COLOR_BGR2YUV)
    crop_rows, crop_cols = rows // 4 * 4, cols // 4 * 4
    plane = yuv[:crop_rows, :crop_cols, 1]
    ll, horizontal, vertical, diagonal = haar_forward(plane)

    block_rows, block_cols = block_grid(data.shape)
    blocks = as_blocks(ll, block_rows, block_cols)
    count = blocks.shape[0]
    if count:
        working = ll.dtype.type
        positions = carrier_positions(blocks)
        values = np.take_along_axis(blocks, positions[:, None], axis=1)[:, 0]
        carried = message[np.arange(count) % message.size].astype(working)
        magnitude = np.abs(values)
        # Reference arithmetic: (|v| // 36 + 0.25 + 0.5 * bit) * 36 in the working type
        # (every intermediate is exact there), sign kept, -0.0 treated as positive.
        quantised = (
            np.floor_divide(magnitude, working(QIM_STEP)) + working(0.25) + working(0.5) * carried
        ) * working(QIM_STEP)
        new_values = np.where(values >= 0, quantised, -quantised)
        np.put_along_axis(blocks, positions[:, None], new_values[:, None], axis=1)
        side = LL_BLOCK
        ll[: block_rows * side, : block_cols * side] = (
            blocks.reshape(block_rows, block_cols, side, side)
            .swapaxes(1, 2)
            .reshape(block_rows * side, block_cols * side)
        )
    # The reference passes (V, H, D) where idwt2 expects (H, V, D): reproduce the swap.
    reconstructed = _haar_inverse(ll, vertical, horizontal, diagonal)
    # Assignment casts like the reference: truncation into uint8, plain store into float32.
    yuv[:crop_rows, :crop_cols, 1] = reconstructed
    marked = cv2.cvtColor(yuv, cv2.COLOR_YUV2BGR)
    if channel_order == "rgb":
        marked = np.ascontiguousarray(marked[:, :, ::-1])
    return np.asarray(marked)
