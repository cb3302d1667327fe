"""How strong an absence is: a detector's evidence weighed by its mark-survival model.

A detector that finds no mark says ``not_detected`` when the frames it read could carry one.
Whether they *would* have kept one is a property of the file (its codec, quantisers, size,
texture), which the detector's mark-survival model (:mod:`.survival_model`) turns into a
calibrated probability. This module puts that probability into the evidence and lets it
decide: below :data:`~provenance.watermark.policy.SURVIVAL_LEVEL` a mark that is not found
is ``inconclusive``; at or above it, ``not_detected`` says how likely the mark would have been
found. The model can only weaken an absence, never turn ``inconclusive`` into
``not_detected`` (the detectors' own reasons, such as frames too small or compressed past
the quantiser limit, stand).
"""

from __future__ import annotations

import dataclasses

from provenance.report import WatermarkEvidence, WatermarkState
from provenance.watermark import policy

__all__ = ["weigh_absence"]


def weigh_absence(evidence: WatermarkEvidence, probability: float) -> WatermarkEvidence:
    """``evidence`` with its ``survival_probability``; a ``not_detected`` below the level
    becomes ``inconclusive``, and either way the message says how strong the absence is."""
    p = round(min(max(probability, 0.0), 1.0), 3)
    if evidence.state is not WatermarkState.NOT_DETECTED:
        return dataclasses.replace(evidence, survival_probability=p)
    level = policy.SURVIVAL_LEVEL
    if p >= level:
        note = (
            f"Had this mark been embedded, it would have been found with p = {p:.2f} in a file "
            "like this one (mark-survival model)."
        )
        state = WatermarkState.NOT_DETECTED
    else:
        note = (
            f"Had this mark been embedded, it would have been found only with p = {p:.2f} in a "
            f"file like this one (mark-survival model; below {level:.2f}), so its absence says "
            "little."
        )
        state = WatermarkState.INCONCLUSIVE
    message = f"{evidence.message} {note}" if evidence.message else note
    return dataclasses.replace(evidence, state=state, survival_probability=p, message=message)
