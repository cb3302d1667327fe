"""A clip's keyed-mark evidence: frames' correlation surfaces combined, a timeline of
segments, and the identifier the mark carries, read once the mark is found.

Frames arrive one by one (:class:`KeyedAccumulator`) and memory stays bounded whatever the
clip's length. See :mod:`provenance.watermark.keyed` for one frame's score and
:mod:`provenance.watermark.identifier` for the identifier layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from provenance.errors import ArgumentError
from provenance.watermark import identifier as ids
from provenance.watermark.keyed import (
    DEFAULT_SCALES,
    FrameScore,
    highest,
    hypotheses_per_frame,
    peak_products,
)
from provenance.watermark.policy import TIMELINE_SEGMENTS

__all__ = [
    "ClipScore",
    "KeyedAccumulator",
    "KeyedResult",
    "ReadIdentifier",
    "Segment",
    "combine_frames",
    "timeline",
]

#: A frame whose own peak reaches this z is taken to have found the mark's shift, and its
#: identifier coefficients are added at that shift (a mark that travels with the content).
CONFIDENT_FRAME_Z = 5.0


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


@dataclass(frozen=True)
class ReadIdentifier:
    """An identifier read from the frames, and how (see :class:`KeyedAccumulator`)."""

    identifier: int
    from_sum: bool
    """True when read at the summed surfaces' peak, False when each confident frame's
    coefficients were added at its own peak."""


@dataclass
class _Sums:
    """Running sums over some frames: the surfaces per scale, and the identifier coefficients
    of the frames that found the mark on their own."""

    surfaces: list[np.ndarray]
    frames: int
    best_frame_z: float
    products: np.ndarray | None = None
    confident: int = 0

    def add(self, surfaces: list[np.ndarray], peak: float, products: np.ndarray | None) -> None:
        for total, surface in zip(self.surfaces, surfaces, strict=True):
            total += surface
        self.frames += 1
        self.best_frame_z = max(self.best_frame_z, peak)
        self._add_products(products, 1)

    def _add_products(self, products: np.ndarray | None, count: int) -> None:
        if products is None:
            return
        if self.products is None:
            self.products = products.astype(np.complex128)
        else:
            self.products += products
        self.confident += count

    def merge(self, other: _Sums) -> None:
        for total, surface in zip(self.surfaces, other.surfaces, strict=True):
            total += surface
        self.frames += other.frames
        self.best_frame_z = max(self.best_frame_z, other.best_frame_z)
        self._add_products(other.products, other.confident)

    def summed_peak(self) -> tuple[float, int, tuple[int, int], list[np.ndarray]]:
        """(z, scale index, shift, renormalised surfaces) of the summed surfaces' peak."""
        normalised = [_renormalised(total) for total in self.surfaces]
        z, index, shift = highest(normalised)
        return (z if math.isfinite(z) else 0.0), index, shift, normalised

    def _readings(self, place: ids.IdentifierLayout) -> list[tuple[np.ndarray, bool]]:
        """The identifier coefficients to read: at the summed peak, and the confident
        frames' own peaks added up (each with ``from_sum``)."""
        readings = []
        _, index, shift, normalised = self.summed_peak()
        surface = normalised[index]
        if np.all(np.isfinite(surface)):
            products = peak_products(np.fft.rfft2(surface), surface, shift, place)
            if products is not None:
                readings.append((products, True))
        if self.products is not None:
            readings.append((self.products, False))
        return readings

    def identifier(self, key: str | bytes, place: ids.IdentifierLayout) -> ReadIdentifier | None:
        """The identifier at the summed peak, else from the confident frames' own peaks."""
        for products, from_sum in self._readings(place):
            found = ids.decode_products(products, key)
            if found is not None:
                return ReadIdentifier(found, from_sum)
        return None

    def match(
        self, key: str | bytes, place: ids.IdentifierLayout, known: Sequence[int]
    ) -> tuple[ReadIdentifier, float] | None:
        """The known identifier these frames carry (see
        :func:`~provenance.watermark.identifier.match_products`) and its correlation."""
        best: tuple[ReadIdentifier, float] | None = None
        for products, from_sum in self._readings(place):
            found = ids.match_products(products, key, known)
            if found is not None and (best is None or found[1] > best[1]):
                best = (ReadIdentifier(known[found[0]], from_sum), found[1])
        return best


