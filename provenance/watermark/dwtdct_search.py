"""Crop-robust search for the ``dwtDct`` mark, and resizing back to native generator sizes.

**Why search.** :func:`~provenance.watermark.dwtdct.decode` reads the frame's own 8x8 block
grid and assumes block *k* (raster order) carries message bit ``k % L``. A crop that moves the
top-left corner by ``(oy, ox)`` pixels breaks both: the block grid no longer starts at pixel
(0, 0), and the message index of a block depends on the *original* width. Three things are
unknown after a crop:

- the pixel phase ``(dy, dx) = (-oy mod 8, -ox mod 8)`` where whole original blocks start
  (64 phases);
- the row wrap ``w = C mod L``, with ``C`` the original blocks per row (L values);
- the shift ``s = (r0 C + c0) mod L``, the message index of the first whole block (L values).

Block ``(r, c)`` of the grid at the right phase then carries bit ``(r w + c + s) mod L``.
:func:`search` tries all ``64 * L * L`` alignments (:func:`search_tests`: 147,456 for SDXL's 48
bits, 1,183,744 for SD 1.x's 136) for every payload and hypothesis, and reports the best.

**The statistic.** Let ``e`` be a block's centred bit (``b - p̂``) and ``O_k`` the sum of ``e``
over the blocks carrying message index ``k`` (the *residue sums*); the agreement is
``S = sum_k O_k m'_k`` with ``m' = 2 m - 1`` and ``z = S / sqrt(V)``. Two variants:

- ``statistic="iid"``: one p̂ per phase (its fraction of 1-blocks) and the independent-blocks
  variance ``V = N p̂ (1 - p̂)``. This is exactly the centred agreement
  ``(A - E) / sqrt(N p̂ (1 - p̂))`` of :func:`~provenance.watermark.dwtdct.score_block_bits`:
  at phase (0, 0) with the frame's own wrap and shift 0 it equals ``decode()``'s z. Maximised
  over a search, though, its null is not controlled: measured on unmarked frames, the best
  z reached 10 to 13 on skimage photos (``astronaut``, ``retina``, ``chelsea``, ``logo``) and
  26 on a saturated diagonal hue ramp. Image structure that is coherent along the lines of
  the message layout makes the blocks carrying one message bit correlated: regions of
  different p̂ at small wraps (``w = 0`` puts a whole column on one bit, and real sizes give
  ``w = 0``: 512 or 1024 pixels wide for SD 2.x and InvokeAI), stripes at any wrap whose
  layout lines follow them.
- ``statistic="robust"`` (the default) centres each block by the mean bit of the 5 x 5 blocks
  around it (local p̂) and takes ``V = max(sum p̂ (1 - p̂), dispersion)``. The dispersion is
  estimated from the L residue sums themselves: the residual sum of squares of regressing
  ``O_k`` on the pattern a mark would give (``m'`` minus its local-window average under that
  wrap), times ``L / (L - 2)``. With independent blocks the two agree; structure that repeats
  along the layout inflates the dispersion, so ``z`` is at most a residue-level t statistic
  with ``L - 2`` degrees of freedom. ``inflation`` reports ``V`` over the independent-blocks
  variance and ``z_iid`` the ``"iid"`` z at the same alignment.

Measured with the robust statistic (this module's tests and their frames): unmarked photos
and their crops, saturated colour blocks and synthetic texture stay at or below 5.4
(``"iid"``: 9.9 on the same frames). Lossless marks cropped at random offsets (up to 61
pixels from each side) score 23 to 49, except at ``w = 0`` (SD 2.x / InvokeAI marks 512
pixels wide), where the mark's strength varies from column to column and the t bound holds z
to 11 to 20; ``z_iid`` at the alignment found is 26 to 43 throughout. After JPEG q85 4:4:4 the
robust z is 5.4 to 15.9 (median 11.6; ``"iid"``: 6.0 to 15.0, median 10.4); after q75 both
are about 4 to 10. *Known limitation*: the byte payloads (SD 1.x, SD 2.x, InvokeAI) repeat
with period 8 (every byte's top bit is 0), so at wraps that are multiples of 8 (or one off)
their layout is itself a stripe pattern 64 pixels apart; clean saturated colour ramps make
such stripes and reach 7.0 (horizontal ramp) to 7.6 (diagonal) for SD 1.x, where SDXL / FLUX
stay below 4.3. Payloads of 1 or 2 bits get no dispersion estimate.

**How it is fast.** Per hypothesis the U plane is computed once and its Haar LL band once per
pixel parity (4); an LL block may start at any of the 4x4 LL offsets, so the carrier (largest
|value| of the 15 non-DC positions; equal maxima decode alike, so the argmax itself is not
needed) is computed for every window position with separable running maxima, and the bits of
the 16 offsets are strided views of it (bit-identical to
:func:`~provenance.watermark.dwtdct.block_bits` of the frame cut at that phase). Block bits
are shared by all payloads. For one phase the centred bits are folded by
``(r mod L, c mod L)`` into an L x L table; one 2-D FFT of it gives the residue sums for every
wrap ``w`` (the residue of ``(q, j)`` is ``q w + j``, so the wrap-``w`` sums have the DFT
``Ĥ[(f w) mod L, f]``); the agreement and the template projection for every shift are circular
correlations (``conj(Ô_w) m̂'``), and ``sum_k O_k^2`` follows from Parseval. That stage runs
in single precision; the best alignment is then re-scored exactly by direct summation.
Memory stays bounded: per payload the largest temporaries are a few ``64 x L x L`` arrays
(5 to 10 MB each for L = 136), plus one float64 field per pixel parity (4 MB at 1080p).

Measured here (2 cores shared with other work; uint8 frames, 5 payloads):

============  ================  ===================  =====================
Frame         one hypothesis    all 4 (20 results)   ``decode()``, all 20
============  ================  ===================  =====================
1920 x 1080   120 ms            420 ms               60 ms
1280 x 720    65 ms             265 ms               20 ms
512 x 512     47 ms             185 ms               5 ms
============  ================  ===================  =====================

About 35 ms per hypothesis is the FFT stage, whose cost depends on L, not on the frame.

**Thresholds.** ``z`` is the maximum over ``tests`` alignments (and the caller usually takes the
maximum over 20 payload x hypothesis pairs as well), so it must not be compared with a
single-test threshold: ``p_value`` is the nominal single-test tail only. The threshold policy,
which must account for ``tests``, lives in :mod:`provenance.watermark.policy`, not here.

**Resizing.** The mark does not survive a resize in place, but resizing back to the size it
was embedded at recovers it (``research/watermark.md`` section 1.6). :data:`NATIVE_SIZES` lists
the sizes generators that use this mark write, :func:`native_candidates` picks those with the
frame's aspect ratio, and :func:`resize_to` resizes with the interpolation measured best.
Measured: 5 marked frames (astronaut 512 x 512, rocket 1024 x 576, coffee 768 x 768, chelsea
1216 x 832, a synthetic 1360 x 768; lossless z 40 to 81, mean 58) x 5 payload / hypothesis
pairs, each resized by the factor below with each of INTER_LINEAR / CUBIC / AREA / LANCZOS4
(n = 100 per cell), then resized back with the interpolation in the row and decoded with
``decode()`` under its hypothesis. Cells: mean z (median, minimum):

=================  ===================  ===================  ===================
Back with          0.5x, then back      0.75x, then back     1.5x, then back
=================  ===================  ===================  ===================
INTER_LINEAR       35.9 (36.3, -2.0)    35.8 (33.9, 2.8)     52.8 (50.9, 9.3)
INTER_CUBIC        48.0 (48.3, 2.3)     46.3 (45.5, 1.0)     53.8 (52.5, 5.2)
INTER_AREA         39.1 (40.8, -11.8)   44.1 (42.3, 1.0)     54.0 (51.1, 11.3)
INTER_LANCZOS4     48.2 (48.3, 0.0)     46.7 (47.1, 1.5)     54.2 (52.6, 16.2)
=================  ===================  ===================  ===================

LANCZOS4 is best on average in every column (CUBIC is a close second). AREA is the best way
back only after an exact 0.5x AREA / LINEAR downscale (it then replicates pixels, which
restores the 2x2 means the mark lives in: mean 57) and the worst after a CUBIC / LANCZOS4
one (15 to 26). The minima all come from the synthetic frame, whose per-pixel noise texture a
resize destroys; on the four photos alone the minima are 36.9 / 38.7 / 41.3 with LANCZOS4
(CUBIC 38.4 / 31.8 / 40.0, LINEAR 11.7 / 15.3 / 40.1, AREA 4.7 / 25.1 / 40.7).

Only numpy and OpenCV are used at run time (OpenCV is imported lazily).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

import numpy as np
import numpy.typing as npt

from provenance.watermark.dwtdct import (
    ALL_HYPOTHESES,
    DEFAULT_CARRIER_LIMITS,
    LL_BLOCK,
    QIM_STEP,
    CarrierLimits,
    DecodeStatus,
    Hypothesis,
    _as_hypotheses,
    _as_payloads,
    _bits_from_ll,
    _block_ll,
    _check_image,
    _cv2,
    _domain_input,
    _flatness_reason,
    _haar_ll,
    _u_plane,
    block_grid,
)
from provenance.watermark.payloads import PAYLOADS, Payload

__all__ = [
    "LOCAL_WINDOW",
    "NATIVE_SIZES",
    "PHASES",
    "RESIZE_INTERPOLATION",
    "STATISTICS",
    "SearchResult",
    "Statistic",
    "aligned",
    "aligned_chroma",
    "native_candidates",
    "resize_chroma",
    "resize_to",
    "score_alignment",
    "search",
    "search_tests",
]

#: Pixels per block side: one LL block of 4x4 covers 8x8 pixels.
_BLOCK_PIXELS: Final = 2 * LL_BLOCK
#: Pixel phases searched: every (dy, dx) offset of the 8x8 block grid.
PHASES: Final = _BLOCK_PIXELS * _BLOCK_PIXELS
#: Side, in blocks, of the window whose mean is the local p̂ of the robust statistic.
LOCAL_WINDOW: Final = 5

Statistic: TypeAlias = Literal["robust", "iid"]
#: The statistics :func:`search` can maximise (see the module docstring).
STATISTICS: Final[tuple[Statistic, ...]] = ("robust", "iid")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class SearchResult:
    """The best alignment of one payload under one hypothesis.

    Attributes
    ----------
    payload
        Payload name (see :mod:`provenance.watermark.payloads`).
    hypothesis
        Embedding domain and channel order assumed.
    status
        ``decoded``, or why not (``too_small``, ``too_flat``); when not decoded the statistics
        and the alignment are ``None``.
    blocks
        Blocks read at the best alignment's phase (N); when not decoded, the blocks of the
        frame's own (phase (0, 0)) grid.
    payload_bits
        Payload length L.
    tests
        Alignments searched: phases with at least L blocks, times ``L * L`` (``row_wrap`` x
        ``shift``); 0 when not decoded. ``z`` is the maximum over these, so it must be judged
        against a threshold that accounts for them (the threshold policy lives elsewhere).
    statistic
        ``"robust"`` (the default) or ``"iid"``: see the module docstring.
    z
        The largest z over the alignments searched, recomputed exactly at the best one.
    p_value
        Nominal one-sided normal tail of ``z`` *for a single test*: not corrected for
        ``tests`` and not calibrated.
    phase
        ``(dy, dx)``: pixel offset into the frame where the best block grid starts (0..7 each).
    row_wrap
        Best ``w``: the original image's blocks per row, modulo L.
    shift
        Best ``s``: the message index carried by the first whole block of the grid.
    matched_bits
        Bits of the hard majority vote at the best alignment (the reference's
        ``mean * 255 > 127``) that equal the payload.
    ones_fraction
        The best phase's fraction of blocks that read 1.
    inflation
        Variance used for ``z`` over the independent-blocks variance, at the best alignment
        (1 when the blocks look independent; always 1 for ``"iid"``).
    z_iid
        The ``"iid"`` statistic (:func:`~provenance.watermark.dwtdct.decode`'s definition) at
        the best alignment: for comparison only, it was not what the search maximised (unless
        ``statistic="iid"``, where it equals ``z``).
    reason
        Plain-language explanation when not decoded, else empty.
    """

    payload: str
    hypothesis: Hypothesis
    status: DecodeStatus
    blocks: int
    payload_bits: int
    tests: int
    statistic: Statistic = "robust"
    z: float | None = None
    p_value: float | None = None
    phase: tuple[int, int] | None = None
    row_wrap: int | None = None
    shift: int | None = None
    matched_bits: int | None = None
    ones_fraction: float | None = None
    inflation: float | None = None
    z_iid: float | None = None
    reason: str = ""

    @property
    def decoded(self) -> bool:
        """True when the frame could be searched (the statistics are present)."""
        return self.status is DecodeStatus.DECODED


def search_tests(payload: Payload) -> int:
    """Alignments :func:`search` tries for ``payload`` on a large frame: ``64 * L * L``."""
    if not isinstance(payload, Payload):
        raise TypeError(f"search_tests: payload must be a Payload, got {payload!r}")
    length = len(payload.bits)
    return PHASES * length * length


# --------------------------------------------------------------------------- block bits


def _window_carrier(magnitude: np.ndarray) -> np.ndarray:
    """Largest value of each 4x4 window of ``magnitude`` without its top-left corner, for every
    window position: ``out[i, j] = max(magnitude[i:i+4, j:j+4].flat[1:])``.

    That is the carrier magnitude of an LL block starting at ``(i, j)``; the argmax position is
    not needed, because equal maxima have equal magnitudes and so decode to the same bit.
    """
    # first row of the window without its first column: columns j+1..j+3
    tail = np.maximum(np.maximum(magnitude[:, 1:-2], magnitude[:, 2:-1]), magnitude[:, 3:])
    full = np.maximum(magnitude[:, :-3], tail)  # columns j..j+3
    below = np.maximum(np.maximum(full[1:-2], full[2:-1]), full[3:])  # rows i+1..i+3
    carrier: np.ndarray = np.maximum(tail[:-3], below, out=below)
    return carrier


def _parity_bits(plane: np.ndarray, parity: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """LL of one pixel parity and its per-window block bits (reference decision and types)."""
    rows, cols = plane.shape
    height = (rows - parity[0]) // 2 * 2
    width = (cols - parity[1]) // 2 * 2
    ll = _haar_ll(plane[parity[0] : parity[0] + height, parity[1] : parity[1] + width])
    carrier = _window_carrier(np.abs(ll))
    # |v| mod 36 > 18, in the working type like the reference's scalar arithmetic
    np.remainder(carrier, carrier.dtype.type(QIM_STEP), out=carrier)
    bits = (carrier > 0.5 * QIM_STEP).view(np.uint8)
    return ll, bits


def _edge_counts(extent: int) -> np.ndarray:
    """Cells of a LOCAL_WINDOW-wide window centred on each of ``extent`` cells inside them."""
    radius = LOCAL_WINDOW // 2
    index = np.arange(extent)
    inside = np.minimum(index + radius + 1, extent) - np.maximum(index - radius, 0)
    return inside.astype(np.float64)


def _centre_grid(values: np.ndarray, statistic: str) -> tuple[np.ndarray, float]:
    """Centred bits ``e = b - p̂`` of one grid (``values``: its bits as floats) and the
    independent-blocks variance ``sum p̂ (1 - p̂)``.

    ``"robust"``: p̂ per block is the mean bit of the LOCAL_WINDOW x LOCAL_WINDOW blocks around
    it (clipped at the frame's edges). ``"iid"``: p̂ is the grid's mean bit.
    """
    if statistic == "iid":
        fraction = float(values.mean())
        return values - fraction, values.size * fraction * (1.0 - fraction)
    cv2 = _cv2()
    window = (LOCAL_WINDOW, LOCAL_WINDOW)
    sums = cv2.boxFilter(values, -1, window, normalize=False, borderType=cv2.BORDER_CONSTANT)
    expected = sums / np.outer(_edge_counts(values.shape[0]), _edge_counts(values.shape[1]))
    variance = float(np.sum(expected * (1.0 - expected)))
    return values - expected, variance


@dataclass(frozen=True)
class _Field:
    """Block bits for every window position of one pixel parity's LL band.

    ``bits[i, j]`` is the bit of the LL block starting at ``(i, j)``; the grid of whole blocks
    at LL offset ``(ay, ax)`` is ``bits[ay::4, ax::4]``: pixel phase
    ``(parity_y + 2 ay, parity_x + 2 ax)``. ``centred`` holds each such grid's centred bits at
    the same positions; ``variance[ay, ax]`` its independent-blocks variance and
    ``blocks[ay, ax]`` its size.
    """

    parity: tuple[int, int]
    bits: np.ndarray
    centred: np.ndarray
    variance: np.ndarray
    blocks: np.ndarray

    def grid(self, offset: tuple[int, int]) -> np.ndarray:
        return self.bits[offset[0] :: LL_BLOCK, offset[1] :: LL_BLOCK]


def _field(bits: np.ndarray, parity: tuple[int, int], statistic: str) -> _Field:
    centred = np.zeros(bits.shape, dtype=np.float64)
    variance = np.zeros((LL_BLOCK, LL_BLOCK), dtype=np.float64)
    blocks = np.zeros((LL_BLOCK, LL_BLOCK), dtype=np.int64)
    for offset_y in range(LL_BLOCK):
        for offset_x in range(LL_BLOCK):
            grid = bits[offset_y::LL_BLOCK, offset_x::LL_BLOCK]
            if grid.size == 0:
                continue
            residual, variance[offset_y, offset_x] = _centre_grid(
                grid.astype(np.float64), statistic
            )
            centred[offset_y::LL_BLOCK, offset_x::LL_BLOCK] = residual
            blocks[offset_y, offset_x] = grid.size
    return _Field(parity, bits, centred, variance, blocks)


def _fields(
    image: np.ndarray, hypothesis: Hypothesis, statistic: str, limits: CarrierLimits
) -> tuple[list[_Field], str]:
    """The pixel parities' fields (U once, one Haar LL per parity), or why the frame is flat.

    The too-flat rule is decode()'s, applied to the frame's own grid (phase (0, 0)).
    """
    data = _domain_input(image, hypothesis.domain, "search")
    plane = _u_plane(data, hypothesis.channel_order)
    rows, cols = plane.shape
    fields: list[_Field] = []
    for parity in ((0, 0), (0, 1), (1, 0), (1, 1)):
        # a block needs 8 pixels each way
        if rows - parity[0] < _BLOCK_PIXELS or cols - parity[1] < _BLOCK_PIXELS:
            continue
        ll, bits = _parity_bits(plane, parity)
        if parity == (0, 0):
            own = bits[::LL_BLOCK, ::LL_BLOCK]
            whole = ll[: own.shape[0] * LL_BLOCK, : own.shape[1] * LL_BLOCK]
            reason = _flatness_reason(whole, own.reshape(-1), limits)
            if reason:
                return [], reason
        fields.append(_field(bits, parity, statistic))
    return fields, ""


# --------------------------------------------------------------------------- statistic


@dataclass(frozen=True)
class _Message:
    """One payload's spectra: ``signs_hat`` = rfft of ``m' = 2 m - 1``; for the robust
    statistic also ``template_hat[w]``, the rfft of the expected residue pattern under wrap
    ``w`` (``m'`` minus its local-window average), and ``template_energy[w]`` = its sum of
    squares."""

    bits: np.ndarray
    signs_hat: np.ndarray
    template_hat: np.ndarray | None
    template_energy: np.ndarray | None

    @property
    def length(self) -> int:
        return int(self.bits.size)


def _parseval_weights(length: int) -> np.ndarray:
    """``sum_k x[k]^2 = sum_f weights[f] |rfft(x)[f]|^2 / L``."""
    weights = np.full(length // 2 + 1, 2.0)
    weights[0] = 1.0
    if length % 2 == 0:
        weights[-1] = 1.0
    return weights


@functools.lru_cache(maxsize=64)
def _message(payload: Payload, statistic: str) -> _Message:
    bits = np.asarray(payload.bits, dtype=np.uint8)
    length = bits.size
    signs_hat = np.fft.rfft(2.0 * bits.astype(np.float64) - 1.0)
    if statistic == "iid" or length <= 2:
        return _Message(bits, signs_hat, None, None)
    # Local centring subtracts from each block the mean over its window, whose blocks carry
    # message indices k + (dr w + dc) for the window offsets (dr, dc): a circular convolution
    # of m' with a kernel whose DFT is D(f w) D(f) / W^2, D(x) = sum_a cos(2 pi a x / L).
    radius = LOCAL_WINDOW // 2
    taps = np.arange(-radius, radius + 1)
    freqs = np.arange(length // 2 + 1)

    def window_sum(phase: np.ndarray) -> np.ndarray:
        total: np.ndarray = np.cos(2 * np.pi * np.multiply.outer(phase, taps) / length).sum(-1)
        return total

    wraps = np.arange(length)
    kernel = window_sum((wraps[:, None] * freqs[None, :]) % length) * window_sum(freqs)[None, :]
    template_hat = signs_hat[None, :] * (1.0 - kernel / LOCAL_WINDOW**2)  # [w, f]
    energy = (np.abs(template_hat) ** 2 * _parseval_weights(length)).sum(axis=-1) / length
    return _Message(bits, signs_hat, template_hat, energy)


def _dispersion_variance(
    spread: np.ndarray, projection: np.ndarray, energy: np.ndarray, length: int
) -> np.ndarray:
    """Variance of the agreement estimated from the residue sums themselves.

    ``spread`` is ``sum_k (O_k - mean O)^2`` over the L residue sums, ``projection`` their
    correlation with the expected mark pattern and ``energy`` that pattern's sum of squares:
    the residual sum of squares of regressing O on the pattern (intercept included), scaled
    by ``L / (L - 2)``, estimates the agreement's variance without assuming independent
    blocks. For independent blocks it matches the binomial variance; image structure that
    repeats along the message's layout (stripes, regions of different p̂ at small wraps)
    inflates it.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        explained = np.where(energy > 0, projection**2 / energy, 0)
    residual: np.ndarray = np.maximum(spread - explained, 0) * (length / (length - 2))
    return residual


def _folded(fields: list[_Field], length: int) -> np.ndarray:
    """Residue sums ``H[p, q, j]`` of the centred bits of every phase ``p`` (parity-major):
    the sum over blocks with ``r % L == q`` and ``c % L == j``."""
    period = LL_BLOCK * length
    stacked = np.empty((len(fields), LL_BLOCK, LL_BLOCK, length, length), dtype=np.float64)
    for index, field in enumerate(fields):
        rows, cols = field.centred.shape
        tall, wide = -(-rows // period) * period, -(-cols // period) * period
        padded = np.zeros((tall, wide), dtype=np.float64)
        padded[:rows, :cols] = field.centred
        dense = padded.reshape(tall // period, period, wide // period, period).sum(axis=(0, 2))
        # dense index LL_BLOCK * q + ay  ->  [ay, ax, q, j]
        stacked[index] = dense.reshape(length, LL_BLOCK, length, LL_BLOCK).transpose(1, 3, 0, 2)
    return stacked.reshape(len(fields) * LL_BLOCK * LL_BLOCK, length, length)


@dataclass(frozen=True)
class _Best:
    phase: tuple[int, int]
    row_wrap: int
    shift: int
    phases: int


def _best_alignment(fields: list[_Field], message: _Message) -> _Best:
    """The (phase, row wrap, shift) with the largest z, by circular correlation in Fourier space.

    For a phase, the centred bits are folded into ``H[q, j]`` (:func:`_folded`). With wrap
    ``w`` the residue of block ``(r, c)`` is ``k = (q w + j) mod L``, so the residue sums
    ``O_w`` have the DFT ``Ô_w[f] = Ĥ[(f w) mod L, f]`` (``Ĥ`` the 2-D DFT of ``H``): one 2-D
    FFT gives every wrap. The agreement for every shift ``s``,
    ``sum_k O_w[k] m'[(k + s) mod L]``, is a circular correlation whose DFT is
    ``conj(Ô_w) m̂'``; the template projection is the same with the template. ``sum_k O_w^2``
    comes from Parseval.
    """
    length = message.length
    folded = _folded(fields, length)
    independent = np.concatenate([field.variance.reshape(-1) for field in fields])
    usable = np.concatenate([field.blocks.reshape(-1) >= length for field in fields])

    freqs = np.arange(length // 2 + 1)
    gather = (np.arange(length)[:, None] * freqs[None, :]) % length  # [w, f] -> (f w) mod L
    spectrum = np.fft.rfft2(folded)  # [p, u, f]
    del folded
    # single precision from here on: the best alignment is re-scored exactly afterwards
    sums_hat = spectrum[:, gather, freqs[None, :]].astype(np.complex64)  # [p, w, f]
    del spectrum
    np.conjugate(sums_hat, out=sums_hat)
    signs_hat = message.signs_hat.astype(np.complex64)
    agreement = np.fft.irfft(sums_hat * signs_hat, n=length, axis=-1)  # [p, w, s]
    variance = np.broadcast_to(independent.astype(np.float32)[:, None, None], agreement.shape)
    if message.template_hat is not None and message.template_energy is not None:
        weights = _parseval_weights(length).astype(np.float32)
        power = sums_hat.real**2 + sums_hat.imag**2
        squares = (power * weights).sum(axis=-1) / np.float32(length)  # [p, w]
        total = sums_hat[:, 0, 0].real  # sum of all O_k, the same for every wrap
        spread = squares - (total**2 / np.float32(length))[:, None]
        template_hat = message.template_hat.astype(np.complex64)
        projection = np.fft.irfft(sums_hat * template_hat, n=length, axis=-1)
        energy = message.template_energy.astype(np.float32)
        dispersion = _dispersion_variance(
            spread[:, :, None], projection, energy[None, :, None], length
        )
        variance = np.maximum(dispersion, variance)
        del projection, dispersion
    del sums_hat
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(variance > 0, agreement / np.sqrt(variance), np.float32(0.0))
    z[~usable] = -np.inf
    index, row_wrap, shift = (int(i) for i in np.unravel_index(int(np.argmax(z)), z.shape))
    offsets = LL_BLOCK * LL_BLOCK
    field = fields[index // offsets]
    offset_y, offset_x = divmod(index % offsets, LL_BLOCK)
    phase = (field.parity[0] + 2 * offset_y, field.parity[1] + 2 * offset_x)
    return _Best(phase, row_wrap, shift, int(np.count_nonzero(usable)))


def _carried_index(shape: tuple[int, int], length: int, row_wrap: int, shift: int) -> np.ndarray:
    """Message index carried by each block of a ``shape`` grid, raster order."""
    block_rows, block_cols = shape
    rows = np.arange(block_rows, dtype=np.int64)[:, None] * row_wrap
    cols = np.arange(block_cols, dtype=np.int64)[None, :] + shift
    index: np.ndarray = ((rows + cols) % length).reshape(-1)
    return index


@dataclass(frozen=True)
class _Score:
    z: float
    matched_bits: int
    ones_fraction: float
    inflation: float
    z_iid: float


def _score(
    grid: np.ndarray,
    message: _Message,
    row_wrap: int,
    shift: int,
    statistic: str,
    centred: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> _Score:
    """The statistic of one alignment, by direct summation (the search's exact re-score).

    ``centred`` is :func:`_centred`'s result for ``grid`` when the caller scores several
    messages on one grid (it depends on the grid only).
    """
    length = message.length
    values, residual, independent = centred or _centred(grid, statistic)
    carried = _carried_index(grid.shape, length, row_wrap, shift)
    sums = np.bincount(carried, weights=residual.reshape(-1), minlength=length)
    signs = 2.0 * message.bits.astype(np.float64) - 1.0
    agreement = float(np.dot(sums, signs))
    variance = independent
    if message.template_hat is not None and message.template_energy is not None:
        template = np.fft.irfft(message.template_hat[row_wrap], n=length)
        spread = float(np.sum((sums - sums.mean()) ** 2))
        dispersion = _dispersion_variance(
            np.asarray(spread),
            np.asarray(float(np.dot(sums, template))),
            np.asarray(message.template_energy[row_wrap]),
            length,
        )
        variance = max(variance, float(dispersion))
    z = agreement / math.sqrt(variance) if variance > 0 else 0.0
    ones = np.bincount(carried, weights=values.reshape(-1), minlength=length)
    votes = np.bincount(carried, minlength=length).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        voted = ((ones / votes) * 255 > 127).astype(np.uint8)
    matched = int(np.count_nonzero(voted == message.bits))
    inflation = variance / independent if independent > 0 else 1.0
    if statistic == "iid":
        z_iid = z
    else:  # decode()'s definition: one p̂, independent blocks
        fraction = float(values.mean())
        spread = values.size * fraction * (1.0 - fraction)
        excess = float(np.dot(ones - fraction * votes, signs))
        z_iid = excess / math.sqrt(spread) if spread > 0 else 0.0
    return _Score(z, matched, float(values.mean()), inflation, z_iid)


def _centred(grid: np.ndarray, statistic: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(bits as floats, centred bits, independent-blocks variance) of one grid."""
    values = grid.astype(np.float64)
    residual, independent = _centre_grid(values, statistic)
    return values, residual, independent


# --------------------------------------------------------------------------- search


def _normal_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _chosen(
    payloads: Payload | Iterable[Payload],
    hypotheses: Iterable[Hypothesis],
    statistic: str,
    caller: str,
) -> tuple[tuple[Payload, ...], tuple[Hypothesis, ...]]:
    """The payloads and hypotheses as tuples, and the statistic checked."""
    if statistic not in STATISTICS:
        raise ValueError(f"{caller}: statistic must be one of {STATISTICS}, got {statistic!r}")
    try:
        return _as_payloads(payloads), _as_hypotheses(hypotheses)
    except (TypeError, ValueError) as error:  # their messages name decode()
        raise type(error)(str(error).replace("decode:", f"{caller}:", 1)) from None


def _validated(
    image_bgr: Any,
    payloads: Payload | Iterable[Payload],
    hypotheses: Iterable[Hypothesis],
    statistic: str,
    caller: str,
) -> tuple[np.ndarray, tuple[Payload, ...], tuple[Hypothesis, ...]]:
    chosen_payloads, chosen_hypotheses = _chosen(payloads, hypotheses, statistic, caller)
    image = _check_image(image_bgr, caller)
    if image.dtype != np.uint8 and any(h.domain == "uint8" for h in chosen_hypotheses):
        raise TypeError(
            f"{caller}: a {image.dtype} image_bgr cannot be read under the uint8 hypotheses; "
            "pass the uint8 frame, or only float32 hypotheses"
        )
    return image, chosen_payloads, chosen_hypotheses


def search(
    image_bgr: npt.NDArray[Any],
    payloads: Payload | Iterable[Payload] = PAYLOADS,
    *,
    hypotheses: Iterable[Hypothesis] = ALL_HYPOTHESES,
    limits: CarrierLimits = DEFAULT_CARRIER_LIMITS,
    statistic: Statistic = "robust",
) -> list[SearchResult]:
    """Search every block alignment of a (possibly cropped) frame for each payload.

    Parameters
    ----------
    image_bgr
        (H, W, 3) BGR frame, uint8 or float32 in [0, 255]; float32 frames can only be read
        under ``float32`` hypotheses (TypeError otherwise), as in
        :func:`~provenance.watermark.dwtdct.decode`.
    payloads
        One payload or several (default: every known payload).
    hypotheses
        Embedding domain x channel order combinations to test.
    limits
        The inconclusive rules (:class:`~provenance.watermark.dwtdct.CarrierLimits`), applied
        as :func:`~provenance.watermark.dwtdct.decode` applies them, to the frame's own grid.
    statistic
        ``"robust"`` (default) or ``"iid"`` (decode()'s definition); see the module docstring.

    Returns
    -------
    list of SearchResult
        Payload by payload, hypotheses in the given order. ``z`` is a maximum over
        ``tests`` alignments, not a single test.
    """
    image, chosen_payloads, chosen_hypotheses = _validated(
        image_bgr, payloads, hypotheses, statistic, "search"
    )
    rows, cols = image.shape[:2]
    block_rows, block_cols = block_grid(image.shape)
    count = block_rows * block_cols

    results: dict[tuple[str, Hypothesis], SearchResult] = {}
    if rows * cols < limits.min_area:
        results = _too_small(image.shape, chosen_payloads, chosen_hypotheses, statistic, limits)
    else:
        messages = {payload.name: _message(payload, statistic) for payload in chosen_payloads}
        for hypothesis in chosen_hypotheses:
            fields, flat_reason = _fields(image, hypothesis, statistic, limits)
            for payload in chosen_payloads:
                results[payload.name, hypothesis] = _search_one(
                    fields,
                    flat_reason,
                    payload,
                    messages[payload.name],
                    hypothesis,
                    count,
                    statistic,
                )
    return [
        results[payload.name, hypothesis]
        for payload in chosen_payloads
        for hypothesis in chosen_hypotheses
    ]


def _too_small(
    shape: tuple[int, ...],
    payloads: tuple[Payload, ...],
    hypotheses: tuple[Hypothesis, ...],
    statistic: Statistic,
    limits: CarrierLimits,
) -> dict[tuple[str, Hypothesis], SearchResult]:
    rows, cols = int(shape[0]), int(shape[1])
    block_rows, block_cols = block_grid(shape)
    reason = (
        f"frame is {cols}x{rows} = {rows * cols} pixels; the dwtDct decoder needs at least "
        f"{limits.min_area} (the reference refuses less than 256 x 256)"
    )
    return {
        (payload.name, hypothesis): SearchResult(
            payload=payload.name,
            hypothesis=hypothesis,
            status=DecodeStatus.TOO_SMALL,
            blocks=block_rows * block_cols,
            payload_bits=len(payload.bits),
            tests=0,
            statistic=statistic,
            reason=reason,
        )
        for payload in payloads
        for hypothesis in hypotheses
    }


def aligned(
    image_bgr: npt.NDArray[Any],
    payloads: Payload | Iterable[Payload] = PAYLOADS,
    *,
    hypotheses: Iterable[Hypothesis] = ALL_HYPOTHESES,
    limits: CarrierLimits = DEFAULT_CARRIER_LIMITS,
    statistic: Statistic = "robust",
) -> list[SearchResult]:
    """Score the frame's own alignment (no search) for each payload and hypothesis.

    What :func:`~provenance.watermark.dwtdct.decode` reads (phase (0, 0), the frame's own
    blocks per row as the wrap, shift 0), with the ``statistic`` of :func:`search`: one test
    per result. Block bits are computed once per hypothesis and shared by the payloads; the
    inconclusive rules are decode()'s.
    """
    image, chosen_payloads, chosen_hypotheses = _validated(
        image_bgr, payloads, hypotheses, statistic, "aligned"
    )
    rows, cols = image.shape[:2]
    if rows * cols < limits.min_area:
        results = _too_small(image.shape, chosen_payloads, chosen_hypotheses, statistic, limits)
        return [results[p.name, h] for p in chosen_payloads for h in chosen_hypotheses]
    lls = {
        hypothesis: _block_ll(
            image,
            domain=hypothesis.domain,
            channel_order=hypothesis.channel_order,
            caller="aligned",
        )
        for hypothesis in chosen_hypotheses
    }
    return _aligned_results(lls, block_grid(image.shape), chosen_payloads, statistic, limits)


def _aligned_results(
    lls: dict[Hypothesis, np.ndarray],
    grid_shape: tuple[int, int],
    payloads: tuple[Payload, ...],
    statistic: Statistic,
    limits: CarrierLimits,
) -> list[SearchResult]:
    """Score each hypothesis's LL band (whole blocks only) at its own alignment."""
    block_rows, block_cols = grid_shape
    count = block_rows * block_cols
    output: dict[tuple[str, Hypothesis], SearchResult] = {}
    for hypothesis, ll in lls.items():
        bits = _bits_from_ll(ll)
        flat_reason = _flatness_reason(ll, bits, limits)
        grid = bits.reshape(block_rows, block_cols)
        centred = _centred(grid, statistic) if count and not flat_reason else None
        for payload in payloads:
            length = len(payload.bits)
            common: dict[str, Any] = {
                "payload": payload.name,
                "hypothesis": hypothesis,
                "payload_bits": length,
                "statistic": statistic,
                "blocks": count,
            }
            if count < length:
                output[payload.name, hypothesis] = SearchResult(
                    status=DecodeStatus.TOO_SMALL,
                    tests=0,
                    reason=f"{count} blocks cannot carry the {length}-bit {payload.name} message",
                    **common,
                )
                continue
            if flat_reason:
                output[payload.name, hypothesis] = SearchResult(
                    status=DecodeStatus.TOO_FLAT, tests=0, reason=flat_reason, **common
                )
                continue
            message = _message(payload, statistic)
            score = _score(grid, message, block_cols % length, 0, statistic, centred)
            output[payload.name, hypothesis] = SearchResult(
                status=DecodeStatus.DECODED,
                tests=1,
                z=score.z,
                p_value=_normal_tail(score.z),
                phase=(0, 0),
                row_wrap=block_cols % length,
                shift=0,
                matched_bits=score.matched_bits,
                ones_fraction=score.ones_fraction,
                inflation=score.inflation,
                z_iid=score.z_iid,
                **common,
            )
    return [output[p.name, h] for p in payloads for h in lls]


# BT.601 chroma -> OpenCV's analog U (0.492 (B - Y)), for limited and full range: U of a BGR
# frame is a multiple of Cb; U of a channel-swapped frame mixes Cr and Cb, because the swapped
# frame's luma weights R and B the other way round (Y' - Y = 0.185 (B - R)).
_CB_SCALE = {False: 0.492 / (0.564 * 224 / 255), True: 0.492 / 0.564}
_SWAPPED = {
    False: (0.492 * 1.185 / (0.713 * 224 / 255), 0.492 * 0.185 / (0.564 * 224 / 255)),
    True: (0.492 * 1.185 / 0.713, 0.492 * 0.185 / 0.564),
}


def aligned_chroma(
    chroma: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]],
    payloads: Payload | Iterable[Payload] = PAYLOADS,
    *,
    full_range: bool = False,
    hypotheses: Iterable[Hypothesis] = ALL_HYPOTHESES,
    limits: CarrierLimits = DEFAULT_CARRIER_LIMITS,
    statistic: Statistic = "robust",
) -> list[SearchResult]:
    """:func:`aligned` for a decoded YUV 4:2:0 frame, read from its chroma planes directly.

    The Haar LL band of U is twice the 2x2 mean of U, and on a 4:2:0 frame that mean is (up
    to the encoder's chroma filter) the chroma sample itself; U is an affine function of Cb
    (and, for channel-swapped hypotheses, of Cr and Cb). This skips the BGR conversion and the
    transform at full size: about 4x less work. It is not bit-exact with the reference
    decoder; on marked H.264 frames its z is within about 15 % of the BGR path's.

    Parameters
    ----------
    chroma
        (Cb, Cr) planes, (H // 2, W // 2) uint8 each (see
        :attr:`~provenance.media.frames.SampledFrame.chroma`); the frame is 2x their size.
    full_range
        True for full-range (JPEG) chroma, False for limited (video) range.
    """
    cb, cr = (np.asarray(plane) for plane in chroma)
    if cb.ndim != 2 or cb.shape != cr.shape:
        raise ValueError(
            f"aligned_chroma: chroma must be two equal 2-D planes, got {cb.shape} and {cr.shape}"
        )
    chosen_payloads, chosen_hypotheses = _chosen(payloads, hypotheses, statistic, "aligned_chroma")
    shape = (cb.shape[0] * 2, cb.shape[1] * 2)
    if shape[0] * shape[1] < limits.min_area:
        results = _too_small(shape, chosen_payloads, chosen_hypotheses, statistic, limits)
        return [results[p.name, h] for p in chosen_payloads for h in chosen_hypotheses]
    block_rows, block_cols = block_grid(shape)
    rows, cols = block_rows * LL_BLOCK, block_cols * LL_BLOCK
    centred_b = cb[:rows, :cols].astype(np.float32) - np.float32(128)
    centred_r = cr[:rows, :cols].astype(np.float32) - np.float32(128)
    lls: dict[Hypothesis, np.ndarray] = {}
    for hypothesis in chosen_hypotheses:
        if hypothesis.channel_order == "bgr":
            u = np.float32(2 * _CB_SCALE[full_range]) * centred_b
        else:
            from_cr, from_cb = _SWAPPED[full_range]
            u = np.float32(2 * from_cr) * centred_r - np.float32(2 * from_cb) * centred_b
        offset = 128.0 if hypothesis.domain == "uint8" else 0.5
        u += np.float32(2 * offset)
        lls[hypothesis] = u
    return _aligned_results(lls, (block_rows, block_cols), chosen_payloads, statistic, limits)


def resize_chroma(
    chroma: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]], size: tuple[int, int]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The chroma planes of a frame resized to ``size`` = (width, height) (planes half that)."""
    width, height = _check_size(size[0], size[1], "resize_chroma")
    cv2 = _cv2()
    target = (max(1, width // 2), max(1, height // 2))
    interpolation = getattr(cv2, RESIZE_INTERPOLATION)
    cb, cr = (
        np.asarray(cv2.resize(np.ascontiguousarray(p), target, interpolation=interpolation))
        for p in chroma
    )
    return cb, cr


def _search_one(
    fields: list[_Field],
    flat_reason: str,
    payload: Payload,
    message: _Message,
    hypothesis: Hypothesis,
    count: int,
    statistic: Statistic,
) -> SearchResult:
    length = message.length
    common: dict[str, Any] = {
        "payload": payload.name,
        "hypothesis": hypothesis,
        "payload_bits": length,
        "statistic": statistic,
    }
    if count < length:
        return SearchResult(
            status=DecodeStatus.TOO_SMALL,
            blocks=count,
            tests=0,
            reason=f"{count} blocks cannot carry the {length}-bit {payload.name} message",
            **common,
        )
    if flat_reason:
        return SearchResult(
            status=DecodeStatus.TOO_FLAT, blocks=count, tests=0, reason=flat_reason, **common
        )
    # count >= length, so phase (0, 0) (count blocks) is always usable
    best = _best_alignment(fields, message)
    parity = (best.phase[0] % 2, best.phase[1] % 2)
    (field,) = (field for field in fields if field.parity == parity)
    grid = field.grid((best.phase[0] // 2, best.phase[1] // 2))
    score = _score(grid, message, best.row_wrap, best.shift, statistic)
    return SearchResult(
        status=DecodeStatus.DECODED,
        blocks=int(grid.size),
        tests=best.phases * length * length,
        z=score.z,
        p_value=_normal_tail(score.z),
        phase=best.phase,
        row_wrap=best.row_wrap,
        shift=best.shift,
        matched_bits=score.matched_bits,
        ones_fraction=score.ones_fraction,
        inflation=score.inflation,
        z_iid=score.z_iid,
        **common,
    )


def score_alignment(
    image_bgr: npt.NDArray[Any],
    payload: Payload,
    hypothesis: Hypothesis,
    *,
    phase: tuple[int, int] = (0, 0),
    row_wrap: int,
    shift: int = 0,
    statistic: Statistic = "robust",
) -> SearchResult:
    """Score one given alignment (no search), reading the blocks with the reference decoder.

    The frame is cut at ``phase`` and its blocks read bit-exactly as
    :func:`~provenance.watermark.dwtdct.block_bits` does; block ``(r, c)`` then carries bit
    ``(r * row_wrap + c + shift) mod L``. With ``phase=(0, 0)``, ``row_wrap`` the frame's own
    blocks per row modulo L, ``shift=0`` and ``statistic="iid"`` this is
    :func:`~provenance.watermark.dwtdct.decode`'s z. The inconclusive rules are not applied;
    ``tests`` is 1.
    """
    image, (chosen,), (assumed,) = _validated(
        image_bgr, payload, (hypothesis,), statistic, "score_alignment"
    )
    length = len(chosen.bits)
    dy, dx = phase
    if not (0 <= dy < _BLOCK_PIXELS and 0 <= dx < _BLOCK_PIXELS):
        raise ValueError(f"score_alignment: phase must be in [0, 8) x [0, 8), got {phase}")
    if not (0 <= row_wrap < length and 0 <= shift < length):
        raise ValueError(
            f"score_alignment: row_wrap and shift must be in [0, {length}), got {row_wrap}, {shift}"
        )
    ll = _block_ll(
        image[dy:, dx:],
        domain=assumed.domain,
        channel_order=assumed.channel_order,
        caller="score_alignment",
    )
    bits = _bits_from_ll(ll)
    grid = bits.reshape(ll.shape[0] // LL_BLOCK, ll.shape[1] // LL_BLOCK)
    if grid.size < length:
        raise ValueError(f"score_alignment: {grid.size} blocks cannot carry a {length}-bit message")
    score = _score(grid, _message(chosen, statistic), row_wrap, shift, statistic)
    return SearchResult(
        payload=chosen.name,
        hypothesis=assumed,
        status=DecodeStatus.DECODED,
        blocks=int(grid.size),
        payload_bits=length,
        tests=1,
        statistic=statistic,
        z=score.z,
        p_value=_normal_tail(score.z),
        phase=(dy, dx),
        row_wrap=row_wrap,
        shift=shift,
        matched_bits=score.matched_bits,
        ones_fraction=score.ones_fraction,
        inflation=score.inflation,
        z_iid=score.z_iid,
    )


# --------------------------------------------------------------------------- native sizes

#: (width, height) sizes that generators using this mark write, each group with its source.
#: Resizing a frame back to one of them before decoding undoes a resize (see the module
#: docstring); each candidate costs one decode, so the list is kept short.
NATIVE_SIZES: Final[tuple[tuple[int, int], ...]] = tuple(
    dict.fromkeys(
        (
            # SD 1.x (CompVis scripts/txt2img.py, --H/--W default 512) and SD 2.x base
            (512, 512),
            # SD 2.x 768-v models (Stability-AI/stablediffusion README: --H 768 --W 768)
            (768, 768),
            # SDXL (generative-models / diffusers default 1024^2) and the SDXL aspect buckets
            # most front ends offer (SDXL report's bucket table; generative-models
            # scripts/demo SD_XL_BASE_RATIOS)
            (1024, 1024),
            (1152, 896),
            (896, 1152),
            (1216, 832),
            (832, 1216),
            (1344, 768),
            (768, 1344),
            (1536, 640),
            (640, 1536),
            # SVD / SVD-XT (generative-models scripts/sampling/simple_video_sample.py:
            # H=576, W=1024) and its portrait counterpart
            (1024, 576),
            (576, 1024),
            # FLUX.1 reference code (black-forest-labs/flux src/flux/cli.py: width=1360,
            # height=768; its demos default to the same), portrait, 1024^2 (above) and 4:3
            (1360, 768),
            (768, 1360),
            (1024, 768),
            (768, 1024),
        )
    )
)


def _check_size(width: Any, height: Any, caller: str) -> tuple[int, int]:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{caller}: {name} must be a positive integer, got {value!r}")
    return int(width), int(height)


def native_candidates(
    width: int, height: int, *, tolerance: float = 0.01
) -> tuple[tuple[int, int], ...]:
    """Native sizes a ``width`` x ``height`` frame may have been resized from.

    Returns the :data:`NATIVE_SIZES` whose aspect ratio is within ``tolerance`` (relative) of
    ``width / height``, except ``(width, height)`` itself, nearest area first (by
    ``|log(area ratio)|``; ties by aspect error, then width).
    """
    width, height = _check_size(width, height, "native_candidates")
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"native_candidates: tolerance must be >= 0, got {tolerance!r}")
    aspect = width / height
    area = width * height
    ranked = []
    for size in NATIVE_SIZES:
        if size == (width, height):
            continue
        error = abs((size[0] / size[1]) / aspect - 1.0)
        if error <= tolerance:
            ranked.append((abs(math.log(size[0] * size[1] / area)), error, size))
    return tuple(size for _, _, size in sorted(ranked))


#: OpenCV interpolation :func:`resize_to` uses (chosen by measurement: module docstring).
RESIZE_INTERPOLATION: Final = "INTER_LANCZOS4"


def resize_to(image_bgr: npt.NDArray[Any], size: tuple[int, int]) -> npt.NDArray[Any]:
    """Resize a frame to ``size`` = (width, height) with the interpolation that recovers the
    mark best (``cv2.INTER_LANCZOS4``, see the module docstring).

    A uint8 frame gives a uint8 frame (OpenCV rounds and saturates); a float32 frame gives
    float32, clipped to [0, 255]. The input is not modified.
    """
    image = _check_image(image_bgr, "resize_to")
    if not isinstance(size, tuple | list) or len(size) != 2:
        raise ValueError(f"resize_to: size must be (width, height), got {size!r}")
    width, height = _check_size(size[0], size[1], "resize_to")
    cv2 = _cv2()
    resized = cv2.resize(
        np.ascontiguousarray(image),
        (width, height),
        interpolation=getattr(cv2, RESIZE_INTERPOLATION),
    )
    if resized.dtype == np.float32:
        np.clip(resized, 0.0, 255.0, out=resized)
    return np.asarray(resized)
