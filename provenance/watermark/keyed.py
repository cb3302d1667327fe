"""A keyed spread-spectrum watermark on luma, for platforms that mark their own AI outputs.

Embedding adds a key-derived, band-limited 128 x 128 noise tile, repeated over the frame,
shaped by local activity and scaled to a target PSNR (42.5 dB by default), to the luma (Y)
plane. Detection whitens the frame, folds it into one
tile-sized buffer (so any crop or translation only shifts the tile cyclically), and correlates
with the key tile by a matched filter on the whitened frame spectrum over every cyclic shift. Downscaling is found
by a search over scales. The statistic is the peak of the normalised correlation surface; under
the null (no mark, or another key) each shift is about N(0, 1), so the p-value of the peak is
bounded by the number of shifts and scales tested times the normal tail (Bonferroni). Clips are
judged on the sum of their frames' surfaces, renormalised over shifts, so consistent per-frame
evidence adds up while the number of tests stays that of one frame.

The design follows the classic JAWS scheme (Kalker et al., 1999) as measured in
``shared/research/watermark.md`` section 3.3.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from provenance.errors import ArgumentError
from provenance.watermark.policy import TIMELINE_SEGMENTS

__all__ = [
    "DEFAULT_PSNR",
    "DEFAULT_SCALES",
    "PSNR_RANGE",
    "TILE",
    "ClipScore",
    "FrameScore",
    "KeyedAccumulator",
    "KeyedResult",
    "Segment",
    "combine_frames",
    "embed_luma",
    "hypotheses_per_frame",
    "key_tile",
    "mark_file",
    "null_tail_p_value",
    "score_frame",
    "timeline",
]

#: Side of the square key tile, in pixels.
TILE = 128
#: Target PSNR of a marked frame against the original, in dB.
DEFAULT_PSNR = 42.5
#: Accepted range of target PSNRs, in dB.
PSNR_RANGE = (30.0, 60.0)
#: Resize factors searched at detection: native, 0.75x, 1080p->720p and 0.5x downscales.
DEFAULT_SCALES: tuple[float, ...] = (1.0, 0.75, 2.0 / 3.0, 0.5)

# Cycles per pixel kept in the key tile. Measured on the corpus at 42.5 dB: 0.03-0.18 keeps
# everything 0.02-0.25 detected under CRF 35 and 0.5x and doubles what survives crop + 0.5x +
# CRF 35 (the low end is what a 0.5x, CRF 35 picture still carries).
_BAND = (0.03, 0.18)
_MAX_GAIN = 8.0  # at most this many luma units per unit of shaped pattern (near-flat frames)
_WHITEN = 5  # box size of the local mean removed before folding


def _key_seed(key: str | bytes) -> int:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if not raw:
        raise ArgumentError("key must not be empty")
    return int.from_bytes(hashlib.sha256(b"provenance-keyed-v1\x00" + raw).digest()[:16], "big")


@functools.lru_cache(maxsize=32)
def _tile_cached(seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((TILE, TILE))
    spectrum = np.fft.fft2(noise)
    fy = np.fft.fftfreq(TILE)[:, None]
    fx = np.fft.fftfreq(TILE)[None, :]
    radius = np.hypot(fy, fx)
    spectrum[(radius < _BAND[0]) | (radius > _BAND[1])] = 0
    tile: np.ndarray = np.fft.ifft2(spectrum).real
    if size != TILE:
        import cv2

        tile = np.asarray(cv2.resize(tile, (size, size), interpolation=cv2.INTER_AREA))
    result: np.ndarray = ((tile - tile.mean()) / tile.std()).astype(np.float32)
    result.setflags(write=False)  # cached and shared: nobody may change it
    return result


@functools.lru_cache(maxsize=32)
def _key_spectrum(seed: int, size: int) -> np.ndarray:
    """FFT of the key tile at one period: computed once, not for every frame."""
    spectrum: np.ndarray = np.fft.fft2(_tile_cached(seed, size))
    spectrum.setflags(write=False)
    return spectrum


def key_tile(key: str | bytes, *, size: int = TILE) -> np.ndarray:
    """The key's zero-mean, unit-variance band-limited tile, resampled to ``size`` x ``size``."""
    if size < 16:
        raise ArgumentError(f"size must be at least 16 pixels, got {size}")
    return _tile_cached(_key_seed(key), size)


