"""The per-frame dwtDct path a check runs: each payload x hypothesis at the frame's own
alignment, from BGR pixels (:func:`aligned`) or straight from a decoded frame's chroma planes
(:func:`aligned_chroma`), and resizing back to native generator sizes.

The statistic is the robust one of :mod:`.dwtdct_statistic`; the crop-robust search over every
alignment is :mod:`.dwtdct_search`, and the bit-exact reference decoder
:mod:`.dwtdct_reference`.

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

import math
from collections.abc import Iterable, Iterator
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from provenance.errors import ArgumentError
from provenance.watermark.dwtdct_scheme import (
    ALL_HYPOTHESES,
    DEFAULT_CARRIER_LIMITS,
    LL_BLOCK,
    CarrierLimits,
    DecodeStatus,
    Hypothesis,
    SpreadSum,
    band_bits,
    bits_from_ll,
    block_grid,
    check_image,
    opencv,
    spread_flatness_reason,
)
from provenance.watermark.dwtdct_statistic import (
    SearchResult,
    Statistic,
    centred_grid,
    chosen_inputs,
    message_spectra,
    score_grid,
    too_small_results,
    validated_inputs,
)
from provenance.watermark.payloads import PAYLOADS, Payload

__all__ = [
    "NATIVE_SIZES",
    "RESIZE_INTERPOLATION",
    "aligned",
    "aligned_chroma",
    "native_candidates",
    "resize_chroma",
    "resize_to",
]


def aligned(
    image_bgr: npt.NDArray[Any],
    payloads: Payload | Iterable[Payload] = PAYLOADS,
    *,
    hypotheses: Iterable[Hypothesis] = ALL_HYPOTHESES,
    limits: CarrierLimits = DEFAULT_CARRIER_LIMITS,
    statistic: Statistic = "robust",
) -> list[SearchResult]:
    """Score the frame's own alignment (no search) for each payload and hypothesis.

    What :func:`~provenance.watermark.dwtdct_reference.decode` reads (phase (0, 0), the frame's own
    blocks per row as the wrap, shift 0), with the ``statistic`` of :func:`search`: one test
    per result. Block bits are computed once per hypothesis and shared by the payloads; the
    inconclusive rules are decode()'s.
    """
    image, chosen_payloads, chosen_hypotheses = validated_inputs(
        image_bgr, payloads, hypotheses, statistic, "aligned"
    )
    rows, cols = image.shape[:2]
    if rows * cols < limits.min_area:
        results = too_small_results(
            image.shape, chosen_payloads, chosen_hypotheses, statistic, limits
        )
        return [results[p.name, h] for p in chosen_payloads for h in chosen_hypotheses]

    def bands() -> Iterator[tuple[Hypothesis, np.ndarray, str]]:
        for hypothesis in chosen_hypotheses:
            yield hypothesis, *band_bits(image, hypothesis, limits, "aligned")

    return _aligned_results(bands(), block_grid(image.shape), chosen_payloads, statistic)


def _aligned_results(
    bands: Iterable[tuple[Hypothesis, np.ndarray, str]],
    grid_shape: tuple[int, int],
    payloads: tuple[Payload, ...],
    statistic: Statistic,
) -> list[SearchResult]:
    """Score each hypothesis's band at its own alignment, from its block bits (whole blocks
    only, raster order) and why it is too flat to test ("" when it is not).

    ``bands`` is consumed one at a time, so a lazy one holds one band's work at a time.
    """
    block_rows, block_cols = grid_shape
    count = block_rows * block_cols
    output: dict[tuple[str, Hypothesis], SearchResult] = {}
    hypotheses: list[Hypothesis] = []
    for hypothesis, bits, flat_reason in bands:
        hypotheses.append(hypothesis)
        grid = bits.reshape(block_rows, block_cols)
        centred = centred_grid(grid, statistic) if count and not flat_reason else None
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
            message = message_spectra(payload, statistic)
            score = score_grid(grid, message, block_cols % length, 0, statistic, centred)
            output[payload.name, hypothesis] = SearchResult(
                status=DecodeStatus.DECODED,
                tests=1,
                phase=(0, 0),
                row_wrap=block_cols % length,
                shift=0,
                **score.result_fields(),
                **common,
            )
    return [output[p.name, h] for p in payloads for h in hypotheses]


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
        raise ArgumentError(
            f"aligned_chroma: chroma must be two equal 2-D planes, got {cb.shape} and {cr.shape}"
        )
    chosen_payloads, chosen_hypotheses = chosen_inputs(
        payloads, hypotheses, statistic, "aligned_chroma"
    )
    shape = (cb.shape[0] * 2, cb.shape[1] * 2)
    if shape[0] * shape[1] < limits.min_area:
        results = too_small_results(shape, chosen_payloads, chosen_hypotheses, statistic, limits)
        return [results[p.name, h] for p in chosen_payloads for h in chosen_hypotheses]
    block_rows, block_cols = block_grid(shape)
    rows, cols = block_rows * LL_BLOCK, block_cols * LL_BLOCK
    planes = (cb[:rows, :cols], cr[:rows, :cols])

    def bands() -> Iterator[tuple[Hypothesis, np.ndarray, str]]:
        for hypothesis in chosen_hypotheses:
            bits, spread = _chroma_band_bits(planes, hypothesis, full_range)
            yield hypothesis, bits, spread_flatness_reason(spread, bits, limits)

    return _aligned_results(bands(), (block_rows, block_cols), chosen_payloads, statistic)


#: Block rows of LL (chroma rows) made at a time by :func:`_chroma_band_bits`.
_SLAB_ROWS = 32 * LL_BLOCK


def _chroma_band_bits(
    planes: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]],
    hypothesis: Hypothesis,
    full_range: bool,
) -> tuple[np.ndarray, float]:
    """(block bits in raster order, standard deviation) of the hypothesis's LL band of U,
    made from the (Cb, Cr) planes (whole blocks only) a slab of block rows at a time.

    Blocks never straddle slabs, and each sample goes through the same float32 operations
    as a whole-plane pass would, so the bits are the same; only a slab's working arrays are
    held (a 4K frame's whole band, with its temporaries, took about 40 MiB).
    """
    cb, cr = planes
    offset = np.float32(2 * (128.0 if hypothesis.domain == "uint8" else 0.5))
    parts: list[np.ndarray] = []
    spread = SpreadSum()
    for start in range(0, cb.shape[0], _SLAB_ROWS):
        centred_b = cb[start : start + _SLAB_ROWS].astype(np.float32) - np.float32(128)
        if hypothesis.channel_order == "bgr":
            u = np.float32(2 * _CB_SCALE[full_range]) * centred_b
        else:
            from_cr, from_cb = _SWAPPED[full_range]
            centred_r = cr[start : start + _SLAB_ROWS].astype(np.float32) - np.float32(128)
            u = np.float32(2 * from_cr) * centred_r - np.float32(2 * from_cb) * centred_b
        u += offset
        parts.append(bits_from_ll(u))
        spread.add(u)
    bits = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)
    return bits, spread.std()


def resize_chroma(
    chroma: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]], size: tuple[int, int]
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The chroma planes of a frame resized to ``size`` = (width, height) (planes half that)."""
    width, height = _check_size(size[0], size[1], "resize_chroma")
    cv2 = opencv()
    target = (max(1, width // 2), max(1, height // 2))
    interpolation = getattr(cv2, RESIZE_INTERPOLATION)
    cb, cr = (
        np.asarray(cv2.resize(np.ascontiguousarray(p), target, interpolation=interpolation))
        for p in chroma
    )
    return cb, cr


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
            raise ArgumentError(f"{caller}: {name} must be a positive integer, got {value!r}")
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
        raise ArgumentError(f"native_candidates: tolerance must be >= 0, got {tolerance!r}")
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
    image = check_image(image_bgr, "resize_to")
    if not isinstance(size, tuple | list) or len(size) != 2:
        raise ArgumentError(f"resize_to: size must be (width, height), got {size!r}")
    width, height = _check_size(size[0], size[1], "resize_to")
    cv2 = opencv()
    resized = cv2.resize(
        np.ascontiguousarray(image),
        (width, height),
        interpolation=getattr(cv2, RESIZE_INTERPOLATION),
    )
    if resized.dtype == np.float32:
        np.clip(resized, 0.0, 255.0, out=resized)
    return np.asarray(resized)
