"""invisible-watermark's ``dwtDct`` scheme, clean-room and bit-exact: the hypotheses, the Haar
transform, the block layout and the per-block bits that every dwtDct module builds on.

The scheme (ShieldMnt ``invisible-watermark``, method ``dwtDct``; despite the name there is no
DCT) marks only the **U** plane of OpenCV's analog YUV:

1. ``cv2.cvtColor(image, COLOR_BGR2YUV)``; U carries an offset of 128 for uint8 input and 0.5
   for float32 input, so the two *embedding domains* give different U planes.
2. One level of the Haar transform of U cropped to ``[:rows // 4 * 4, :cols // 4 * 4]``; only
   the approximation band LL is used.
3. LL is cut into 4x4 blocks (8x8 pixels) in raster order; block *k* carries message bit
   ``k % L``.
4. In each block the coefficient with the largest magnitude among the 15 positions after
   ``[0, 0]`` is quantised with step 36: ``|v| <- (floor(|v| / 36) + 0.25 + 0.5 * bit) * 36``,
   sign kept. A block decodes as 1 when ``|v| mod 36 > 18``.

Bit-exactness needs the reference's arithmetic, not just its algebra: LL values are multiples
of 0.5 (uint8 input) and often sit exactly on the 18 / 36 decision boundaries, so this module
reproduces PyWavelets' filter order (the vertical pass first, then the horizontal one, each
output ``c * x[2i + 1] + c * x[2i]`` with ``c = 1 / sqrt(2)`` rounded to the working type) in
float64 for uint8 input and float32 for float32 input. The embedder also reproduces the
reference's quirks: its inverse transform swaps the horizontal and vertical detail bands, and
the uint8 write-back truncates.

Generators call the encoder in two ways that matter for decoding, so every decode is run
under *hypotheses* (:class:`Hypothesis`): the embedding domain (``"uint8"``: SD 1.x / 2.x,
InvokeAI; ``"float32"``: SDXL, SVD, FLUX, which embed from a float array in [0, 255]) and the
channel order the encoder was fed (``"bgr"``, as intended, or ``"rgb"``: diffusers before
v0.28.0 passed RGB to the BGR encoder).

Built on this module: the bit-exact reference decoder (:mod:`.dwtdct_reference`), the
bit-exact embedder (:mod:`.dwtdct_embed`), the per-frame path a check runs
(:mod:`.dwtdct_frame`) and the crop search (:mod:`.dwtdct_search`). Only numpy and OpenCV are
used at run time (OpenCV is imported lazily).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from provenance.errors import ArgumentError
from provenance.watermark.payloads import Payload

__all__ = [
    "ALL_HYPOTHESES",
    "CHANNEL_ORDERS",
    "DEFAULT_CARRIER_LIMITS",
    "DOMAINS",
    "HAAR_TAP",
    "LL_BLOCK",
    "QIM_STEP",
    "REFERENCE_MIN_AREA",
    "CarrierLimits",
    "ChannelOrder",
    "DecodeStatus",
    "Domain",
    "Hypothesis",
    "SpreadSum",
    "as_blocks",
    "as_hypotheses",
    "as_payloads",
    "band_bits",
    "bits_from_ll",
    "block_bits",
    "block_grid",
    "block_ll",
    "carrier_positions",
    "check_channel_order",
    "check_domain",
    "check_image",
    "domain_input",
    "flatness_reason",
    "haar_forward",
    "haar_ll",
    "message_bits",
    "opencv",
    "spread_flatness_reason",
    "u_plane",
    "working_type",
]

Domain: TypeAlias = Literal["uint8", "float32"]

ChannelOrder: TypeAlias = Literal["bgr", "rgb"]

#: Embedding domains: the dtype the reference encoder was fed.
DOMAINS: Final[tuple[Domain, ...]] = ("uint8", "float32")

#: Channel orders the reference (BGR) encoder may have been fed.
CHANNEL_ORDERS: Final[tuple[ChannelOrder, ...]] = ("bgr", "rgb")

#: Quantisation step of the reference (``scales=[0, 36, 36]``: U only).
QIM_STEP: Final = 36

#: Side of an LL block; one block covers ``2 * LL_BLOCK`` pixels each way.
LL_BLOCK: Final = 4

#: Smallest area the reference encoder and decoder accept (``rows * cols >= 256 * 256``).
REFERENCE_MIN_AREA: Final = 256 * 256

# PyWavelets' Haar taps, 1 / sqrt(2) as a float64 literal; float32 input uses its float32 rounding.
HAAR_TAP: Final = 0.7071067811865476


def check_domain(domain: str, caller: str) -> None:
    if domain not in DOMAINS:
        raise ArgumentError(f"{caller}: domain must be one of {DOMAINS}, got {domain!r}")


def check_channel_order(channel_order: str, caller: str) -> None:
    if channel_order not in CHANNEL_ORDERS:
        raise ArgumentError(
            f"{caller}: channel_order must be one of {CHANNEL_ORDERS}, got {channel_order!r}"
        )


@dataclass(frozen=True)
class Hypothesis:
    """How the encoder was called: embedding ``domain`` and the ``channel_order`` it was fed.

    ``domain`` is ``"uint8"`` or ``"float32"`` (a float32 array in [0, 255]);
    ``channel_order`` is ``"bgr"`` (correct) or ``"rgb"`` (an RGB array passed to the BGR
    encoder).
    """

    domain: Domain
    channel_order: ChannelOrder

    def __post_init__(self) -> None:
        check_domain(self.domain, "Hypothesis")
        check_channel_order(self.channel_order, "Hypothesis")

    @property
    def name(self) -> str:
        """Short label, e.g. ``"float32-bgr"``."""
        return f"{self.domain}-{self.channel_order}"

    def __str__(self) -> str:
        return self.name


#: The four hypotheses, most common embedding path first.
ALL_HYPOTHESES: Final[tuple[Hypothesis, ...]] = (
    Hypothesis("float32", "bgr"),
    Hypothesis("uint8", "bgr"),
    Hypothesis("float32", "rgb"),
    Hypothesis("uint8", "rgb"),
)


class DecodeStatus(enum.StrEnum):
    """Whether a decode was possible."""

    DECODED = "decoded"
    TOO_SMALL = "too_small"
    TOO_FLAT = "too_flat"


@dataclass(frozen=True)
class CarrierLimits:
    """When a frame cannot carry the mark: the inconclusive rules, in one place.

    Attributes
    ----------
    min_area
        ``rows * cols`` below this is *too small* (the reference's own rule: it refuses frames
        under 256 x 256 pixels of area). A frame with fewer blocks than the payload has bits
        is too small for that payload as well.
    min_ll_std
        *Too flat* when the standard deviation of the U plane's Haar LL band (twice the 2x2
        mean of U, over the decoded blocks) is below this: no chroma texture to carry a mark
        (a grey image has a constant U plane).
    min_minority_fraction
        *Too flat* when fewer than this fraction of blocks decode to the rarer bit value:
        with (nearly) constant block bits the agreement statistic has no variance to test.
    """

    min_area: int = REFERENCE_MIN_AREA
    min_ll_std: float = 0.5
    min_minority_fraction: float = 0.02

    def __post_init__(self) -> None:
        if self.min_area < 1:
            raise ArgumentError(f"CarrierLimits: min_area must be >= 1, got {self.min_area}")
        if not self.min_ll_std >= 0.0:
            raise ArgumentError(f"CarrierLimits: min_ll_std must be >= 0, got {self.min_ll_std}")
        if not 0.0 <= self.min_minority_fraction < 0.5:
            raise ArgumentError(
                "CarrierLimits: min_minority_fraction must be in [0, 0.5), "
                f"got {self.min_minority_fraction}"
            )


DEFAULT_CARRIER_LIMITS: Final = CarrierLimits()


def check_image(image: Any, caller: str) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ArgumentError(
            f"{caller}: image_bgr must be a numpy array, got {type(image).__name__}"
        )
    if image.ndim != 3 or image.shape[2] != 3:
        raise ArgumentError(f"{caller}: image_bgr must have shape (H, W, 3), got {image.shape}")
    if image.dtype not in (np.uint8, np.float32):
        raise ArgumentError(f"{caller}: image_bgr must be uint8 or float32, got {image.dtype}")
    return image


def domain_input(image: np.ndarray, domain: str, caller: str) -> np.ndarray:
    """The array the reference would have been fed in ``domain`` (never the caller's array)."""
    if domain == "uint8":
        if image.dtype != np.uint8:
            raise ArgumentError(
                f"{caller}: domain 'uint8' needs a uint8 image_bgr, got {image.dtype}; "
                "use domain='float32' for float input"
            )
        return image
    return image.astype(np.float32, copy=False)


def opencv() -> Any:
    import cv2  # lazily: importing provenance stays light

    return cv2


def working_type(array: np.ndarray) -> type[np.floating[Any]]:
    """PyWavelets computes in float32 for float32 data and in float64 for everything else."""
    return np.float32 if array.dtype == np.float32 else np.float64


def u_plane(image: np.ndarray, channel_order: str) -> np.ndarray:
    """U of OpenCV's YUV for the array the encoder saw (``image`` or its channel flip)."""
    cv2 = opencv()
    # COLOR_RGB2YUV on the BGR array is the same conversion as COLOR_BGR2YUV on the flipped
    # array (the tests check this against the reference), without copying the flip.
    code = cv2.COLOR_BGR2YUV if channel_order == "bgr" else cv2.COLOR_RGB2YUV
    yuv = cv2.cvtColor(np.ascontiguousarray(image), code)
    # A contiguous copy of U makes the two Haar passes several times faster than strided reads.
    return np.ascontiguousarray(yuv[:, :, 1])


def _split(data: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Odd and even samples along ``axis`` (0: rows, 1: columns)."""
    if axis == 0:
        return data[1::2], data[0::2]
    return data[:, 1::2], data[:, 0::2]


def _analysis_low(data: np.ndarray, axis: int, tap: np.floating[Any]) -> np.ndarray:
    """Haar approximation along ``axis``: ``c * x[2i + 1] + c * x[2i]``, each product rounded
    to the working type, as PyWavelets' convolution sums them."""
    odd, even = _split(data, axis)
    scaled_odd = np.multiply(odd, tap, dtype=tap.dtype)
    scaled_even = np.multiply(even, tap, dtype=tap.dtype)
    low: np.ndarray = np.add(scaled_odd, scaled_even, out=scaled_odd)
    return low


def _analysis(data: np.ndarray, axis: int, tap: np.floating[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Haar approximation and detail along ``axis``.

    dec_hi = [-c, c], so the detail is ``(-c) * x[2i + 1] + c * x[2i]``, which rounds exactly
    like ``c * x[2i] - c * x[2i + 1]``.
    """
    odd, even = _split(data, axis)
    scaled_odd = np.multiply(odd, tap, dtype=tap.dtype)
    scaled_even = np.multiply(even, tap, dtype=tap.dtype)
    high = np.subtract(scaled_even, scaled_odd)
    low = np.add(scaled_odd, scaled_even, out=scaled_odd)
    return low, high


def haar_ll(plane: np.ndarray) -> np.ndarray:
    """The LL band of a one-level 2-D Haar transform, bit-equal to ``pywt.dwt2(plane)[0]``.

    PyWavelets transforms along the rows' axis (vertical pairs) first, then along the columns.
    """
    tap = working_type(plane)(HAAR_TAP)
    return _analysis_low(_analysis_low(plane, 0, tap), 1, tap)


def haar_forward(
    plane: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``pywt.dwt2(plane, 'haar')`` as (LL, H, V, D), bit-equal."""
    tap = working_type(plane)(HAAR_TAP)
    low, high = _analysis(plane, 0, tap)
    ll, vertical_detail = _analysis(low, 1, tap)
    horizontal_detail, diagonal = _analysis(high, 1, tap)
    return ll, horizontal_detail, vertical_detail, diagonal


def block_grid(shape: Sequence[int]) -> tuple[int, int]:
    """Blocks per column and per row (``rows // 8``, ``cols // 8``) for an image ``shape``."""
    if len(shape) < 2:
        raise ArgumentError(f"block_grid: shape must be (H, W, ...), got {tuple(shape)}")
    rows, cols = int(shape[0]), int(shape[1])
    # LL of the [:rows//4*4, :cols//4*4] crop has rows//4*2 rows, i.e. rows//8 whole blocks.
    return rows // (2 * LL_BLOCK), cols // (2 * LL_BLOCK)


def as_blocks(ll: np.ndarray, block_rows: int, block_cols: int) -> np.ndarray:
    """The whole 4x4 blocks of ``ll`` as (N, 16) rows in raster order (usually a copy)."""
    side = LL_BLOCK
    whole = ll[: block_rows * side, : block_cols * side]
    tiles = whole.reshape(block_rows, side, block_cols, side).swapaxes(1, 2)
    return tiles.reshape(block_rows * block_cols, side * side)


def carrier_positions(blocks: np.ndarray) -> np.ndarray:
    """Index (1..15) of the largest-magnitude coefficient after [0, 0] in each block.

    ``np.argmax`` keeps the first of equal maxima, exactly as the reference's per-block call.
    """
    positions: np.ndarray = np.argmax(np.abs(blocks[:, 1:]), axis=1) + 1
    return positions


def block_ll(image: np.ndarray, *, domain: str, channel_order: str, caller: str) -> np.ndarray:
    """LL of U over the whole blocks only (Haar is local, so the crop does not change it)."""
    block_rows, block_cols = block_grid(image.shape)
    pixels = 2 * LL_BLOCK
    data = domain_input(image[: block_rows * pixels, : block_cols * pixels], domain, caller)
    if data.size == 0:
        return np.zeros((0, 0), dtype=working_type(data))
    ll: np.ndarray = haar_ll(u_plane(data, channel_order))
    return ll


def bits_from_ll(ll: np.ndarray) -> np.ndarray:
    block_rows, block_cols = ll.shape[0] // LL_BLOCK, ll.shape[1] // LL_BLOCK
    if block_rows * block_cols == 0:
        return np.zeros(0, dtype=np.uint8)
    side = LL_BLOCK
    # The carrier is the largest |v| of the 15 positions after [0, 0]: zero the [0, 0] of every
    # block in a copy of |LL| and take each block's maximum (the value the reference's argmax
    # picks; equal maxima have equal values), without reordering the blocks in memory.
    magnitudes = np.abs(ll[: block_rows * side, : block_cols * side])
    magnitudes[::side, ::side] = 0
    rows = np.maximum(
        np.maximum(magnitudes[0::side], magnitudes[1::side]),
        np.maximum(magnitudes[2::side], magnitudes[3::side]),
    )
    carrier = np.maximum(
        np.maximum(rows[:, 0::side], rows[:, 1::side]),
        np.maximum(rows[:, 2::side], rows[:, 3::side]),
    ).reshape(-1)
    # Same dtype as the reference's scalar ``val % scale`` (float32 stays float32).
    residue: np.ndarray = np.remainder(carrier, carrier.dtype.type(QIM_STEP))
    bits: np.ndarray = (residue > 0.5 * QIM_STEP).astype(np.uint8)
    return bits


def block_bits(
    image_bgr: npt.NDArray[Any], *, domain: str = "uint8", channel_order: str = "bgr"
) -> npt.NDArray[np.uint8]:
    """Per-block hard bits, in raster order, exactly as the reference decoder reads them.

    Parameters
    ----------
    image_bgr
        (H, W, 3) BGR image, uint8 or float32 in [0, 255]. It is not modified.
    domain
        ``"uint8"`` (the image as is; requires uint8) or ``"float32"`` (the image converted
        to float32, as generators that embed from float arrays fed it).
    channel_order
        ``"bgr"``, or ``"rgb"`` to read it as the encoder saw a channel-flipped array.

    Returns
    -------
    numpy.ndarray
        uint8 array of ``(H // 8) * (W // 8)`` bits; block *k* carries message bit ``k % L``.
        Before voting, this is the reference's ``infer_dct_matrix`` for every block.
    """
    image = check_image(image_bgr, "block_bits")
    check_domain(domain, "block_bits")
    check_channel_order(channel_order, "block_bits")
    ll = block_ll(image, domain=domain, channel_order=channel_order, caller="block_bits")
    return bits_from_ll(ll)


def message_bits(bits: Payload | Iterable[int], caller: str) -> np.ndarray:
    values = bits.bits if isinstance(bits, Payload) else tuple(int(bit) for bit in bits)
    if not values:
        raise ArgumentError(f"{caller}: bits must not be empty")
    if any(value not in (0, 1) for value in values):
        raise ArgumentError(f"{caller}: every bit must be 0 or 1")
    return np.asarray(values, dtype=np.uint8)


def as_payloads(payloads: Payload | Iterable[Payload]) -> tuple[Payload, ...]:
    chosen = (payloads,) if isinstance(payloads, Payload) else tuple(payloads)
    if not chosen:
        raise ArgumentError("decode: payloads must not be empty")
    for payload in chosen:
        if not isinstance(payload, Payload):
            raise ArgumentError(f"decode: payloads must be Payload objects, got {payload!r}")
    return chosen


def as_hypotheses(hypotheses: Iterable[Hypothesis]) -> tuple[Hypothesis, ...]:
    chosen = tuple(dict.fromkeys(hypotheses))
    if not chosen:
        raise ArgumentError("decode: hypotheses must not be empty")
    for hypothesis in chosen:
        if not isinstance(hypothesis, Hypothesis):
            raise ArgumentError(
                f"decode: hypotheses must be Hypothesis objects, got {hypothesis!r}"
            )
    return chosen


class SpreadSum:
    """The standard deviation of values added a slab at a time, summed in float64 about the
    first slab's mean (no precision lost to the offset); the whole band is never held, nor
    copied to float64 (16 MiB for a 4K frame's). Summed with numpy, not BLAS: BLAS's threads
    fight the decoder's."""

    def __init__(self) -> None:
        self.count = 0
        self._shift: float | None = None
        self._total = 0.0
        self._squares = 0.0

    def add(self, values: np.ndarray) -> None:
        if not values.size:
            return
        wide = values.astype(np.float64)
        if self._shift is None:
            self._shift = float(wide.mean())
        wide -= self._shift
        self.count += wide.size
        self._total += float(wide.sum())
        self._squares += float(np.square(wide, out=wide).sum())

    def std(self) -> float:
        """0.0 when nothing was added."""
        if not self.count:
            return 0.0
        mean = self._total / self.count
        return math.sqrt(max(self._squares / self.count - mean * mean, 0.0))


def _std(values: np.ndarray, rows: int = 256) -> float:
    """:class:`SpreadSum` of ``values``, fed ``rows`` at a time."""
    spread = SpreadSum()
    for start in range(0, values.shape[0], rows):
        spread.add(values[start : start + rows])
    return spread.std()


def band_bits(
    image: np.ndarray, hypothesis: Hypothesis, limits: CarrierLimits, caller: str
) -> tuple[np.ndarray, str]:
    """(block bits, why the band cannot be tested or "") of the hypothesis's LL band of U."""
    ll = block_ll(
        image, domain=hypothesis.domain, channel_order=hypothesis.channel_order, caller=caller
    )
    bits = bits_from_ll(ll)
    return bits, flatness_reason(ll, bits, limits)


def flatness_reason(ll: np.ndarray, bits: np.ndarray, limits: CarrierLimits) -> str:
    """Why the band cannot be tested ("" when it can)."""
    if bits.size == 0:
        return ""
    return spread_flatness_reason(_std(ll), bits, limits)


def spread_flatness_reason(spread: float, bits: np.ndarray, limits: CarrierLimits) -> str:
    """:func:`flatness_reason` of a band whose standard deviation ``spread`` is known."""
    if bits.size == 0:
        return ""
    if spread < limits.min_ll_std:
        return (
            f"the U (chroma) plane is flat: LL standard deviation {spread:.3g} is below "
            f"{limits.min_ll_std:g}"
        )
    ones_fraction = float(np.count_nonzero(bits)) / bits.size
    minority = min(ones_fraction, 1.0 - ones_fraction)
    if minority < limits.min_minority_fraction:
        return (
            f"{minority:.2%} of blocks decode to the rarer bit value (minimum "
            f"{limits.min_minority_fraction:.0%}): the carrier is too uniform to test"
        )
    return ""