class KeyedAccumulator:
    """Combine a clip's frame surfaces as they stream by, in bounded memory.

    Keeps one running sum per scale for the whole clip and one per time window for the
    timeline, plus each window's best single-frame peak. When the windows would exceed
    ``max_segments``, neighbouring windows are merged and the window length doubles, so memory
    stays bounded whatever the clip's length.

    Given the ``key``, it also keeps what the identifier is read from: the summed surfaces
    (a mark that stays put) and, for every frame whose own peak reaches
    :data:`CONFIDENT_FRAME_Z`, the identifier's coefficients at that frame's peak (a mark that
    travels with the content, as predicted frames carry it).
    """

    def __init__(
        self,
        scales: Sequence[float] = DEFAULT_SCALES,
        *,
        seconds: float = 1.0,
        max_segments: int = TIMELINE_SEGMENTS,
        key: str | bytes | None = None,
    ) -> None:
        if seconds <= 0:
            raise ArgumentError(f"seconds must be positive, got {seconds}")
        if max_segments < 1:
            raise ArgumentError(f"max_segments must be >= 1, got {max_segments}")
        self.scales = tuple(scales)
        self.seconds = float(seconds)
        self.max_segments = max_segments
        self.key = key
        self._layout = ids.layout(key) if key is not None else None
        self.frames = 0
        self._total: _Sums | None = None
        self._best: tuple[float, int, int, tuple[int, int]] = (-math.inf, 0, 0, (0, 0))
        self._windows: dict[int, _Sums] = {}

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
        peak, index, shift = highest(frame.surfaces)
        products = None
        if self._layout is not None and peak >= CONFIDENT_FRAME_Z:
            products = peak_products(
                frame.spectrum(index), frame.surfaces[index], shift, self._layout
            )
        if self._total is None:
            self._total = _Sums([np.zeros_like(s) for s in surfaces], 0, -math.inf)
        self._total.add(surfaces, peak, products)
        if peak > self._best[0]:
            self._best = (peak, self.frames, index, shift)
        self.frames += 1
        if time_seconds is not None:
            self._add_to_window(surfaces, peak, products, time_seconds)
        return peak

    def _add_to_window(
        self,
        surfaces: list[np.ndarray],
        peak: float,
        products: np.ndarray | None,
        time_seconds: float,
    ) -> None:
        key = int(max(time_seconds, 0.0) // self.seconds)
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Sums([np.zeros_like(s) for s in surfaces], 0, -math.inf)
        window.add(surfaces, peak, products)
        while len(self._windows) > self.max_segments:
            self._merge_windows()

    def _merge_windows(self) -> None:
        merged: dict[int, _Sums] = {}
        for key, window in sorted(self._windows.items()):
            target = merged.get(key // 2)
            if target is None:
                merged[key // 2] = window
            else:
                target.merge(window)
        self._windows = merged
        self.seconds *= 2

    def _clip(self) -> _Sums:
        if self._total is None:
            raise ArgumentError("no frame was added")
        return self._total

    def summed_peak(self) -> tuple[float, float, tuple[int, int]]:
        """(z, scale, (dy, dx)) of the peak of the renormalised clip sum."""
        z, index, shift, _ = self._clip().summed_peak()
        return z, self.scales[index], shift

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
            summed = window.summed_peak()[0]
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

    def identifier(self) -> ReadIdentifier | None:
        """The identifier the clip's frames carry (call only once the mark was found)."""
        if self.key is None or self._layout is None:
            raise ArgumentError("the accumulator was made without a key")
        return self._clip().identifier(self.key, self._layout)

    def match(self, known: Sequence[int]) -> tuple[ReadIdentifier, float] | None:
        """The known identifier the clip's frames carry, and its correlation (None: none
        reaches the threshold for ``len(known)`` candidates)."""
        if self.key is None or self._layout is None:
            raise ArgumentError("the accumulator was made without a key")
        return self._clip().match(self.key, self._layout, known)

    def _window(self, index: int) -> tuple[str | bytes, ids.IdentifierLayout, _Sums]:
        if self.key is None or self._layout is None:
            raise ArgumentError("the accumulator was made without a key")
        return self.key, self._layout, [w for _, w in sorted(self._windows.items())][index]

    def segment_identifier(self, index: int) -> ReadIdentifier | None:
        """The identifier of segment ``index`` of :meth:`segments` (call only for a segment
        whose mark was found)."""
        key, place, window = self._window(index)
        return window.identifier(key, place)

    def segment_match(
        self, index: int, known: Sequence[int]
    ) -> tuple[ReadIdentifier, float] | None:
        """The known identifier segment ``index`` carries, as :meth:`match` finds the clip's
        (each segment's reads are among the :data:`~provenance.watermark.identifier.MAX_DECODES`
        the match threshold allows for)."""
        key, place, window = self._window(index)
        return window.match(key, place, known)


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
