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

import dataclasses
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from provenance.errors import MediaError
from provenance.media.frame import SampledFrame
from provenance.media.frames import FrameSampler
from provenance.media.prefetch import prefetched
from provenance.media.preview import PictureStrip
from provenance.report import Detector, FramePicture, MediaInfo, MediaKind, WatermarkEvidence
from provenance.watermark.absence import weigh_absence
from provenance.watermark.detector import DetectionContext, FrameNeeds, WatermarkDetector
from provenance.watermark.dwtdct_detector import DwtdctDetector
from provenance.watermark.keyed_detector import KeyedDetector
from provenance.watermark.options import WatermarkOptions
from provenance.watermark.survival import (
    LOSSLESS_VIDEO_CODECS,
    SURVIVAL_FRAME_NEEDS,
    FileFacts,
    SurvivalFeatures,
)
from provenance.watermark.survival_model import SurvivalModel, shipped_model, survival_probability

__all__ = [
    "DETECTOR_CLASSES",
    "DetectorRun",
    "FrameRun",
    "detect_frames",
    "detect_watermarks",
    "identifiers_in_file",
    "sample_for",
]

#: The implementation of every detector name.
DETECTOR_CLASSES: dict[Detector, type[WatermarkDetector]] = {
    Detector.DWTDCT: DwtdctDetector,
    Detector.KEYED: KeyedDetector,
}

#: Codecs whose decoders export quantisers (see provenance.media.frame.frame_mean_qp).
_QP_CODECS = frozenset({"h264", "mpeg1video", "mpeg2video", "mpeg4", "h263", "msmpeg4v3"})


def survival_models(options: WatermarkOptions) -> dict[Detector, SurvivalModel]:
    """The shipped mark-survival model of each active detector that has one."""
    models = {name: shipped_model(name) for name in options.active}
    return {name: model for name, model in models.items() if model is not None}


def frame_needs(options: WatermarkOptions, *, survival: bool = False) -> FrameNeeds:
    """What the active detectors (and their survival models' features: always with
    ``survival``) need of each frame."""
    needs = SURVIVAL_FRAME_NEEDS if survival or survival_models(options) else FrameNeeds()
    for name in options.active:
        needs = needs.union(DETECTOR_CLASSES[name].frame_needs(options))
    return needs


def sample_for(
    path: str | Path, options: WatermarkOptions, *, survival: bool = False
) -> FrameSampler:
    """A sampler of ``path`` that reads ``options.sampling``'s frames with what the active
    detectors (and, with ``survival``, the survival features) need."""
    needs = frame_needs(options, survival=survival)
    return FrameSampler(
        path,
        options.sampling,
        colour=needs.colour,
        chroma=needs.chroma,
        quantisers=needs.quantisers,
    )


class DetectorRun:
    """The active detectors for one file, fed the same frames; with the file's ``facts``, the
    features of their mark-survival models are measured on those frames too (also without a
    shipped model with ``measure_survival``: training), and each evidence is weighed by its
    model (:func:`~provenance.watermark.absence.weigh_absence`)."""

    def __init__(
        self,
        options: WatermarkOptions,
        context: DetectionContext,
        facts: FileFacts | None = None,
        *,
        measure_survival: bool = False,
    ) -> None:
        active = options.active
        self.models = survival_models(options) if facts is not None else {}
        measured = facts is not None and (measure_survival or bool(self.models))
        self.survival = SurvivalFeatures(facts) if facts is not None and measured else None
        if self.models:
            context = dataclasses.replace(context, survival_model=True)
        self.strip = PictureStrip() if context.previews else None
        self.detectors: list[WatermarkDetector] = [
            detector
            for name, kind in DETECTOR_CLASSES.items()  # the registry's order, whatever was asked
            if name in active
            for detector in kind.create(options, context)
        ]

    def add(self, frame: SampledFrame) -> list[float | None]:
        """Hand ``frame`` to every detector; returns each one's statistic for it (None where
        the frame could not be scored), in :attr:`detectors` order."""
        if self.survival is not None:
            self.survival.add(frame)
        if self.strip is not None:
            self.strip.add(frame)
        return [detector.add(frame) for detector in self.detectors]

    def pictures(self) -> tuple[FramePicture, ...]:
        """Pictures of some of the frames added, spread over them (only with previews)."""
        return self.strip.pictures() if self.strip is not None else ()

    def features(self) -> dict[str, float] | None:
        """The survival features of the frames added so far (None when none are measured)."""
        return self.survival.values() if self.survival is not None else None

    def evidence(self) -> tuple[WatermarkEvidence, ...]:
        """Every detector's evidence, in :attr:`detectors` order, weighed by its model."""
        found = [detector.evidence() for detector in self.detectors]
        if self.survival is None or not self.survival.frames:
            return tuple(found)
        vector = self.survival.vector()
        weighed = []
        for evidence in found:
            model = self.models.get(evidence.detector)
            if model is not None:
                evidence = weigh_absence(evidence, survival_probability(model, vector))
            weighed.append(evidence)
        return tuple(weighed)


