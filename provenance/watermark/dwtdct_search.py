"""Crop-robust search for the ``dwtDct`` mark: every block alignment of a cropped frame.

**Why search.** :func:`~provenance.watermark.dwtdct_reference.decode` reads the frame's own 8x8 block
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


The statistic maximised is the robust one of :mod:`.dwtdct_statistic` (its docstring says
why a maximum over a search needs it).

**How it is fast.** Per hypothesis the U plane is computed once and its Haar LL band once per
pixel parity (4); an LL block may start at any of the 4x4 LL offsets, so the carrier (largest
|value| of the 15 non-DC positions; equal maxima decode alike, so the argmax itself is not
needed) is computed for every window position with separable running maxima, and the bits of
the 16 offsets are strided views of it (bit-identical to
:func:`~provenance.watermark.dwtdct_scheme.block_bits` of the frame cut at that phase). Block bits
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

"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from provenance.errors import ArgumentError
from provenance.watermark.dwtdct_scheme import (
    ALL_HYPOTHESES,
    DEFAULT_CARRIER_LIMITS,
    LL_BLOCK,
    QIM_STEP,
    CarrierLimits,
    DecodeStatus,
    Hypothesis,
    bits_from_ll,
    block_grid,
    block_ll,
    domain_input,
    flatness_reason,
    haar_ll,
    u_plane,
)
from provenance.watermark.dwtdct_statistic import (
    Message,
    SearchResult,
    Statistic,
    centre_grid,
    dispersion_variance,
    message_spectra,
    parseval_weights,
    score_grid,
    too_small_results,
    validated_inputs,
)
from provenance.watermark.payloads import PAYLOADS, Payload

__all__ = [
    "PHASES",
    "score_alignment",
    "search",
    "search_tests",
]


#: Pixels per block side: one LL block of 4x4 covers 8x8 pixels.
_BLOCK_PIXELS: Final = 2 * LL_BLOCK

#: Pixel phases searched: every (dy, dx) offset of the 8x8 block grid.
PHASES: Final = _BLOCK_PIXELS * _BLOCK_PIXELS


def search_tests(payload: Payload) -> int:
    """Alignments :func:`search` tries for ``payload`` on a large frame: ``64 * L * L``."""
    if not isinstance(payload, Payload):
        raise ArgumentError(f"search_tests: payload must be a Payload, got {payload!r}")
    length = len(payload.bits)
    return PHASES * length * length


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
    ll = haar_ll(plane[parity[0] : parity[0] + height, parity[1] : parity[1] + width])
    carrier = _window_carrier(np.abs(ll))
    # |v| mod 36 > 18, in the working type like the reference's scalar arithmetic
    np.remainder(carrier, carrier.dtype.type(QIM_STEP), out=carrier)
    bits = (carrier > 0.5 * QIM_STEP).view(np.uint8)
    return ll, bits


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
            residual, variance[offset_y, offset_x] = centre_grid(grid.astype(np.float64), statistic)
            centred[offset_y::LL_BLOCK, offset_x::LL_BLOCK] = residual
            blocks[offset_y, offset_x] = grid.size
    return _Field(parity, bits, centred, variance, blocks)


def _fields(
    image: np.ndarray, hypothesis: Hypothesis, statistic: str, limits: CarrierLimits
) -> tuple[list[_Field], str]:
    """The pixel parities' fields (U once, one Haar LL per parity), or why the frame is flat.

    The too-flat rule is decode()'s, applied to the frame's own grid (phase (0, 0)).
    """
    data = domain_input(image, hypothesis.domain, "search")
    plane = u_plane(data, hypothesis.channel_order)
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
            reason = flatness_reason(whole, own.reshape(-1), limits)
            if reason:
                return [], reason
        fields.append(_field(bits, parity, statistic))
    return fields, ""


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


def _best_alignment(fields: list[_Field], message: Message) -> _Best:
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
        weights = parseval_weights(length).astype(np.float32)
        power = sums_hat.real**2 + sums_hat.imag**2
        squares = (power * weights).sum(axis=-1) / np.float32(length)  # [p, w]
        total = sums_hat[:, 0, 0].real  # sum of all O_k, the same for every wrap
        spread = squares - (total**2 / np.float32(length))[:, None]
        template_hat = message.template_hat.astype(np.complex64)
        projection = np.fft.irfft(sums_hat * template_hat, n=length, axis=-1)
        energy = message.template_energy.astype(np.float32)
        dispersion = dispersion_variance(
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
        :func:`~provenance.watermark.dwtdct_reference.decode`.
    payloads
        One payload or several (default: every known payload).
    hypotheses
        Embedding domain x channel order combinations to test.
    limits
        The inconclusive rules (:class:`~provenance.watermark.dwtdct_scheme.CarrierLimits`), applied
        as :func:`~provenance.watermark.dwtdct_reference.decode` applies them, to the frame's own grid.
    statistic
        ``"robust"`` (default) or ``"iid"`` (decode()'s definition); see the module docstring.

    Returns
    -------
    list of SearchResult
        Payload by payload, hypotheses in the given order. ``z`` is a maximum over
        ``tests`` alignments, not a single test.
    """
    image, chosen_payloads, chosen_hypotheses = validated_inputs(
        image_bgr, payloads, hypotheses, statistic, "search"
    )
    rows, cols = image.shape[:2]
    block_rows, block_cols = block_grid(image.shape)
    count = block_rows * block_cols

    results: dict[tuple[str, Hypothesis], SearchResult] = {}
    if rows * cols < limits.min_area:
        results = too_small_results(
            image.shape, chosen_payloads, chosen_hypotheses, statistic, limits
        )
    else:
        messages = {
            payload.name: message_spectra(payload, statistic) for payload in chosen_payloads
        }
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


