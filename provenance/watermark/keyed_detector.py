"""The keyed-mark detector: one key's mark (:mod:`provenance.watermark.keyed`) in a file's frames.

The frames' correlation surfaces are summed and renormalised over shifts
(:class:`~provenance.watermark.keyed_clip.KeyedAccumulator`), which adds up a consistent mark while
the null stays N(0, 1) per shift; the clip statistic is the better of the summed surfaces and
the best single frame, each tested against its own number of hypotheses. A timeline of
segments shows which stretches carry the mark (a spliced clip shows as segments).
"""

from __future__ import annotations

import math

from provenance.media.frame import SampledFrame
from provenance.report import (
    Detector,
    MarkIdentifier,
    WatermarkEvidence,
    WatermarkSegment,
    WatermarkState,
)
from provenance.watermark import identifier as ids
from provenance.watermark import keyed, keyed_clip, policy
from provenance.watermark.detector import (
    DetectionContext,
    FrameNeeds,
    FrameScores,
    WatermarkDetector,
    sentence,
)
from provenance.watermark.keys import keyed_mark_name
from provenance.watermark.options import WatermarkOptions

__all__ = ["KeyedDetector"]

#: A frame whose luma varies less than this (standard deviation) carries no readable mark.
_FLAT_LUMA_STD = 1.0


