"""Detection thresholds: the one place where evidence turns into "detected".

Every threshold states the false-positive rate it is meant to hold and how it was set. The
statistics are z-scores that are about N(0, 1) per test under the null, so each threshold is the
larger of two figures: the normal quantile of the target rate divided by the number of tests
made (Bonferroni: the chance that *any* test reaches it), and an empirical floor above the
largest null value measured on unmarked content (``datasets/RESULTS.md``), because natural
images have heavier tails than the model.
"""

from __future__ import annotations

import math

from provenance.errors import ArgumentError

__all__ = [
    "DWTDCT_MAX_QP",
    "DWTDCT_SEARCH_Z_FLOOR",
    "DWTDCT_Z_FLOOR",
    "KEYED_TARGET_FPR",
    "SEGMENT_TARGET_FPR",
    "TARGET_FPR",
    "TIMELINE_SEGMENTS",
    "bonferroni_threshold",
    "dwtdct_threshold",
    "keyed_threshold",
    "normal_quantile",
    "segment_threshold",
]

#: Most segments in a watermark timeline: longer clips get longer segments (both detectors).
TIMELINE_SEGMENTS = 240

#: Per-file false-positive rate every detector's threshold is set for.
TARGET_FPR = 1e-6
#: The keyed mark's per-clip rate (the same target; kept as a name for callers).
KEYED_TARGET_FPR = TARGET_FPR
#: Per-clip rate of *any* timeline segment of an unmarked clip being shown as marked.
SEGMENT_TARGET_FPR = 1e-4

#: dwtDct at a frame's own alignment: no threshold below this z. The robust statistic of
#: unmarked content measured at most 4.36 over the 16,111 unmarked frames and images a check
#: scores (datasets/RESULTS.md; 20,931 when frames past DWTDCT_MAX_QP were scored too).
DWTDCT_Z_FLOOR = 7.0
#: dwtDct when the crop search ran: no threshold below this z. Over 1,251 unmarked images the
#: best-of-search z reached 7.93 (saturated colour blocks read as the stripe pattern of the
#: byte payloads, whose every eighth bit is 0), mean 4.83, std 0.63; marked crops score 12-49.
DWTDCT_SEARCH_Z_FLOOR = 9.0

#: dwtDct: an H.264 / MPEG-2 frame whose mean macroblock QP is above this cannot carry the mark
#: (measured on SDXL-marked photos at 1024x576, libx264: every frame at mean QP <= 22 kept
#: z >= 4.9, most >= 10; natural photos at QP >= 27 fell to z <= 2.4). Such frames are
#: reported as inconclusive, not as "not detected".
DWTDCT_MAX_QP = 26.0


def normal_quantile(p: float) -> float:
    """z with P(N(0,1) > z) = p, by bisection on erfc (no SciPy at run time)."""
    if not 0 < p < 1:
        raise ArgumentError(f"p must be in (0, 1), got {p}")
    low, high = -40.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if 0.5 * math.erfc(middle / math.sqrt(2)) > p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def bonferroni_threshold(tests: int, fpr: float = TARGET_FPR) -> float:
    """The z the best of ``tests`` null z-scores reaches with probability at most ``fpr``."""
    if tests < 1 or not 0 < fpr < 1:
        raise ArgumentError(f"tests must be >= 1 and fpr in (0, 1), got {tests}, {fpr}")
    return normal_quantile(fpr / tests)


def keyed_threshold(tests: int, fpr: float = KEYED_TARGET_FPR) -> float:
    """The z a keyed-mark clip peak must reach, Bonferroni-corrected for ``tests`` hypotheses.

    The clip statistic is the peak of the frames' summed surfaces renormalised over shifts, so
    ``tests`` is the shifts x scales of one frame whatever the number of frames. Measured
    unmarked peaks (natural and synthetic clips, re-encoded, cropped, downscaled) stay below the
    6.6 this gives for the default search (see datasets/RESULTS.md).
    """
    return bonferroni_threshold(tests, fpr)


def dwtdct_threshold(tests: int, fpr: float = TARGET_FPR, *, searched: bool = False) -> float:
    """The z the best dwtDct statistic of a file must reach.

    ``tests`` counts every (frame, payload, hypothesis, alignment) scored: frames are combined
    by their maximum, never summed, because consecutive frames of an unmarked static scene
    repeat the same statistic. ``searched``: the crop search ran, so its higher floor applies.
    """
    floor = DWTDCT_SEARCH_Z_FLOOR if searched else DWTDCT_Z_FLOOR
    return max(floor, bonferroni_threshold(tests, fpr))


def segment_threshold(tests: int, segments: int, fpr: float = SEGMENT_TARGET_FPR) -> float:
    """The z a timeline segment searched over ``tests`` hypotheses must reach, one of ``segments``."""
    return bonferroni_threshold(max(tests, 1) * max(segments, 1), fpr)