def _search_one(
    fields: list[_Field],
    flat_reason: str,
    payload: Payload,
    message: Message,
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
    score = score_grid(grid, message, best.row_wrap, best.shift, statistic)
    return SearchResult(
        status=DecodeStatus.DECODED,
        blocks=int(grid.size),
        tests=best.phases * length * length,
        phase=best.phase,
        row_wrap=best.row_wrap,
        shift=best.shift,
        **score.result_fields(),
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
    :func:`~provenance.watermark.dwtdct_scheme.block_bits` does; block ``(r, c)`` then carries bit
    ``(r * row_wrap + c + shift) mod L``. With ``phase=(0, 0)``, ``row_wrap`` the frame's own
    blocks per row modulo L, ``shift=0`` and ``statistic="iid"`` this is
    :func:`~provenance.watermark.dwtdct_reference.decode`'s z. The inconclusive rules are not applied;
    ``tests`` is 1.
    """
    image, (chosen,), (assumed,) = validated_inputs(
        image_bgr, payload, (hypothesis,), statistic, "score_alignment"
    )
    length = len(chosen.bits)
    dy, dx = phase
    if not (0 <= dy < _BLOCK_PIXELS and 0 <= dx < _BLOCK_PIXELS):
        raise ArgumentError(f"score_alignment: phase must be in [0, 8) x [0, 8), got {phase}")
    if not (0 <= row_wrap < length and 0 <= shift < length):
        raise ArgumentError(
            f"score_alignment: row_wrap and shift must be in [0, {length}), got {row_wrap}, {shift}"
        )
    ll = block_ll(
        image[dy:, dx:],
        domain=assumed.domain,
        channel_order=assumed.channel_order,
        caller="score_alignment",
    )
    bits = bits_from_ll(ll)
    grid = bits.reshape(ll.shape[0] // LL_BLOCK, ll.shape[1] // LL_BLOCK)
    if grid.size < length:
        raise ArgumentError(
            f"score_alignment: {grid.size} blocks cannot carry a {length}-bit message"
        )
    score = score_grid(grid, message_spectra(chosen, statistic), row_wrap, shift, statistic)
    return SearchResult(
        payload=chosen.name,
        hypothesis=assumed,
        status=DecodeStatus.DECODED,
        blocks=int(grid.size),
        payload_bits=length,
        tests=1,
        statistic=statistic,
        phase=(dy, dx),
        row_wrap=row_wrap,
        shift=shift,
        **score.result_fields(),
    )
