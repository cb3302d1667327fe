"""The one detector interface: a detector is fed a file's frames one by one and then asked for
its evidence.

Every watermark detector is a :class:`WatermarkDetector` named by a member of
:class:`~provenance.report.Detector`. The routing (:mod:`provenance.watermark.detect`) asks each
active detector class which frame data it needs (:class:`FrameNeeds`), samples the frames once,
creates the detectors for the file (:meth:`WatermarkDetector.create`: one per mark, e.g. one per
key), hands every frame to every detector (:meth:`WatermarkDetector.add`, which returns the
frame's own statistic) and collects :meth:`WatermarkDetector.evidence`. To add a detector:
subclass this, add its name to :class:`~provenance.report.Detector` and register the class in
:data:`provenance.watermark.detect.DETECTOR_CLASSES`.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from provenance.media.frame import SampledFrame
from provenance.report import Detector, WatermarkEvidence, WatermarkFrame
from provenance.watermark.options import WatermarkOptions

__all__ = [
    "FRAME_SCORES_LIMIT",
    "DetectionContext",
    "FrameNeeds",
    "FrameScores",
    "WatermarkDetector",
    "sentence",
]

#: Most per-frame scores kept in a report; beyond this, neighbours are pooled.
FRAME_SCORES_LIMIT = 600


@dataclass(frozen=True)
class FrameNeeds:
    """What a detector needs of each decoded frame (the sampler decodes the union)."""

    colour: bool | Literal["fallback"] = False
    """BGR pixels: always (True), only where the chroma planes cannot serve ("fallback": RGB
    video, images), or never."""
    chroma: bool = False
    """The (Cb, Cr) planes of YUV frames."""
    quantisers: bool = False
    """The decoder's mean quantiser per frame (exact quantisers need slice threading)."""

    def union(self, other: FrameNeeds) -> FrameNeeds:
        """Needs that serve both."""
        order = {False: 0, "fallback": 1, True: 2}
        colour = max(self.colour, other.colour, key=lambda value: order[value])
        return FrameNeeds(colour, self.chroma or other.chroma, self.quantisers or other.quantisers)


@dataclass(frozen=True)
class DetectionContext:
    """What the routing knows about the file when the detectors are made."""

    kind: Literal["video", "image"]
    duration_seconds: float | None = None
    lossy_without_qp: bool = False
    """A lossy video codec that does not report quantisers (H.265, VP9, AV1...)."""
    previews: bool = False
    """Keep the strongest frame's pixels for a preview picture in the evidence."""
    survival_model: bool = False
    """A mark-survival model weighs this detector's absence (it says how much a codec's
    compression leaves of the mark, so the detector need not)."""
    known_identifiers: tuple[int, ...] = ()
    """Identifiers a repository holds: the keyed detector matches the frames against them
    when it cannot decode one blind (see :func:`~provenance.watermark.identifier.match_products`)."""


class WatermarkDetector(abc.ABC):
    """A watermark detector for one mark in one file."""

    name: ClassVar[Detector]
    """Which detector this is (reports and options use the same name)."""

    @classmethod
    @abc.abstractmethod
    def frame_needs(cls, options: WatermarkOptions) -> FrameNeeds:
        """The frame data this detector needs under ``options``."""

    @classmethod
    @abc.abstractmethod
    def create(
        cls, options: WatermarkOptions, context: DetectionContext
    ) -> list[WatermarkDetector]:
        """The detectors of this kind for one file (one per mark it looks for)."""

    @abc.abstractmethod
    def add(self, frame: SampledFrame) -> float | None:
        """Score one frame; returns its statistic, or None when the frame cannot be scored."""

    @abc.abstractmethod
    def evidence(self) -> WatermarkEvidence:
        """The evidence of every frame added so far."""


class FrameScores:
    """Each frame's score in bounded memory, and the strongest frame.

    At :data:`FRAME_SCORES_LIMIT` entries, neighbouring entries are pooled pairwise (the
    stronger one stands for both) and later frames are pooled in groups of the same size, so
    every entry covers the same number of frames and no peak is lost. With ``keep_pixels`` the
    strongest frame itself is kept (one frame's arrays) for its preview.
    """

    def __init__(self, keep_pixels: bool) -> None:
        self.keep_pixels = keep_pixels
        self.entries: list[WatermarkFrame] = []
        self.group = 1
        self._pending: WatermarkFrame | None = None
        self._pending_count = 0
        self.strongest: WatermarkFrame | None = None
        self.strongest_pixels: SampledFrame | None = None
        self._strongest_z = -math.inf  # unrounded: the entries' statistics are rounded

    def add(self, frame: SampledFrame, z: float) -> None:
        """Record ``frame``'s score ``z``."""
        entry = WatermarkFrame(frame.index, frame.time_seconds, round(z, 3), frame.picture_type)
        if z > self._strongest_z:
            self._strongest_z = z
            self.strongest = entry
            self.strongest_pixels = frame if self.keep_pixels else None
        if self._pending is None or entry.statistic > self._pending.statistic:
            self._pending = entry
        self._pending_count += 1
        if self._pending_count < self.group:
            return
        self.entries.append(self._pending)
        self._pending, self._pending_count = None, 0
        if len(self.entries) >= FRAME_SCORES_LIMIT:  # an even count: pairs cover equal spans
            self.entries = [
                max(self.entries[i : i + 2], key=lambda e: e.statistic)
                for i in range(0, len(self.entries), 2)
            ]
            self.group *= 2

    def scores(self) -> tuple[WatermarkFrame, ...]:
        """The entries, oldest first (the last one may stand for fewer frames)."""
        tail = [self._pending] if self._pending is not None else []
        return tuple(self.entries + tail)

    def strongest_frame(self) -> WatermarkFrame | None:
        """The strongest frame, with its preview picture when its pixels were kept."""
        if self.strongest is None or self.strongest_pixels is None:
            return self.strongest
        from provenance.media.preview import frame_preview

        return dataclasses.replace(self.strongest, preview=frame_preview(self.strongest_pixels))


def sentence(parts: Sequence[str]) -> str:
    """Reasons joined into one sentence: first letter capitalised, a full stop at the end."""
    text = "; ".join(dict.fromkeys(parts))
    return text[:1].upper() + text[1:] + "."
