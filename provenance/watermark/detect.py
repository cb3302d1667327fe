"""Run the watermark detectors over a file's sampled frames and state the evidence.

One pass over the frames feeds every detector: the public ``dwtDct`` family (SD 1.x / 2.x,
SDXL, SVD, FLUX, InvokeAI) and the keyed mark for each key given. Each detector gives one
:class:`~provenance.report.WatermarkEvidence` (one per key for the keyed mark) whose state is
``detected``, ``not_detected`` (the frames could carry the mark and it is not there) or
``inconclusive`` (no frame could carry it: too small, too flat, or too compressed), with the
statistic, its threshold and the false-positive rate that threshold is set for.

How frames are combined:

* ``dwtdct``: every frame is decoded under every payload x hypothesis (plus, where chosen, the
  crop-robust search and the resize to native generator sizes); the file's statistic is the
  best z over all of them and the threshold is Bonferroni-corrected for that many tests. Frames
  are not summed: an unmarked static scene repeats the same statistic frame after frame.
  H.264 frames whose mean quantiser is above :data:`~provenance.watermark.policy.DWTDCT_MAX_QP`
  are not decoded (the mark cannot survive there) and are counted as inconclusive.
* ``keyed``: the frames' correlation surfaces are summed and renormalised over shifts
  (:class:`~provenance.watermark.keyed.KeyedAccumulator`), which adds up a consistent mark
  while the null stays N(0, 1) per shift; a per-second timeline shows which stretches carry it.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from provenance.errors import MediaError
from provenance.media.frames import FrameSampler, SampledFrame
from provenance.media.prefetch import prefetched
from provenance.report import (
    WatermarkEvidence,
    WatermarkFrame,
    WatermarkSegment,
    WatermarkState,
)
from provenance.watermark import keyed, policy
from provenance.watermark.dwtdct_search import (
    SearchResult,
    aligned,
    aligned_chroma,
    native_candidates,
    resize_chroma,
    resize_to,
    search,
)
from provenance.watermark.options import CropSearch, WatermarkOptions, keyed_mark_name
from provenance.watermark.payloads import Payload

__all__ = [
    "FrameRun",
    "detect_frames",
    "detect_watermarks",
]

#: How many native generator sizes are tried per frame when resizing back.
_RESIZE_CANDIDATES = 3


#: Most per-frame scores kept in a report; beyond this, neighbours are pooled.
FRAME_SCORES_LIMIT = 600


class _FrameScores:
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
        tail = [self._pending] if self._pending is not None else []
        return tuple(self.entries + tail)

    def strongest_frame(self) -> WatermarkFrame | None:
        if self.strongest is None or self.strongest_pixels is None:
            return self.strongest
        from provenance.media.preview import frame_preview

        return dataclasses.replace(self.strongest, preview=frame_preview(self.strongest_pixels))


# --------------------------------------------------------------------------- dwtDct


@dataclass
class _Best:
    z: float
    payload: str
    hypothesis: str
    matched_bits: int | None
    payload_bits: int


@dataclass
class _DwtdctState:
    payloads: tuple[Payload, ...]
    crop_search: CropSearch
    resize_search: bool
    kind: str
    scores: _FrameScores
    tests: int = 0
    frames_decoded: int = 0
    frames_seen: int = 0
    compressed: int = 0
    searched: bool = False
    highest_qp: float = 0.0
    subsampled: str | None = None
    inconclusive_reasons: set[str] = field(default_factory=set)
    # hypotheses some frame could not test (with the first reason), and those some frame did
    untested: dict[str, str] = field(default_factory=dict)
    tested: set[str] = field(default_factory=set)
    best: _Best | None = None
    frame_best: list[tuple[float | None, float]] = field(default_factory=list)

    def consider(
        self,
        z: float,
        payload: str,
        hypothesis: str,
        matched: int | None,
        bits: int,
    ) -> None:
        if self.best is None or z > self.best.z:
            self.best = _Best(z, payload, hypothesis, matched, bits)

    def add(self, frame: SampledFrame) -> None:
        self.frames_seen += 1
        if frame.mean_qp is not None and frame.mean_qp > policy.DWTDCT_MAX_QP:
            self.compressed += 1
            self.highest_qp = max(self.highest_qp, frame.mean_qp)
            return
        if frame.chroma_subsampling not in (None, "4:4:4"):
            self.subsampled = frame.chroma_subsampling
            return
        chroma = frame.chroma
        if chroma is None and frame.bgr is None:
            raise ValueError("dwtDct needs colour or chroma frames (see FrameSampler)")
        if chroma is not None:  # YUV video: read the chroma planes directly (no BGR, 4x less)
            results = aligned_chroma(chroma, self.payloads, full_range=frame.full_range)
        else:
            assert frame.bgr is not None
            results = aligned(frame.bgr, self.payloads)
        native_z = self._take(results, "")
        if frame.bgr is not None and (
            self.crop_search is CropSearch.ON
            or (self.crop_search is CropSearch.AUTO and self.kind == "image")
        ):
            self.searched = True
            native_z = max(native_z, self._take(search(frame.bgr, self.payloads), ""))
        # Resized copies can show a mark (a generator's output scaled down, or up), but a frame
        # too small to decode at its own size stays inconclusive when they show nothing.
        resized_z = -math.inf
        if self.resize_search and (self.kind == "image" or self.frames_seen == 1):
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
        frame_z = max(native_z, resized_z)
        if math.isfinite(frame_z):
            self.frame_best.append((frame.time_seconds, frame_z))
            self.scores.add(frame, frame_z)

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
            where = how
            if result.tests > 1:
                where += (
                    f", crop search: grid at {result.phase}, row wrap {result.row_wrap}, "
                    f"shift {result.shift}"
                )
            self.consider(
                result.z,
                result.payload,
                result.hypothesis.name + where,
                result.matched_bits,
                result.payload_bits,
            )
        return best

    def evidence(self, lossy_without_qp: bool) -> WatermarkEvidence:
        name = "dwtdct"
        threshold = policy.dwtdct_threshold(max(self.tests, 1), searched=self.searched)
        if self.best is None or (self.frames_decoded == 0 and self.best.z < threshold):
            reasons = []
            if self.compressed:
                reasons.append(
                    f"{self.compressed} of {self.frames_seen} frames are compressed too strongly "
                    f"to carry the mark (mean quantiser up to {self.highest_qp:.0f}, limit "
                    f"{policy.DWTDCT_MAX_QP:.0f}): the chroma detail it lives in is gone"
                )
            if self.subsampled:
                reasons.append(
                    f"the picture is stored as a lossy image with {self.subsampled} chroma "
                    "subsampling, which erases this chroma mark (JPEG q90 4:2:0 leaves 28 of "
                    "48 bits, chance level)"
                )
            reasons.extend(sorted(self.inconclusive_reasons))
            if not self.frames_seen:
                reasons.append("no frame could be decoded")
            return WatermarkEvidence(
                detector=name,
                state=WatermarkState.INCONCLUSIVE,
                hypotheses_tested=self.tests,
                frames_used=0,
                message="Could not check: " + "; ".join(dict.fromkeys(reasons)) + ".",
            )
        best = self.best
        p_value = min(1.0, self.tests * 0.5 * math.erfc(best.z / math.sqrt(2.0)))
        detected = best.z >= threshold
        strongest = self.scores.strongest  # the frame the best z came from
        assert strongest is not None
        where = (
            f"frame {strongest.index} ({strongest.picture_type})"
            if self.kind == "video"
            else "the image"
        )
        bits = (
            f"; {best.matched_bits}/{best.payload_bits} bits by majority vote"
            if best.matched_bits is not None
            else ""
        )
        notes = [f"best: {best.payload} at z = {best.z:.1f} in {where}{bits}"]
        hits = sum(1 for _, z in self.frame_best if z >= threshold)
        if self.kind == "video":
            notes.append(f"{hits} of {self.frames_decoded} decoded frames reach the threshold")
        if self.compressed:
            notes.append(
                f"{self.compressed} of {self.frames_seen} frames were too compressed to carry "
                f"the mark (mean quantiser above {policy.DWTDCT_MAX_QP:.0f}) and were skipped"
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
        if not detected and lossy_without_qp:
            notes.append(
                "this lossy video codec does not report its quantisers; ordinary compression "
                "erases this mark, so its absence says little"
            )
        segments = _max_segments(self.frame_best, threshold)
        return WatermarkEvidence(
            detector=name,
            state=WatermarkState.DETECTED if detected else WatermarkState.NOT_DETECTED,
            mark=best.payload if detected else None,
            statistic=round(best.z, 3),
            p_value=p_value,
            threshold=round(threshold, 3),
            false_positive_rate=policy.TARGET_FPR,
            hypothesis=best.hypothesis if detected else None,
            hypotheses_tested=self.tests,
            frames_used=self.frames_decoded,
            segments=segments,
            frames=self.scores.scores(),
            strongest_frame=self.scores.strongest_frame(),
            message="; ".join(notes) + ".",
        )


def _max_segments(
    frame_best: Sequence[tuple[float | None, float]], threshold: float, max_segments: int = 240
) -> tuple[WatermarkSegment, ...]:
    """Windows of at least one second (fewer than ``max_segments``) with their best frame's z.

    Empty for images and clips without timestamps.
    """
    times = [time for time, _ in frame_best]
    if not times or any(time is None for time in times):
        return ()
    last = max(time for time in times if time is not None)
    seconds = 1.0
    while last / seconds >= max_segments:
        seconds *= 2
    windows: dict[int, float] = {}
    for time, z in frame_best:
        assert time is not None
        window = int(max(time, 0.0) // seconds)
        windows[window] = max(windows.get(window, -math.inf), z)
    return tuple(
        WatermarkSegment(w * seconds, (w + 1) * seconds, z >= threshold, round(z, 3))
        for w, z in sorted(windows.items())
    )


# --------------------------------------------------------------------------- keyed mark


@dataclass
class _KeyedState:
    key: str
    accumulator: keyed.KeyedAccumulator
    scores: _FrameScores
    flat: int = 0
    small: int = 0

    def add(self, frame: SampledFrame) -> None:
        luma = frame.luma
        if min(luma.shape) < keyed.TILE:
            self.small += 1
            return
        if float(luma.std()) < 1.0:
            self.flat += 1
            return
        peak = self.accumulator.add(keyed.score_frame(luma, self.key), frame.time_seconds)
        if math.isfinite(peak):
            self.scores.add(frame, peak)

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
                detector="keyed",
                state=WatermarkState.INCONCLUSIVE,
                mark=name,
                hypotheses_tested=self.accumulator.tests_per_frame,
                message="Could not check: " + ("; ".join(reasons) or "no frame") + ".",
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
            + "."
        )
        return WatermarkEvidence(
            detector="keyed",
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
        )


# --------------------------------------------------------------------------- the pass


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
    kind: str,
    duration_seconds: float | None = None,
    lossy_without_qp: bool = False,
    previews: bool = False,
) -> tuple[WatermarkEvidence, ...]:
    """Run the chosen detectors over already-sampled frames (colour needed for dwtDct).

    With ``previews``, each evidence's strongest frame carries a small JPEG of itself.
    """
    active = options.active
    dwt = (
        _DwtdctState(
            options.chosen_payloads(),
            options.crop_search,
            options.resize_search,
            kind,
            scores=_FrameScores(previews),
        )
        if "dwtdct" in active
        else None
    )
    seconds = options.segment_seconds
    if duration_seconds:
        seconds = max(seconds, duration_seconds / 240)
    keyed_states = (
        [
            _KeyedState(key, keyed.KeyedAccumulator(seconds=seconds), _FrameScores(previews))
            for key in options.keys
        ]
        if "keyed" in active
        else []
    )
    for frame in frames:
        if dwt is not None:
            dwt.add(frame)
        for state in keyed_states:
            state.add(frame)
    evidence: list[WatermarkEvidence] = []
    if dwt is not None:
        evidence.append(dwt.evidence(lossy_without_qp))
    evidence.extend(state.evidence() for state in keyed_states)
    return tuple(evidence)


_QP_CODECS = frozenset({"h264", "mpeg2video"})
_LOSSLESS_CODECS = frozenset({"ffv1", "png", "qtrle", "rawvideo", "utvideo", "huffyuv", "ffvhuff"})


def detect_watermarks(
    path: str | Path,
    options: WatermarkOptions | None = None,
    *,
    video_codec: str | None = None,
    duration_seconds: float | None = None,
    previews: bool = False,
) -> FrameRun:
    """Sample ``path``'s frames once and run the chosen detectors.

    With ``previews``, each evidence's strongest frame carries a small JPEG of itself.

    Raises
    ------
    MediaError
        The file cannot be opened or holds no frames; a stream that breaks mid-way does not
        raise: the evidence covers the frames read and ``error`` / ``truncated`` say why it
        stopped.
    """
    opts = options or WatermarkOptions()
    active = opts.active
    if not active:
        return FrameRun((), 0)
    dwt = "dwtdct" in active
    sampler = FrameSampler(
        path,
        opts.sampling,
        # BGR only where the chroma planes cannot serve: RGB video, images, the crop search
        colour=(True if opts.crop_search is CropSearch.ON else "fallback") if dwt else False,
        chroma=dwt,
        quantisers=dwt,
    )
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
        kind=sampler.kind or "video",
        duration_seconds=duration_seconds,
        lossy_without_qp=lossy_without_qp,
        previews=previews,
    )
    return FrameRun(evidence, sampler.frames_yielded, sampler.error, sampler.truncated)
