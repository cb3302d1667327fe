"""The dwtDct detector: the public invisible-watermark marks (SD 1.x / 2.x, SDXL, SVD, FLUX,
InvokeAI) in a file's frames.

Every frame is decoded under every payload x hypothesis at its own alignment
(:mod:`.dwtdct_frame`), plus, where chosen, the crop-robust search (:mod:`.dwtdct_search`) and
the resize back to native generator sizes. Two statistics decide, each against its own
threshold (the per-file false-positive rate is shared between them): the best z of any frame,
Bonferroni-corrected for every test made (:func:`~provenance.watermark.policy.dwtdct_threshold`),
and, for video, the frames combined (:mod:`.dwtdct_clip`), which finds marks too weak in any
one frame. Frames whose mean quantiser (H.264 scale) is above
:data:`~provenance.watermark.policy.DWTDCT_MAX_QP` rarely keep the mark: they are read (a mark
found there counts) but not combined, and when every frame is such a frame the evidence is
``inconclusive``, never ``not_detected``. Lossy images with subsampled chroma are not decoded
(the mark cannot survive there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from provenance.errors import ArgumentError
from provenance.media.frame import SampledFrame
from provenance.report import (
    Detector,
    WatermarkEvidence,
    WatermarkSegment,
    WatermarkState,
)
from provenance.watermark import policy
from provenance.watermark.detector import (
    DetectionContext,
    FrameNeeds,
    FrameScores,
    WatermarkDetector,
    sentence,
)
from provenance.watermark.dwtdct_clip import ClipCombiner, ClipScore
from provenance.watermark.dwtdct_frame import (
    aligned,
    aligned_chroma,
    native_candidates,
    resize_chroma,
    resize_to,
)
from provenance.watermark.dwtdct_scheme import DecodeStatus
from provenance.watermark.dwtdct_search import search
from provenance.watermark.dwtdct_statistic import SearchResult
from provenance.watermark.options import CropSearch, WatermarkOptions

__all__ = ["DwtdctDetector"]

#: How many native generator sizes are tried per frame when resizing back.
_RESIZE_CANDIDATES = 3


@dataclass(frozen=True)
class _Candidate:
    """A statistic that can detect the mark, with its threshold: a payload's best frame
    (``clip`` None) or its frames combined."""

    z: float
    threshold: float
    tests: int
    payload: str
    hypothesis: str
    matched_bits: int | None
    payload_bits: int
    clip: ClipScore | None


@dataclass
class _Best:
    z: float
    payload: str
    hypothesis: str
    matched_bits: int | None
    payload_bits: int


class DwtdctDetector(WatermarkDetector):
    """The dwtDct family in one file (one detector tests every chosen payload)."""

    name = Detector.DWTDCT

    @classmethod
    def frame_needs(cls, options: WatermarkOptions) -> FrameNeeds:
        # BGR only where the chroma planes cannot serve: RGB video, images, the crop search
        if options.crop_search is CropSearch.ON:
            return FrameNeeds(colour=True, chroma=True, quantisers=True)
        return FrameNeeds(colour="fallback", chroma=True, quantisers=True)

    @classmethod
    def create(
        cls, options: WatermarkOptions, context: DetectionContext
    ) -> list[WatermarkDetector]:
        return [cls(options, context)]

    def __init__(self, options: WatermarkOptions, context: DetectionContext) -> None:
        self.payloads = options.chosen_payloads()
        self.crop_search = options.crop_search
        self.resize_search = options.resize_search
        self.context = context
        self.scores = FrameScores(context.previews)
        self.tests = 0
        self.frames_decoded = 0
        self.frames_carrying = 0  # decoded frames within the quantiser limit
        self.frames_seen = 0
        self.compressed = 0
        self.subsampled = 0
        self.small = 0
        self.flat = 0
        self.subsampling: str | None = None
        self.searched = False
        self.highest_qp = 0.0
        self.inconclusive_reasons: set[str] = set()
        # hypotheses some frame could not test (with the first reason), and those some frame did
        self.untested: dict[str, str] = {}
        self.tested: set[str] = set()
        self.best: _Best | None = None
        self.best_by_payload: dict[str, _Best] = {}
        # per frame scored: its time, best z, and each payload's best z
        self.frame_best: list[tuple[float | None, float, dict[str, float]]] = []
        self._frame_payloads: dict[str, float] = {}
        self.clip = ClipCombiner(self.payloads)

    # ------------------------------------------------------------------ frames

    def add(self, frame: SampledFrame) -> float | None:
        self.frames_seen += 1
        # Past the quantiser limit a frame rarely keeps the mark: it is still read (a mark
        # found there counts), but it cannot show absence and is not combined.
        compressed = frame.mean_qp is not None and frame.mean_qp > policy.DWTDCT_MAX_QP
        if compressed:
            assert frame.mean_qp is not None
            self.compressed += 1
            self.highest_qp = max(self.highest_qp, frame.mean_qp)
        if frame.chroma_subsampling not in (None, "4:4:4"):
            self.subsampled += 1
            self.subsampling = frame.chroma_subsampling
            return None
        chroma = frame.chroma
        if chroma is None and frame.bgr is None:
            raise ArgumentError("dwtDct needs colour or chroma frames (see FrameNeeds)")
        if chroma is not None:  # YUV video: read the chroma planes directly (no BGR, 4x less)
            results = aligned_chroma(chroma, self.payloads, full_range=frame.full_range)
        else:
            assert frame.bgr is not None
            results = aligned(frame.bgr, self.payloads)
        if not compressed:
            self.clip.add(results, key_frame=frame.picture_type == "I")
        self._frame_payloads = {}
        native_z = self._take(results, "")
        if not math.isfinite(native_z):  # no payload x hypothesis could be read at this size
            if any(result.status is DecodeStatus.TOO_SMALL for result in results):
                self.small += 1
            else:
                self.flat += 1
        image = self.context.kind == "image"
        if frame.bgr is not None and (
            self.crop_search is CropSearch.ON or (self.crop_search is CropSearch.AUTO and image)
        ):
            self.searched = True
            native_z = max(native_z, self._take(search(frame.bgr, self.payloads), ""))
        # Resized copies can show a mark (a generator's output scaled down, or up), but a frame
        # too small to decode at its own size stays inconclusive when they show nothing.
        resized_z = -math.inf
        if self.resize_search and (image or self.frames_seen == 1):
            for size in native_candidates(frame.width, frame.height)[:_RESIZE_CANDIDATES]:
                if chroma is not None:
                    results = aligned_chroma(
                        resize_chroma(chroma, size), self.payloads, full_range=frame.full_range
                    )
                else:
                    assert frame.bgr is not None
                    results = aligned(resize_to(frame.bgr, size), self.payloads)
                resized_z = max(resized_z, self._take(results, f", resized to {size[0]}x{size[1]}"))
        if math.isfinite(native_z):
            self.frames_decoded += 1
            self.frames_carrying += 0 if compressed else 1
        frame_z = max(native_z, resized_z)
        if not math.isfinite(frame_z):
            return None
        self.frame_best.append((frame.time_seconds, frame_z, self._frame_payloads))
        self.scores.add(frame, frame_z)
        return frame_z

    def _take(self, results: Sequence[SearchResult], how: str) -> float:
        """Record one batch of results; return the best z (-inf when none was decoded)."""
        best = -math.inf
        for result in results:
            if not result.decoded or result.z is None:
                self.inconclusive_reasons.add(result.reason)
                self.untested.setdefault(result.hypothesis.name, result.reason)
                continue
            self.tested.add(result.hypothesis.name)
            self.tests += result.tests
            best = max(best, result.z)
            seen = self._frame_payloads.get(result.payload, -math.inf)
            self._frame_payloads[result.payload] = max(seen, result.z)
            where = how
            if result.tests > 1:
                where += (
                    f", crop search: grid at {result.phase}, row wrap {result.row_wrap}, "
                    f"shift {result.shift}"
                )
            leader = self.best_by_payload.get(result.payload)
            if leader is None or result.z > leader.z:
                leader = self.best_by_payload[result.payload] = _Best(
                    result.z,
                    result.payload,
                    result.hypothesis.name + where,
                    result.matched_bits,
                    result.payload_bits,
                )
                if self.best is None or result.z > self.best.z:
                    self.best = leader
        return best

    # ------------------------------------------------------------------ evidence

    def _skipped(self) -> dict[str, int]:
        counts = {
            "compressed": self.compressed,
            "subsampled": self.subsampled,
            "small": self.small,
            "flat": self.flat,
        }
        return {reason: count for reason, count in counts.items() if count}

    def _why_not(self) -> list[str]:
        """Why frames could not carry the mark (the inconclusive reasons)."""
        reasons = []
        if self.compressed:
            reasons.append(
                f"{self.compressed} of {self.frames_seen} frames are compressed too strongly "
                f"to carry the mark (mean quantiser up to {self.highest_qp:.0f}, limit "
                f"{policy.DWTDCT_MAX_QP:.0f}): the chroma detail it lives in is gone"
            )
        if self.subsampling:
            reasons.append(
                f"the picture is stored as a lossy image with {self.subsampling} chroma "
                "subsampling, which erases this chroma mark (JPEG q90 4:2:0 leaves 28 of "
                "48 bits, chance level)"
            )
        reasons.extend(sorted(self.inconclusive_reasons))
        if not self.frames_seen:
            reasons.append("no frame could be decoded")
        return reasons

    def _candidates(self, fpr: float) -> list[_Candidate]:
        """Every payload's best frame and frames combined, each with its threshold."""
        floors = {payload.name: policy.dwtdct_floor(payload.bits) for payload in self.payloads}
        candidates = [
            _Candidate(
                best.z,
                policy.dwtdct_threshold(
                    max(self.tests, 1), fpr, searched=self.searched, floor=floors[name]
                ),
                self.tests,
                best.payload,
                best.hypothesis,
                best.matched_bits,
                best.payload_bits,
                None,
            )
            for name, best in self.best_by_payload.items()
        ]
        if self.context.kind == "video":
            combined = {
                payload.name: policy.dwtdct_floor(payload.bits, combined=True)
                for payload in self.payloads
            }
            for score in self.clip.best():
                limit = policy.dwtdct_clip_threshold(
                    score.tests, fpr, floor=combined[score.payload]
                )
                candidates.append(
                    _Candidate(
                        score.z,
                        limit,
                        score.tests,
                        score.payload,
                        f"{score.hypothesis.name}, {score.describe()}",
                        score.matched_bits,
                        score.payload_bits,
                        score,
                    )
                )
        return candidates

    def evidence(self) -> WatermarkEvidence:
        combining = self.context.kind == "video" and self.clip.frames >= 2
        # the per-file rate is shared between the best frames and the frames combined
        fpr = policy.TARGET_FPR / 2 if combining else policy.TARGET_FPR
        candidates = self._candidates(fpr)
        detected = any(c.z >= c.threshold for c in candidates)
        highest_quantiser = round(self.highest_qp, 2) if self.compressed else None
        if self.best is None or (self.frames_carrying == 0 and not detected):
            return WatermarkEvidence(
                detector=self.name,
                state=WatermarkState.INCONCLUSIVE,
                hypotheses_tested=self.tests,
                frames_used=0,
                message=sentence(self._why_not()),
                frames_read=self.frames_seen,
                frames_skipped=self._skipped(),
                highest_quantiser=highest_quantiser,
            )
        best = self.best
        # the statistic that leads: a detection, else the nearest to its threshold
        lead = max(candidates, key=lambda c: (c.z >= c.threshold, c.z / c.threshold))
        frame_limits = {c.payload: c.threshold for c in candidates if c.clip is None}
        frame_threshold = frame_limits[best.payload]
        clip = max(
            (c for c in candidates if c.clip is not None),
            key=lambda c: c.z / c.threshold,
            default=None,
        )

        def hit(payloads: dict[str, float]) -> bool:
            return any(z >= frame_limits[name] for name, z in payloads.items())

        strongest = self.scores.strongest  # the frame the best z came from
        assert strongest is not None
        video = self.context.kind == "video"
        where = f"frame {strongest.index} ({strongest.picture_type})" if video else "the image"
        bits = (
            f"; {best.matched_bits}/{best.payload_bits} bits by majority vote"
            if best.matched_bits is not None
            else ""
        )
        notes = [
            f"best frame: {best.payload} at z = {best.z:.1f} in {where} "
            f"(threshold {frame_threshold:.1f}){bits}"
        ]
        if clip is not None and clip.clip is not None:
            notes.append(
                f"{clip.clip.describe()}: {clip.payload} ({clip.clip.hypothesis.name}) at "
                f"z = {clip.z:.1f} (threshold {clip.threshold:.1f}); {clip.matched_bits}/"
                f"{clip.payload_bits} bits by majority vote"
            )
        hits = sum(1 for _, _, payloads in self.frame_best if hit(payloads))
        if video:
            notes.append(f"{hits} of {self.frames_decoded} decoded frames reach the threshold")
        if self.compressed:
            notes.append(
                f"{self.compressed} of {self.frames_seen} frames are compressed past the level "
                f"where the mark survives (mean quantiser above {policy.DWTDCT_MAX_QP:.0f}): "
                "they were read, but they cannot show that it is absent"
            )
        never = {name: why for name, why in self.untested.items() if name not in self.tested}
        if not detected and never:
            # e.g. a picture flat under one channel order: a mark embedded under that
            # hypothesis could not be read on any frame, whatever the others say
            untested = "; ".join(f"{name}: {why}" for name, why in sorted(never.items()))
            notes.append(
                f"could not test under {len(never)} embedding hypotheses ({untested}), "
                "so a mark embedded that way is not ruled out"
            )
        if not detected and self.context.lossy_without_qp and not self.context.survival_model:
            notes.append(
                "this lossy video codec does not report its quantisers; ordinary compression "
                "erases this mark, so its absence says little"
            )
        p_value = min(1.0, lead.tests * 0.5 * math.erfc(lead.z / math.sqrt(2.0)))
        clip_tests = max((c.tests for c in candidates if c.clip is not None), default=0)
        return WatermarkEvidence(
            detector=self.name,
            state=WatermarkState.DETECTED if detected else WatermarkState.NOT_DETECTED,
            mark=lead.payload if detected else None,
            statistic=round(lead.z, 3),
            p_value=p_value,
            threshold=round(lead.threshold, 3),
            false_positive_rate=policy.TARGET_FPR,
            hypothesis=lead.hypothesis if detected else None,
            hypotheses_tested=self.tests + clip_tests,
            frames_used=self.frames_decoded,
            segments=_max_segments(self.frame_best, hit),
            frames=self.scores.scores(),
            strongest_frame=self.scores.strongest_frame(),
            message="; ".join(notes) + ".",
            frames_read=self.frames_seen,
            frames_over_threshold=hits,
            frames_skipped=self._skipped(),
            highest_quantiser=highest_quantiser,
            matched_bits=lead.matched_bits,
            payload_bits=lead.payload_bits,
            untested_hypotheses=tuple(sorted(never)) if not detected else (),
            summed_statistic=round(clip.z, 3) if clip is not None else None,
            best_frame_statistic=round(best.z, 3) if clip is not None else None,
        )


def _max_segments(
    frame_best: Sequence[tuple[float | None, float, dict[str, float]]],
    hit: Callable[[dict[str, float]], bool],
) -> tuple[WatermarkSegment, ...]:
    """Windows of at least one second (fewer than
    :data:`~provenance.watermark.policy.TIMELINE_SEGMENTS`) with their best frame's z, marked
    where a frame reaches its payload's threshold. Empty for images and clips without
    timestamps."""
    times = [time for time, _, _ in frame_best]
    if not times or any(time is None for time in times):
        return ()
    last = max(time for time in times if time is not None)
    seconds = 1.0
    while last / seconds >= policy.TIMELINE_SEGMENTS:
        seconds *= 2
    windows: dict[int, tuple[float, bool]] = {}
    for time, z, payloads in frame_best:
        assert time is not None
        window = int(max(time, 0.0) // seconds)
        best, marked = windows.get(window, (-math.inf, False))
        windows[window] = (max(best, z), marked or hit(payloads))
    return tuple(
        WatermarkSegment(w * seconds, (w + 1) * seconds, marked, round(z, 3))
        for w, (z, marked) in sorted(windows.items())
    )
