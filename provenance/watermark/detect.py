"""Route a file's frames to the active watermark detectors and collect their evidence.

One pass over the sampled frames feeds every active detector (:mod:`.detector` is the
interface; :data:`DETECTOR_CLASSES` names the implementations). Each gives one
:class:`~provenance.report.WatermarkEvidence` per mark (the keyed mark: one per key) whose
state is ``detected``, ``not_detected`` (the frames could carry the mark and it is not there)
or ``inconclusive`` (no frame could carry it: too small, too flat, or too compressed), with the
statistic, its threshold and the false-positive rate that threshold is set for.

The check (:func:`detect_watermarks`) and the evaluation harness (``datasets/evaluate.py``,
through :func:`sample_for` and :class:`DetectorRun`) use this same routing, so the published
figures describe the shipped detectors.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from provenance.errors import MediaError
from provenance.media.frame import SampledFrame
from provenance.media.frames import FrameSampler
from provenance.media.prefetch import prefetched
from provenance.report import Detector, WatermarkEvidence
from provenance.watermark.detector import DetectionContext, FrameNeeds, WatermarkDetector
from provenance.watermark.dwtdct_detector import DwtdctDetector
from provenance.watermark.keyed_detector import KeyedDetector
from provenance.watermark.options import WatermarkOptions

__all__ = [
    "DETECTOR_CLASSES",
    "DetectorRun",
    "FrameRun",
    "detect_frames",
    "detect_watermarks",
    "sample_for",
]

#: The implementation of every detector name.
DETECTOR_CLASSES: dict[Detector, type[WatermarkDetector]] = {
    Detector.DWTDCT: DwtdctDetector,
    Detector.KEYED: KeyedDetector,
}

#: Codecs whose decoders export quantisers (see provenance.media.frame.frame_mean_qp).
_QP_CODECS = frozenset({"h264", "mpeg1video", "mpeg2video", "mpeg4", "h263", "msmpeg4v3"})
_LOSSLESS_CODECS = frozenset({"ffv1", "png", "qtrle", "rawvideo", "utvideo", "huffyuv", "ffvhuff"})


def frame_needs(options: WatermarkOptions) -> FrameNeeds:
    """What the active detectors need of each frame, together."""
    needs = FrameNeeds()
    for name in options.active:
        needs = needs.union(DETECTOR_CLASSES[name].frame_needs(options))
    return needs


def sample_for(path: str | Path, options: WatermarkOptions) -> FrameSampler:
    """A sampler of ``path`` that reads ``options.sampling``'s frames with what the active
    detectors need."""
    needs = frame_needs(options)
    return FrameSampler(
        path,
        options.sampling,
        colour=needs.colour,
        chroma=needs.chroma,
        quantisers=needs.quantisers,
    )


class DetectorRun:
    """The active detectors for one file, fed the same frames."""

    def __init__(self, options: WatermarkOptions, context: DetectionContext) -> None:
        active = options.active
        self.detectors: list[WatermarkDetector] = [
            detector
            for name, kind in DETECTOR_CLASSES.items()  # the registry's order, whatever was asked
            if name in active
            for detector in kind.create(options, context)
        ]

    def add(self, frame: SampledFrame) -> list[float | None]:
        """Hand ``frame`` to every detector; returns each one's statistic for it (None where
        the frame could not be scored), in :attr:`detectors` order."""
        return [detector.add(frame) for detector in self.detectors]

    def evidence(self) -> tuple[WatermarkEvidence, ...]:
        """Every detector's evidence, in :attr:`detectors` order."""
        return tuple(detector.evidence() for detector in self.detectors)


@dataclass(frozen=True)
class FrameRun:
    """What one pass over the frames gave: the evidence and how the stream ended."""

    evidence: tuple[WatermarkEvidence, ...]
    frames: int
    error: str | None = None
    truncated: bool = False


def detect_frames(
    frames: Iterable[SampledFrame],
    options: WatermarkOptions,
    *,
    kind: Literal["video", "image"],
    duration_seconds: float | None = None,
    lossy_without_qp: bool = False,
    previews: bool = False,
) -> tuple[WatermarkEvidence, ...]:
    """Run the active detectors over already-sampled frames (see :func:`frame_needs` for what
    they need of each frame).

    With ``previews``, each evidence's strongest frame carries a small JPEG of itself.
    """
    context = DetectionContext(kind, duration_seconds, lossy_without_qp, previews)
    run = DetectorRun(options, context)
    for frame in frames:
        run.add(frame)
    return run.evidence()


def detect_watermarks(
    path: str | Path,
    options: WatermarkOptions | None = None,
    *,
    video_codec: str | None = None,
    duration_seconds: float | None = None,
    previews: bool = False,
) -> FrameRun:
    """Sample ``path``'s frames once and run the active detectors.

    With ``previews``, each evidence's strongest frame carries a small JPEG of itself.

    Raises
    ------
    MediaError
        The file cannot be opened or holds no frames; a stream that breaks mid-way does not
        raise: the evidence covers the frames read and ``error`` / ``truncated`` say why it
        stopped.
    """
    opts = options or WatermarkOptions()
    if not opts.active:
        return FrameRun((), 0)
    sampler = sample_for(path, opts)
    lossy_without_qp = video_codec is not None and video_codec not in (
        _QP_CODECS | _LOSSLESS_CODECS
    )
    iterator = prefetched(sampler)  # decoding overlaps the detectors' work on earlier frames
    first = next(iterator, None)  # the kind (video or image) is known once a frame is out
    if first is None:
        why = sampler.error or "no frame could be decoded"
        raise MediaError(f"{Path(path).name}: {why}.")
    evidence = detect_frames(
        itertools.chain([first], iterator),
        opts,
        kind="image" if sampler.kind == "image" else "video",
        duration_seconds=duration_seconds,
        lossy_without_qp=lossy_without_qp,
        previews=previews,
    )
    return FrameRun(evidence, sampler.frames_yielded, sampler.error, sampler.truncated)
