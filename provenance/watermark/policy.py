"""Detection thresholds: the one place where evidence turns into "detected".

Every threshold states the false-positive rate it is meant to hold and how it was set. Values
marked *provisional* come from the Bonferroni bound and small null measurements; the
calibration on at least 10,000 unmarked frames (datasets/) replaces them.
"""

from __future__ import annotations

import math

__all__ = ["KEYED_TARGET_FPR", "keyed_threshold"]

#: Per-clip false-positive rate the keyed mark's threshold is set for.
KEYED_TARGET_FPR = 1e-6


def _normal_quantile(p: float) -> float:
    """z with P(N(0,1) > z) = p, by bisection on erfc (no SciPy at run time)."""
    low, high = 0.0, 40.0
    for _ in range(200):
        middle = (low + high) / 2
        if 0.5 * math.erfc(middle / math.sqrt(2)) > p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def keyed_threshold(tests: int, fpr: float = KEYED_TARGET_FPR) -> float:
    """The z a keyed-mark peak must reach, Bonferroni-corrected for ``tests`` hypotheses.

    *Provisional*: measured unmarked peaks (natural and synthetic clips, re-encoded, cropped,
    downscaled) stayed at z <= 5, below the 6.6 this gives for the default search.
    """
    if tests < 1 or not 0 < fpr < 1:
        raise ValueError(f"tests must be >= 1 and fpr in (0, 1), got {tests}, {fpr}")
    return _normal_quantile(fpr / tests)