class KeyedDetector(WatermarkDetector):
    """One key's mark in one file."""

    name = Detector.KEYED

    @classmethod
    def frame_needs(cls, options: WatermarkOptions) -> FrameNeeds:
        return FrameNeeds()  # the luma plane, which every sampled frame has

    @classmethod
    def create(
        cls, options: WatermarkOptions, context: DetectionContext
    ) -> list[WatermarkDetector]:
        seconds = options.segment_seconds
        if context.duration_seconds:
            seconds = max(seconds, context.duration_seconds / policy.TIMELINE_SEGMENTS)
        return [
            cls(key, seconds, previews=context.previews, known=context.known_identifiers)
            for key in options.keys
        ]

    def __init__(
        self, key: str, seconds: float, *, previews: bool = False, known: tuple[int, ...] = ()
    ) -> None:
        self.key = key
        self.known = known
        self.accumulator = keyed_clip.KeyedAccumulator(seconds=seconds, key=key)
        self.scores = FrameScores(previews)
        self.peaks: list[float] = []
        self.frames_read = 0
        self.flat = 0
        self.small = 0

    def add(self, frame: SampledFrame) -> float | None:
        self.frames_read += 1
        luma = frame.luma
        if min(luma.shape) < keyed.TILE:
            self.small += 1
            return None
        if float(luma.std()) < _FLAT_LUMA_STD:
            self.flat += 1
            return None
        peak = self.accumulator.add(keyed.score_frame(luma, self.key), frame.time_seconds)
        if not math.isfinite(peak):
            return None
        self.peaks.append(peak)
        self.scores.add(frame, peak)
        return peak

    def _skipped(self) -> dict[str, int]:
        counts = {"small": self.small, "flat": self.flat}
        return {reason: count for reason, count in counts.items() if count}

    def evidence(self) -> WatermarkEvidence:
        name = keyed_mark_name(self.key)
        if not self.accumulator.frames:
            reasons = []
            if self.small:
                reasons.append(
                    f"{self.small} frames are smaller than the {keyed.TILE}-pixel key tile"
                )
            if self.flat:
                reasons.append(f"{self.flat} frames are flat (no luma texture)")
            return WatermarkEvidence(
                detector=self.name,
                state=WatermarkState.INCONCLUSIVE,
                mark=name,
                hypotheses_tested=self.accumulator.tests_per_frame,
                message=sentence(reasons or ["no frame could be read"]),
                frames_read=self.frames_read,
                frames_skipped=self._skipped(),
            )
        result = self.accumulator.result()
        threshold = policy.keyed_threshold(result.tests)
        detected = result.z >= threshold
        pieces = self.accumulator.segments()
        segments = tuple(
            WatermarkSegment(
                s.start_seconds,
                s.end_seconds,
                s.z >= policy.segment_threshold(s.tests, len(pieces)),
                round(s.z, 3),
            )
            for s in pieces
        )
        marked = sum(1 for s in segments if s.detected)
        identifiers = self._identifiers(segments) if detected else ()
        matched = self.accumulator.match(self.known) if self.known and not identifiers else None
        if matched is not None:
            return self._matched(result, threshold, segments, matched)
        how = (
            f"the {result.frames} frames' surfaces summed"
            if result.from_sum
            else f"frame {result.best_frame + 1} of {result.frames} on its own"
        )
        message = (
            f"Best evidence: {how} (summed z {result.summed_z:.1f}, best single frame "
            f"z {result.best_frame_z:.1f})"
            + (
                f"; {marked} of {len(segments)} segments of {self.accumulator.seconds:g} s "
                "carry the mark"
                if segments
                else ""
            )
            + (
                "; it carries identifier "
                + ", ".join(f"{found.value} ({_span(found)})" for found in identifiers)
                if identifiers
                else ""
            )
            + "."
        )
        return WatermarkEvidence(
            detector=self.name,
            state=WatermarkState.DETECTED if detected else WatermarkState.NOT_DETECTED,
            mark=name,
            statistic=round(result.z, 3),
            p_value=keyed.null_tail_p_value(result.z, result.tests),
            threshold=round(threshold, 3),
            false_positive_rate=policy.KEYED_TARGET_FPR,
            hypothesis=f"scale {result.scale:g}, shift {result.shift}" if detected else None,
            hypotheses_tested=result.tests,
            frames_used=result.frames,
            segments=segments,
            frames=self.scores.scores(),
            strongest_frame=self.scores.strongest_frame(),
            message=message,
            frames_read=self.frames_read,
            frames_over_threshold=sum(1 for peak in self.peaks if peak >= threshold),
            frames_skipped=self._skipped(),
            summed_statistic=round(result.summed_z, 3),
            best_frame_statistic=round(result.best_frame_z, 3),
            identifiers=identifiers,
        )

    def _matched(
        self,
        result: keyed_clip.KeyedResult,
        sync_threshold: float,
        segments: tuple[WatermarkSegment, ...],
        matched: tuple[keyed_clip.ReadIdentifier, float],
    ) -> WatermarkEvidence:
        """The evidence of a mark found by matching its identifier against known ones: that
        match is the presence test (its threshold holds 1e-9 per file), whether or not the
        key tile alone reached its own."""
        read, correlation = matched
        known = len(self.known)
        threshold = ids.match_threshold(known)
        tests = known * ids.MAX_DECODES
        found = MarkIdentifier(ids.ALGORITHM, ids.binding_value(read.identifier), matched=True)
        return WatermarkEvidence(
            detector=self.name,
            state=WatermarkState.DETECTED,
            mark=keyed_mark_name(self.key),
            statistic=round(correlation, 3),
            p_value=keyed.null_tail_p_value(correlation, tests),
            threshold=round(threshold, 3),
            false_positive_rate=ids.MATCH_TARGET_FPR,
            hypothesis=f"identifier {found.value}, one of {known} known",
            hypotheses_tested=tests,
            frames_used=result.frames,
            segments=segments,
            frames=self.scores.scores(),
            strongest_frame=self.scores.strongest_frame(),
            message=(
                f"Found by the identifier it carries, matched among the {known} identifiers "
                f"the repository holds (correlation {correlation:.1f}, threshold "
                f"{threshold:.1f}); the key tile alone: z {result.z:.1f} (threshold "
                f"{sync_threshold:.1f}). It carries identifier {found.value} (whole file)."
            ),
            frames_read=self.frames_read,
            frames_skipped=self._skipped(),
            summed_statistic=round(result.summed_z, 3),
            best_frame_statistic=round(result.best_frame_z, 3),
            identifiers=(found,),
        )

    def _identifiers(self, segments: tuple[WatermarkSegment, ...]) -> tuple[MarkIdentifier, ...]:
        """The identifiers of the clip and of its marked segments, runs of one identifier
        joined; the clip's own (read from all its frames) when no segment gives one."""
        runs: list[MarkIdentifier] = []
        for index, segment in enumerate(segments):
            if not segment.detected:
                continue
            read = self.accumulator.segment_identifier(index)
            if read is None:
                continue
            value = ids.binding_value(read.identifier)
            last = runs[-1] if runs else None
            if (
                last is not None
                and last.value == value
                and last.end_seconds is not None
                and math.isclose(last.end_seconds, segment.start_seconds, abs_tol=1e-6)
            ):
                runs[-1] = MarkIdentifier(
                    ids.ALGORITHM, value, last.start_seconds, segment.end_seconds
                )
            else:
                runs.append(
                    MarkIdentifier(ids.ALGORITHM, value, segment.start_seconds, segment.end_seconds)
                )
        whole = self.accumulator.identifier()
        if whole is not None:
            value = ids.binding_value(whole.identifier)
            if not any(run.value == value for run in runs):
                runs.insert(0, MarkIdentifier(ids.ALGORITHM, value))
        return tuple(runs)


def _span(found: MarkIdentifier) -> str:
    if found.start_seconds is None or found.end_seconds is None:
        return "whole file"
    return f"{found.start_seconds:g}-{found.end_seconds:g} s"