@dataclass(frozen=True)
class FrameRun:
    """What one pass over the frames gave: the evidence and how the stream ended."""

    evidence: tuple[WatermarkEvidence, ...]
    frames: int
    error: str | None = None
    truncated: bool = False
    survival_features: dict[str, float] | None = None
    """The survival features of the frames read (None when they were not measured: no model
    shipped for an active detector and ``measure_survival`` not asked, or no probe given)."""
    pictures: tuple[FramePicture, ...] = ()
    """Pictures of frames read, spread over them (only with previews)."""


def detect_frames(
    frames: Iterable[SampledFrame],
    options: WatermarkOptions,
    *,
    kind: Literal["video", "image"],
    duration_seconds: float | None = None,
    lossy_without_qp: bool = False,
    previews: bool = False,
    facts: FileFacts | None = None,
    measure_survival: bool = False,
    known_identifiers: tuple[int, ...] = (),
) -> DetectorRun:
    """Run the active detectors over already-sampled frames (see :func:`frame_needs` for what
    they need of each frame); the run gives the evidence and the survival features.

    With ``previews``, each evidence's strongest frame carries a small JPEG of itself. With
    the file's ``facts``, each evidence is weighed by its detector's mark-survival model.
    """
    context = DetectionContext(
        kind, duration_seconds, lossy_without_qp, previews, known_identifiers=known_identifiers
    )
    run = DetectorRun(options, context, facts, measure_survival=measure_survival)
    for frame in frames:
        run.add(frame)
    return run


def detect_watermarks(
    path: str | Path,
    options: WatermarkOptions | None = None,
    *,
    media: MediaInfo | None = None,
    previews: bool = False,
    measure_survival: bool = False,
    known_identifiers: tuple[int, ...] = (),
) -> FrameRun:
    """Sample ``path``'s frames once and run the active detectors.

    ``media`` is the file's probe: with it, each evidence is weighed by its detector's
    mark-survival model and lossy codecs without quantisers are named as such. With
    ``previews``, each evidence's strongest frame carries a small JPEG of itself. With
    ``measure_survival`` (and ``media``), the survival features are measured even where no
    model is shipped (what training needs), in ``FrameRun.survival_features``. With
    ``known_identifiers`` (a repository's), the keyed detector also matches against them.

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
    sampler = sample_for(path, opts, survival=measure_survival)
    video_codec = media.video_codec if media is not None else None
    lossy_without_qp = video_codec is not None and video_codec not in (
        _QP_CODECS | LOSSLESS_VIDEO_CODECS
    )
    facts = None
    if media is not None and media.kind in (MediaKind.VIDEO, MediaKind.IMAGE):
        facts = FileFacts.from_media(media)
    iterator = prefetched(sampler)  # decoding overlaps the detectors' work on earlier frames
    first = next(iterator, None)  # the kind (video or image) is known once a frame is out
    if first is None:
        why = sampler.error or "no frame could be decoded"
        raise MediaError(f"{Path(path).name}: {why}.")
    run = detect_frames(
        itertools.chain([first], iterator),
        opts,
        kind="image" if sampler.kind == "image" else "video",
        duration_seconds=media.duration_seconds if media is not None else None,
        lossy_without_qp=lossy_without_qp,
        previews=previews,
        facts=facts,
        measure_survival=measure_survival,
        known_identifiers=known_identifiers,
    )
    return FrameRun(
        run.evidence(),
        sampler.frames_yielded,
        sampler.error,
        sampler.truncated,
        run.features(),
        run.pictures(),
    )


def identifiers_in_file(
    path: str | Path, keys: Sequence[str], known: tuple[int, ...] = ()
) -> list[tuple[str, str]]:
    """(algorithm, value) of every identifier the keyed marks of ``keys`` carry in a file,
    read as a check reads them (default sampling; only when the mark is found, or matched
    among the ``known`` identifiers). What a resolution service runs for ``byContent``.
    Raises :class:`~provenance.errors.MediaError` for a file that cannot be read."""
    options = WatermarkOptions(detectors=(Detector.KEYED,), keys=tuple(keys))
    run = detect_watermarks(path, options, known_identifiers=known)
    found = [(i.algorithm, i.value) for evidence in run.evidence for i in evidence.identifiers]
    return list(dict.fromkeys(found))
