"""The robust dwtDct statistic, shared by the per-frame decode and the crop search.

**The statistic.** Let ``e`` be a block's centred bit (``b - p̂``) and ``O_k`` the sum of ``e``
over the blocks carrying message index ``k`` (the *residue sums*); the agreement is
``S = sum_k O_k m'_k`` with ``m' = 2 m - 1`` and ``z = S / sqrt(V)``. Two variants:

- ``statistic="iid"``: one p̂ per phase (its fraction of 1-blocks) and the independent-blocks
  variance ``V = N p̂ (1 - p̂)``. This is exactly the centred agreement
  ``(A - E) / sqrt(N p̂ (1 - p̂))`` of :func:`~provenance.watermark.dwtdct_reference.score_block_bits`:
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


:class:`SearchResult` is what both the frame's own alignment (:mod:`.dwtdct_frame`) and the
crop search (:mod:`.dwtdct_search`) give for one payload under one hypothesis.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

import numpy as np

from provenance.errors import ArgumentError
from provenance.watermark.dwtdct_scheme import (
    CarrierLimits,
    DecodeStatus,
    Hypothesis,
    as_hypotheses,
    as_payloads,
    block_grid,
    check_image,
    opencv,
)
from provenance.watermark.payloads import Payload

__all__ = [
    "LOCAL_WINDOW",
    "STATISTICS",
    "Message",
    "Score",
    "SearchResult",
    "Statistic",
    "Tallies",
    "carried_index",
    "centre_grid",
    "centred_grid",
    "chosen_inputs",
    "dispersion_variance",
    "edge_counts",
    "message_spectra",
    "normal_tail",
    "parseval_weights",
    "score_grid",
    "score_tallies",
    "too_small_results",
    "validated_inputs",
]


#: Side, in blocks, of the window whose mean is the local p̂ of the robust statistic.
LOCAL_WINDOW: Final = 5

Statistic: TypeAlias = Literal["robust", "iid"]

#: The statistics :func:`search` can maximise (see the module docstring).
STATISTICS: Final[tuple[Statistic, ...]] = ("robust", "iid")


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
        The ``"iid"`` statistic (:func:`~provenance.watermark.dwtdct_reference.decode`'s definition) at
        the best alignment: for comparison only, it was not what the search maximised (unless
        ``statistic="iid"``, where it equals ``z``).
    reason
        Plain-language explanation when not decoded, else empty.
    tallies
        The sums the statistic at the best alignment was computed from (see
        :class:`Tallies`); None when not decoded.
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
    tallies: Tallies | None = field(default=None, repr=False, compare=False)

    @property
    def decoded(self) -> bool:
        """True when the frame could be searched (the statistics are present)."""
        return self.status is DecodeStatus.DECODED


def edge_counts(extent: int) -> np.ndarray:
    """Cells of a LOCAL_WINDOW-wide window centred on each of ``extent`` cells inside them."""
    radius = LOCAL_WINDOW // 2
    index = np.arange(extent)
    inside = np.minimum(index + radius + 1, extent) - np.maximum(index - radius, 0)
    return inside.astype(np.float64)


def centre_grid(values: np.ndarray, statistic: str) -> tuple[np.ndarray, float]:
    """Centred bits ``e = b - p̂`` of one grid (``values``: its bits as floats) and the
    independent-blocks variance ``sum p̂ (1 - p̂)``.

    ``"robust"``: p̂ per block is the mean bit of the LOCAL_WINDOW x LOCAL_WINDOW blocks around
    it (clipped at the frame's edges). ``"iid"``: p̂ is the grid's mean bit.
    """
    if statistic == "iid":
        fraction = float(values.mean())
        return values - fraction, values.size * fraction * (1.0 - fraction)
    cv2 = opencv()
    window = (LOCAL_WINDOW, LOCAL_WINDOW)
    sums = cv2.boxFilter(values, -1, window, normalize=False, borderType=cv2.BORDER_CONSTANT)
    expected = sums / np.outer(edge_counts(values.shape[0]), edge_counts(values.shape[1]))
    variance = float(np.sum(expected * (1.0 - expected)))
    return values - expected, variance


@dataclass(frozen=True)
class Message:
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


def parseval_weights(length: int) -> np.ndarray:
    """``sum_k x[k]^2 = sum_f weights[f] |rfft(x)[f]|^2 / L``."""
    weights = np.full(length // 2 + 1, 2.0)
    weights[0] = 1.0
    if length % 2 == 0:
        weights[-1] = 1.0
    return weights


@functools.lru_cache(maxsize=64)
def message_spectra(payload: Payload, statistic: str) -> Message:
    bits = np.asarray(payload.bits, dtype=np.uint8)
    length = bits.size
    signs_hat = np.fft.rfft(2.0 * bits.astype(np.float64) - 1.0)
    if statistic == "iid" or length <= 2:
        return Message(bits, signs_hat, None, None)
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
    energy = (np.abs(template_hat) ** 2 * parseval_weights(length)).sum(axis=-1) / length
    return Message(bits, signs_hat, template_hat, energy)


def dispersion_variance(
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


def carried_index(shape: tuple[int, int], length: int, row_wrap: int, shift: int) -> np.ndarray:
    """Message index carried by each block of a ``shape`` grid, raster order."""
    block_rows, block_cols = shape
    rows = np.arange(block_rows, dtype=np.int64)[:, None] * row_wrap
    cols = np.arange(block_cols, dtype=np.int64)[None, :] + shift
    index: np.ndarray = ((rows + cols) % length).reshape(-1)
    return index


@dataclass(frozen=True)
class Score:
    """The statistic of one alignment and what goes with it (see :class:`SearchResult`)."""

    z: float
    matched_bits: int
    ones_fraction: float
    inflation: float
    z_iid: float
    tallies: Tallies

    def result_fields(self) -> dict[str, Any]:
        """The :class:`SearchResult` fields this score fills (``p_value`` from ``z``)."""
        return {
            "z": self.z,
            "p_value": normal_tail(self.z),
            "matched_bits": self.matched_bits,
            "ones_fraction": self.ones_fraction,
            "inflation": self.inflation,
            "z_iid": self.z_iid,
            "tallies": self.tallies,
        }


@dataclass(frozen=True)
class Tallies:
    """The per-message-index sums one alignment's statistic is computed from.

    They add up over frames read at the same alignment (same payload length and wrap), which
    is how a clip's frames are combined: :func:`score_tallies` of the sum is the statistic of
    all those frames' blocks together (see :mod:`.dwtdct_clip`).
    """

    row_wrap: int
    residues: np.ndarray = field(repr=False)
    """``O_k``: the centred bits summed over the blocks carrying message index ``k``."""
    ones: np.ndarray = field(repr=False)
    """Blocks reading 1, per message index."""
    votes: np.ndarray = field(repr=False)
    """Blocks, per message index."""
    independent: float
    """The independent-blocks variance ``sum p̂ (1 - p̂)``."""
    centred: np.ndarray | None = field(default=None, repr=False)
    """The centred bit of every block (the grid), summed over the frames added; None when
    the grids differ in shape."""
    frames: int = 1

    def __add__(self, other: Tallies) -> Tallies:
        centred = None
        if (
            self.centred is not None
            and other.centred is not None
            and self.centred.shape == other.centred.shape
        ):
            centred = self.centred + other.centred
        return self.combined(other, centred)

    def combined(self, other: Tallies, centred: np.ndarray | None) -> Tallies:
        """``self + other`` with ``centred`` as the summed grid (a caller that already has
        it: payloads share one, see :class:`~.dwtdct_clip.ClipCombiner`)."""
        if other.row_wrap != self.row_wrap or other.residues.size != self.residues.size:
            raise ArgumentError("Tallies: only tallies of the same alignment add up")
        return Tallies(
            self.row_wrap,
            self.residues + other.residues,
            self.ones + other.ones,
            self.votes + other.votes,
            self.independent + other.independent,
            centred,
            self.frames + other.frames,
        )


def score_grid(
    grid: np.ndarray,
    message: Message,
    row_wrap: int,
    shift: int,
    statistic: str,
    centred: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> Score:
    """The statistic of one alignment, by direct summation (the search's exact re-score).

    ``centred`` is :func:`centred_grid`'s result for ``grid`` when the caller scores several
    messages on one grid (it depends on the grid only).
    """
    length = message.length
    values, residual, independent = centred or centred_grid(grid, statistic)
    carried = carried_index(grid.shape, length, row_wrap, shift)
    tallies = Tallies(
        row_wrap,
        np.bincount(carried, weights=residual.reshape(-1), minlength=length),
        np.bincount(carried, weights=values.reshape(-1), minlength=length),
        np.bincount(carried, minlength=length).astype(np.float64),
        independent,
        residual,
    )
    return score_tallies(tallies, message, statistic)


def score_tallies(tallies: Tallies, message: Message, statistic: str) -> Score:
    """The statistic of the blocks ``tallies`` sums up (one frame's, or a clip's)."""
    length = message.length
    sums, ones, votes = tallies.residues, tallies.ones, tallies.votes
    signs = 2.0 * message.bits.astype(np.float64) - 1.0
    agreement = float(np.dot(sums, signs))
    independent = tallies.independent
    variance = independent
    if message.template_hat is not None and message.template_energy is not None:
        template = np.fft.irfft(message.template_hat[tallies.row_wrap], n=length)
        spread = float(np.sum((sums - sums.mean()) ** 2))
        dispersion = dispersion_variance(
            np.asarray(spread),
            np.asarray(float(np.dot(sums, template))),
            np.asarray(message.template_energy[tallies.row_wrap]),
            length,
        )
        variance = max(variance, float(dispersion))
    z = agreement / math.sqrt(variance) if variance > 0 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        voted = ((ones / votes) * 255 > 127).astype(np.uint8)
    matched = int(np.count_nonzero(voted == message.bits))
    inflation = variance / independent if independent > 0 else 1.0
    blocks = float(votes.sum())
    fraction = float(ones.sum()) / blocks if blocks else 0.0
    if statistic == "iid":
        z_iid = z
    else:  # decode()'s definition: one p̂, independent blocks
        spread = blocks * fraction * (1.0 - fraction)
        excess = float(np.dot(ones - fraction * votes, signs))
        z_iid = excess / math.sqrt(spread) if spread > 0 else 0.0
    return Score(z, matched, fraction, inflation, z_iid, tallies)


def centred_grid(grid: np.ndarray, statistic: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(bits as floats, centred bits, independent-blocks variance) of one grid."""
    values = grid.astype(np.float64)
    residual, independent = centre_grid(values, statistic)
    return values, residual, independent


def normal_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def chosen_inputs(
    payloads: Payload | Iterable[Payload],
    hypotheses: Iterable[Hypothesis],
    statistic: str,
    caller: str,
) -> tuple[tuple[Payload, ...], tuple[Hypothesis, ...]]:
    """The payloads and hypotheses as tuples, and the statistic checked."""
    if statistic not in STATISTICS:
        raise ArgumentError(f"{caller}: statistic must be one of {STATISTICS}, got {statistic!r}")
    try:
        return as_payloads(payloads), as_hypotheses(hypotheses)
    except (TypeError, ValueError) as error:  # their messages name decode()
        raise type(error)(str(error).replace("decode:", f"{caller}:", 1)) from None


def validated_inputs(
    image_bgr: Any,
    payloads: Payload | Iterable[Payload],
    hypotheses: Iterable[Hypothesis],
    statistic: str,
    caller: str,
) -> tuple[np.ndarray, tuple[Payload, ...], tuple[Hypothesis, ...]]:
    chosen_payloads, chosen_hypotheses = chosen_inputs(payloads, hypotheses, statistic, caller)
    image = check_image(image_bgr, caller)
    if image.dtype != np.uint8 and any(h.domain == "uint8" for h in chosen_hypotheses):
        raise ArgumentError(
            f"{caller}: a {image.dtype} image_bgr cannot be read under the uint8 hypotheses; "
            "pass the uint8 frame, or only float32 hypotheses"
        )
    return image, chosen_payloads, chosen_hypotheses


def too_small_results(
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