def _activity(luma: np.ndarray) -> np.ndarray:
    """Local contrast in [0.3, 2], mean about 1: the mark hides where the picture is busy."""
    import cv2

    y = luma.astype(np.float32)
    mean = cv2.blur(y, (7, 7))
    deviation = np.sqrt(np.maximum(cv2.blur(y * y, (7, 7)) - mean * mean, 0.0))
    reference = float(np.median(deviation)) + 1.0
    mask: np.ndarray = np.clip(deviation / reference, 0.3, 2.0)
    return mask


def _check_psnr(psnr: float) -> None:
    low, high = PSNR_RANGE
    if not low <= psnr <= high:
        raise ArgumentError(f"psnr must be between {low:g} and {high:g} dB, got {psnr}")


def embed_luma(luma: np.ndarray, key: str | bytes, *, psnr: float = DEFAULT_PSNR) -> np.ndarray:
    """Return a marked copy of an 8-bit luma plane (H, W); the input is not modified.

    The pattern is shaped by local activity (stronger where the picture is busy) and then
    scaled so that the marked plane sits at ``psnr`` dB against the input (within about
    0.1 dB; a frame so flat or so clipped that the gain cap is reached ends up above it).
    A fixed PSNR rather than a fixed amplitude gives flat pictures (cartoons, gradients) as
    much mark as textured ones: at a fixed amplitude they were marked at 48-53 dB and lost
    it under CRF 35.

    Parameters
    ----------
    luma
        The Y plane, uint8, shape (H, W).
    key
        The secret that derives the pattern; detection needs the same key.
    psnr
        Target PSNR in dB (30-60); lower is more robust and more visible.
    """
    if luma.ndim != 2 or luma.dtype != np.uint8:
        raise ArgumentError(
            f"luma must be a 2-D uint8 array, got {luma.dtype} with shape {luma.shape}"
        )
    _check_psnr(psnr)
    height, width = luma.shape
    tile = key_tile(key)
    reps = (-(-height // TILE), -(-width // TILE))
    shaped = _activity(luma) * np.tile(tile, reps)[:height, :width]
    original = luma.astype(np.float32)
    target = 255.0**2 / 10.0 ** (psnr / 10.0)  # the mean squared error allowed
    power = float(np.mean(shaped * shaped))
    gain = min(math.sqrt(target / power), _MAX_GAIN) if power > 0 else 0.0
    marked = original
    for _ in range(4):  # rounding and clipping move the error a little: correct for them
        marked = np.clip(np.rint(original + gain * shaped), 0, 255)
        error = float(np.mean((marked - original) ** 2))
        if error <= 0 or abs(error / target - 1.0) < 0.02 or gain >= _MAX_GAIN:
            break
        gain = min(gain * math.sqrt(target / error), _MAX_GAIN)
    result: np.ndarray = marked.astype(np.uint8)
    return result


@dataclass(frozen=True)
class FrameScore:
    """One frame's normalised correlation surfaces, one per scale searched."""

    surfaces: tuple[np.ndarray, ...]
    scales: tuple[float, ...]

    @property
    def peak(self) -> tuple[float, float, tuple[int, int]]:
        """(z, scale, (dy, dx)) of the highest peak over all scales and shifts."""
        value, index, shift = _highest(self.surfaces)
        return value, self.scales[index], shift


def _highest(surfaces: Sequence[np.ndarray]) -> tuple[float, int, tuple[int, int]]:
    """(value, surface index, (dy, dx)) of the largest value over all surfaces."""
    best = (-math.inf, 0, (0, 0))
    for index, surface in enumerate(surfaces):
        flat = int(np.argmax(surface))
        value = float(surface.flat[flat])
        if value > best[0]:
            best = (value, index, divmod(flat, surface.shape[1]))
    return best


def hypotheses_per_frame(scales: Sequence[float] = DEFAULT_SCALES) -> int:
    """How many (shift, scale) hypotheses one frame's peak is the maximum of."""
    return sum(round(TILE * s) ** 2 for s in scales)


def _fold(whitened: np.ndarray, period: int) -> np.ndarray | None:
    """Sum every pixel into a ``period`` x ``period`` buffer by its position modulo the period.

    The partial tiles at the right and bottom edges count too (zero-padded): at 854 x 480 they
    are over a quarter of the picture, and using them raised clip z by 10-15 %.
    """
    height, width = whitened.shape
    if height < period or width < period:
        return None
    rows, cols = -(-height // period), -(-width // period)
    if rows * period != height or cols * period != width:
        padded = np.zeros((rows * period, cols * period), whitened.dtype)
        padded[:height, :width] = whitened
        whitened = padded
    folded: np.ndarray = whitened.reshape(rows, period, cols, period).sum(axis=(0, 2))
    return folded


def score_frame(
    luma: np.ndarray, key: str | bytes, *, scales: Sequence[float] = DEFAULT_SCALES
) -> FrameScore:
    """Correlate one luma plane with the key at every cyclic shift, for each scale.

    Each surface is normalised to zero mean and unit standard deviation over its shifts, so a
    value is a z-score under the null hypothesis.
    """
    import cv2

    if luma.ndim != 2:
        raise ArgumentError(f"luma must be 2-D (H, W), got shape {luma.shape}")
    frame = luma.astype(np.float32)
    surfaces = []
    for scale in scales:
        if not 0.2 <= scale <= 1.0:
            raise ArgumentError(f"scales must lie in [0.2, 1], got {scale}")
        period = round(TILE * scale)
        factor = period / (TILE * scale)
        image: np.ndarray = frame
        if abs(factor - 1.0) > 1e-6:
            size = (max(1, round(frame.shape[1] * factor)), max(1, round(frame.shape[0] * factor)))
            image = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR))
        whitened = image - cv2.blur(image, (_WHITEN, _WHITEN))
        folded = _fold(whitened, period)
        if folded is None:
            surfaces.append(np.zeros((period, period), np.float32))
            continue
        # whiten the frame's spectrum, keep the key's: out-of-band noise gets no weight
        frame_spectrum = np.fft.fft2(folded)
        key_spectrum = _key_spectrum(_key_seed(key), period)
        spectrum = frame_spectrum / np.maximum(np.abs(frame_spectrum), 1e-9) * np.conj(key_spectrum)
        surface = np.fft.ifft2(spectrum).real
        spread = float(surface.std())
        normalised = (surface - surface.mean()) / spread if spread > 0 else surface * 0
        surfaces.append(normalised.astype(np.float32))
    return FrameScore(tuple(surfaces), tuple(scales))


@dataclass(frozen=True)
class ClipScore:
    """Frames combined: the peak of the summed surfaces, and each frame's value at that peak."""

    z: float
    scale: float
    shift: tuple[int, int]
    frame_z: tuple[float, ...]
    tests: int


def _renormalised(total: np.ndarray) -> np.ndarray:
    """A summed surface rescaled to zero mean and unit spread over its shifts (-inf if flat)."""
    spread = float(total.std())
    if spread > 0:
        result: np.ndarray = (total - total.mean()) / spread
        return result
    return np.full_like(total, -np.inf)


@dataclass(frozen=True)
class KeyedResult:
    """A clip's keyed-mark evidence: the better of the summed surfaces and the best frame.

    Summing the frames' surfaces at each shift adds up a weak mark that stays put (a static or
    slowly changing scene). But after inter-frame compression a mark tends to travel with the
    content: predicted frames copy the key frame's texture, mark included, along the motion
    vectors, so each frame peaks at a different shift and the sum does not add up. Each
    frame's own peak still shows it. The clip statistic is the larger of the two, tested
    against ``tests`` hypotheses: one frame's shifts x scales for the sum and again for every
    frame's own peak (Bonferroni, valid however the frames depend on each other).
    """

    z: float
    scale: float
    shift: tuple[int, int]
    summed_z: float
    best_frame_z: float
    best_frame: int
    frames: int
    tests: int

    @property
    def from_sum(self) -> bool:
        """True when the summed surfaces gave the statistic (else the best single frame)."""
        return self.summed_z >= self.best_frame_z


@dataclass
class _Window:
    sums: list[np.ndarray]
    frames: int
    best_frame_z: float


class KeyedAccumulator:
    """Combine a clip's frame surfaces as they stream by, in bounded memory.

    Keeps one running sum per scale for the whole clip and one per time window for the
    timeline, plus each window's best single-frame peak. When the windows would exceed
    ``max_segments``, neighbouring windows are merged and the window length doubles, so memory
    stays bounded whatever the clip's length.
    """

    def __init__(
        self,
        scales: Sequence[float] = DEFAULT_SCALES,
        *,
        seconds: float = 1.0,
        max_segments: int = TIMELINE_SEGMENTS,
    ) -> None:
        if seconds <= 0:
            raise ArgumentError(f"seconds must be positive, got {seconds}")
        if max_segments < 1:
            raise ArgumentError(f"max_segments must be >= 1, got {max_segments}")
        self.scales = tuple(scales)
        self.seconds = float(seconds)
        self.max_segments = max_segments
        self.frames = 0
        self._total: list[np.ndarray] | None = None
        self._best: tuple[float, int, int, tuple[int, int]] = (-math.inf, 0, 0, (0, 0))
        self._windows: dict[int, _Window] = {}

    @property
    def tests_per_frame(self) -> int:
        """Shifts x scales searched in one surface set."""
        return hypotheses_per_frame(self.scales)

    def add(self, frame: FrameScore, time_seconds: float | None = None) -> float:
        """Add one frame's surfaces; ``time_seconds`` places it on the timeline (None: not).

        Returns the frame's own peak z (its best shift and scale).
        """
        if frame.scales != self.scales:
            raise ArgumentError(f"frame scales {frame.scales} differ from {self.scales}")
        surfaces = [surface.astype(np.float64) for surface in frame.surfaces]
        if self._total is None:
            self._total = [surface.copy() for surface in surfaces]
        else:
            for total, surface in zip(self._total, surfaces, strict=True):
                total += surface
        peak, index, shift = _highest(frame.surfaces)
        if peak > self._best[0]:
            self._best = (peak, self.frames, index, shift)
        self.frames += 1
        if time_seconds is not None:
            self._add_to_window(surfaces, peak, time_seconds)
        return peak

    def _add_to_window(self, surfaces: list[np.ndarray], peak: float, time_seconds: float) -> None:
        key = int(max(time_seconds, 0.0) // self.seconds)
        window = self._windows.get(key)
        if window is None:
            self._windows[key] = _Window(surfaces, 1, peak)
        else:
            for total, surface in zip(window.sums, surfaces, strict=True):
                total += surface
            window.frames += 1
            window.best_frame_z = max(window.best_frame_z, peak)
        while len(self._windows) > self.max_segments:
            self._merge_windows()

    def _merge_windows(self) -> None:
        merged: dict[int, _Window] = {}
        for key, window in sorted(self._windows.items()):
            target = merged.get(key // 2)
            if target is None:
                merged[key // 2] = window
                continue
            for total, surface in zip(target.sums, window.sums, strict=True):
                total += surface
            target.frames += window.frames
            target.best_frame_z = max(target.best_frame_z, window.best_frame_z)
        self._windows = merged
        self.seconds *= 2

    def summed_peak(self) -> tuple[float, float, tuple[int, int]]:
        """(z, scale, (dy, dx)) of the peak of the renormalised clip sum."""
        if self._total is None:
            raise ArgumentError("no frame was added")
        z, index, shift = _highest([_renormalised(total) for total in self._total])
        return (z if math.isfinite(z) else 0.0), self.scales[index], shift

    def result(self) -> KeyedResult:
        """The clip's statistic and where it was found."""
        summed, scale, shift = self.summed_peak()
        best, frame, index, best_shift = self._best
        best = best if math.isfinite(best) else 0.0
        if best > summed:
            scale, shift = self.scales[index], best_shift
        return KeyedResult(
            z=max(summed, best),
            scale=scale,
            shift=shift,
            summed_z=summed,
            best_frame_z=best,
            best_frame=frame,
            frames=self.frames,
            tests=self.tests_per_frame * (1 + self.frames),
        )

    def segments(self) -> tuple[Segment, ...]:
        """Each window's statistic, searched like the clip's (its own sum and its frames)."""
        result = []
        for key, window in sorted(self._windows.items()):
            summed = _highest([_renormalised(total) for total in window.sums])[0]
            value = max(summed, window.best_frame_z)
            start = key * self.seconds
            result.append(
                Segment(
                    start,
                    start + self.seconds,
                    value if math.isfinite(value) else 0.0,
                    window.frames,
                    self.tests_per_frame * (1 + window.frames),
                )
            )
        return tuple(result)


def combine_frames(frames: Iterable[FrameScore]) -> ClipScore:
    """Sum the frames' surfaces shift by shift, renormalise over shifts, take the peak.

    Consecutive frames of one clip are not independent (a static scene gives nearly the same
    surface every frame), so a Stouffer sum would inflate unmarked clips. Renormalising the
    summed surface by its own spread over the shifts keeps the null at about N(0, 1) per shift
    whatever the correlation between frames, while a mark that sits at the same shift in every
    frame adds up.
    """
    frames = list(frames)
    if not frames:
        raise ArgumentError("combine_frames needs at least one frame")
    accumulator = KeyedAccumulator(frames[0].scales)
    for frame in frames:
        accumulator.add(frame)
    z, scale, (dy, dx) = accumulator.summed_peak()
    scale_index = accumulator.scales.index(scale)
    frame_z = tuple(float(f.surfaces[scale_index][dy, dx]) for f in frames)
    return ClipScore(z, scale, (dy, dx), frame_z, hypotheses_per_frame(accumulator.scales))


def null_tail_p_value(z: float, tests: int) -> float:
    """Bonferroni bound on the chance that the best of ``tests`` null z-scores reaches ``z``."""
    return min(1.0, tests * 0.5 * math.erfc(z / math.sqrt(2.0)))


@dataclass(frozen=True)
class Segment:
    """A stretch of the clip with its own evidence at the clip's best shift and scale."""

    start_seconds: float
    end_seconds: float
    z: float
    frames: int
    tests: int
    """Hypotheses the window's ``z`` is the best of (for its threshold)."""


def timeline(
    frames: Sequence[FrameScore], times: Sequence[float], *, seconds: float = 1.0
) -> tuple[Segment, ...]:
    """Score consecutive windows of ``seconds``, each searched like a clip of its own.

    A spliced clip shows marked and unmarked stretches; compare each window's ``z`` with the
    threshold for its ``tests``.
    """
    if len(frames) != len(times):
        raise ArgumentError(f"frames and times differ in length: {len(frames)} != {len(times)}")
    if seconds <= 0:
        raise ArgumentError(f"seconds must be positive, got {seconds}")
    if not frames:
        return ()
    accumulator = KeyedAccumulator(frames[0].scales, seconds=seconds, max_segments=1 << 30)
    for frame, time in zip(frames, times, strict=True):
        accumulator.add(frame, time)
    return accumulator.segments()


def mark_file(
    source: Path,
    destination: Path,
    key: str | bytes,
    *,
    psnr: float = DEFAULT_PSNR,
    crf: int = 18,
) -> int:
    """Mark every frame of a clip with the key and write it (H.264, audio copied; range,
    colour tags, rotation and timestamps kept, see :func:`~provenance.media.transcode.rewrite_luma`).

    Returns the number of frames written. Raises :class:`~provenance.errors.MediaError` for a
    clip that cannot be decoded or written, and ``ValueError`` for bad parameters.
    """
    from provenance.media.transcode import rewrite_luma

    key_tile(key)  # validate the key before decoding anything
    _check_psnr(psnr)
    return rewrite_luma(
        source, destination, lambda luma, _index: embed_luma(luma, key, psnr=psnr), crf=crf
    )
