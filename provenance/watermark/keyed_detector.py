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
        if self.known and not identifiers:
            matched = self._match(segments, detected)
            if matched is not None:
                return self._matched(result, threshold, segments, *matched)
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
        identifiers: tuple[MarkIdentifier, ...],
        correlation: float,
    ) -> WatermarkEvidence:
        """The evidence of a mark found by matching its identifier against known ones: that
        match is the presence test (its threshold holds 1e-9 per file), whether or not the
        key tile alone reached its own. ``correlation`` is the best match's."""
        known = len(self.known)
        threshold = ids.match_threshold(known)
        tests = known * ids.MAX_DECODES
        return WatermarkEvidence(
            detector=self.name,
            state=WatermarkState.DETECTED,
            mark=keyed_mark_name(self.key),
            statistic=round(correlation, 3),
            p_value=keyed.null_tail_p_value(correlation, tests),
            threshold=round(threshold, 3),
            false_positive_rate=ids.MATCH_TARGET_FPR,
            hypothesis=f"identifier {', '.join(i.value for i in identifiers)} of {known} known",
            hypotheses_tested=tests,
            frames_used=result.frames,
            segments=segments,
            frames=self.scores.scores(),
            strongest_frame=self.scores.strongest_frame(),
            message=(
                f"Found by the identifier it carries, matched among the {known} identifiers "
                f"the repository holds (correlation {correlation:.1f}, threshold "
                f"{threshold:.1f}); the key tile alone: z {result.z:.1f} (threshold "
                f"{sync_threshold:.1f}). It carries identifier "
                + ", ".join(f"{each.value} ({_span(each)})" for each in identifiers)
                + "."
            ),
            frames_read=self.frames_read,
            frames_skipped=self._skipped(),
            summed_statistic=round(result.summed_z, 3),
            best_frame_statistic=round(result.best_frame_z, 3),
            identifiers=identifiers,
        )

    def _identifiers(self, segments: tuple[WatermarkSegment, ...]) -> tuple[MarkIdentifier, ...]:
        """The identifiers of the clip and of its marked segments, runs of one identifier
        joined; the clip's own (read from all its frames) when no segment gives one."""
        reads = []
        for index, segment in enumerate(segments):
            if segment.detected:
                read = self.accumulator.segment_identifier(index)
                if read is not None:
                    reads.append((read.identifier, segment))
        whole = self.accumulator.identifier()
        return _runs(reads, whole.identifier if whole is not None else None, matched=False)

    def _match(
        self, segments: tuple[WatermarkSegment, ...], detected: bool
    ) -> tuple[tuple[MarkIdentifier, ...], float] | None:
        """The known identifiers the clip and its segments carry (runs joined), and the best
        correlation; None when nothing matches.

        A match is its own presence test, so segments the key tile missed are tried too, but
        only in a clip that matched as a whole or whose key tile was found (each segment's
        match costs one product with every known codeword). A clip spliced from two marked
        sources matches neither identifier as a whole; its segments give both.
        """
        whole = self.accumulator.match(self.known)
        if whole is None and not detected:
            return None
        best = whole[1] if whole is not None else -math.inf
        reads = []
        for index, segment in enumerate(segments):
            found = self.accumulator.segment_match(index, self.known)
            if found is not None:
                reads.append((found[0].identifier, segment))
                best = max(best, found[1])
        identifiers = _runs(reads, whole[0].identifier if whole else None, matched=True)
        return (identifiers, best) if identifiers else None


def _runs(
    reads: list[tuple[int, WatermarkSegment]], whole: int | None, *, matched: bool
) -> tuple[MarkIdentifier, ...]:
    """Segments' identifiers as runs (neighbouring segments with one identifier joined), with
    the clip's own identifier first when no segment carries it."""
    runs: list[MarkIdentifier] = []
    for identifier, segment in reads:
        value = ids.binding_value(identifier)
        last = runs[-1] if runs else None
        if (
            last is not None
            and last.value == value
            and last.end_seconds is not None
            and math.isclose(last.end_seconds, segment.start_seconds, abs_tol=1e-6)
        ):
            runs[-1] = MarkIdentifier(
                ids.ALGORITHM, value, last.start_seconds, segment.end_seconds, matched=matched
            )
        else:
            runs.append(
                MarkIdentifier(
                    ids.ALGORITHM,
                    value,
                    segment.start_seconds,
                    segment.end_seconds,
                    matched=matched,
                )
            )
    if whole is not None:
        value = ids.binding_value(whole)
        if not any(run.value == value for run in runs):
            runs.insert(0, MarkIdentifier(ids.ALGORITHM, value, matched=matched))
    return tuple(runs)


def _span(found: MarkIdentifier) -> str:
    if found.start_seconds is None or found.end_seconds is None:
        return "whole file"
    return f"{found.start_seconds:g}-{found.end_seconds:g} s"
