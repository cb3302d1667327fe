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
from collections.abc import Sequence

from provenance.errors import ArgumentError

__all__ = [
    "DWTDCT_CLIP_PLAIN_Z_FLOOR",
    "DWTDCT_MAX_QP",
    "DWTDCT_PLAIN_Z_FLOOR",
    "DWTDCT_SEARCH_Z_FLOOR",
    "DWTDCT_Z_FLOOR",
    "KEYED_TARGET_FPR",
    "SEGMENT_TARGET_FPR",
    "SURVIVAL_LEVEL",
    "TARGET_FPR",
    "TIMELINE_SEGMENTS",
    "bonferroni_threshold",
    "dwtdct_clip_threshold",
    "dwtdct_floor",
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

#: dwtDct at a frame's own alignment, byte-text payloads (SD 1.x, SD 2.x, InvokeAI): no
#: threshold below this z. Their every eighth bit is 0, so their layout is itself a stripe
#: pattern, which saturated colour ramps imitate (up to 7.6 for SD 1.x, see
#: dwtdct_statistic). Over all payloads the robust statistic of unmarked content measured at
#: most 4.38 on 40,205 frames and images (datasets/RESULTS.md).
DWTDCT_Z_FLOOR = 7.0
#: dwtDct at a frame's own alignment, payloads without that stripe structure (SDXL / SVD,
#: FLUX): no threshold below this z. Unmarked content, saturated ramps included, stays below
#: 4.4 for them; a file's Bonferroni threshold is usually higher (about 6 for a 25-frame clip).
DWTDCT_PLAIN_Z_FLOOR = 5.5
#: dwtDct, a clip's frames combined, payloads without the stripe structure: no threshold below
#: this z. Its null has a heavier tail than one frame's: over 360 unmarked clips written as
#: SVD's two writers write them, the SDXL payload's combined z reached 4.79 (one frame: 4.15),
#: so the floor keeps a wider margin. Byte-text payloads keep DWTDCT_Z_FLOOR (their combined
#: z reached 5.33 on the same clips).
DWTDCT_CLIP_PLAIN_Z_FLOOR = 6.0
#: dwtDct when the crop search ran: no threshold below this z. Over 1,251 unmarked images the
#: best-of-search z reached 7.93 (saturated colour blocks read as the stripe pattern of the
#: byte payloads, whose every eighth bit is 0), mean 4.83, std 0.63; marked crops score 12-49.
DWTDCT_SEARCH_Z_FLOOR = 9.0

#: dwtDct: a frame whose mean quantiser (H.264 scale; MPEG-2 family converted) is above this
#: rarely keeps the mark (measured on SDXL-marked photos at 1024x576, libx264: every frame at
#: mean QP <= 22 kept z >= 4.9, most >= 10; natural photos at QP >= 27 fell to z <= 2.4).
#: Such frames are still read, but cannot make a file "not detected" and are not combined.
DWTDCT_MAX_QP = 26.0

#: A mark that is not found is ``not_detected`` only where the detector's mark-survival model
#: gives at least this probability that it would have been found had it been embedded
#: (``provenance.watermark.survival_model``); below it the absence is ``inconclusive``. At 0.8
#: "not detected" means at most one marked file in five like this one would be missed.
SURVIVAL_LEVEL = 0.8


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


def dwtdct_floor(bits: Sequence[int], *, combined: bool = False) -> float:
    """The lowest dwtDct threshold for a payload: :data:`DWTDCT_Z_FLOOR` for byte text (every
    eighth bit 0, a stripe pattern); otherwise :data:`DWTDCT_PLAIN_Z_FLOOR` for a frame and
    :data:`DWTDCT_CLIP_PLAIN_Z_FLOOR` for a clip's frames ``combined``."""
    stripes = len(bits) % 8 == 0 and all(bits[i] == 0 for i in range(0, len(bits), 8))
    if stripes:
        return DWTDCT_Z_FLOOR
    return DWTDCT_CLIP_PLAIN_Z_FLOOR if combined else DWTDCT_PLAIN_Z_FLOOR


def dwtdct_threshold(
    tests: int,
    fpr: float = TARGET_FPR,
    *,
    searched: bool = False,
    floor: float = DWTDCT_Z_FLOOR,
) -> float:
    """The z a file's best dwtDct frame statistic must reach.

    ``tests`` counts every (frame, payload, hypothesis, alignment) scored; ``floor`` is the
    payload's (:func:`dwtdct_floor`). ``searched``: the crop search ran, so its higher floor
    applies.
    """
    lowest = DWTDCT_SEARCH_Z_FLOOR if searched else floor
    return max(lowest, bonferroni_threshold(tests, fpr))


def dwtdct_clip_threshold(
    tests: int, fpr: float = TARGET_FPR, *, floor: float = DWTDCT_Z_FLOOR
) -> float:
    """The z a clip's combined dwtDct statistic must reach: Bonferroni over the ``tests``
    combinations it is the best of, never below the payload's ``floor``."""
    return max(floor, bonferroni_threshold(tests, fpr))


def segment_threshold(tests: int, segments: int, fpr: float = SEGMENT_TARGET_FPR) -> float:
    """The z a timeline segment searched over ``tests`` hypotheses must reach, one of ``segments``."""
    return bonferroni_threshold(max(tests, 1) * max(segments, 1), fpr)
