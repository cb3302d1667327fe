"""What the watermark detectors are asked to do: :class:`WatermarkOptions` and its parts.

Kept apart from :mod:`provenance.watermark.detect` (which decodes frames with numpy and
OpenCV) so that building and validating options, and importing :mod:`provenance`, stays light.
"""

from __future__ import annotations

import enum
import hashlib
import os
from dataclasses import dataclass

from provenance.media.sampling import Sampling, SamplingMode
from provenance.report import WatermarkEvidence, WatermarkState
from provenance.watermark.payloads import PAYLOADS, Payload, payload_by_name

__all__ = [
    "DEFAULT_SAMPLING",
    "DETECTORS",
    "KEY_ENVIRONMENT",
    "CropSearch",
    "WatermarkOptions",
    "environment_keys",
    "key_fingerprint",
    "keyed_mark_name",
]

#: Environment variable that may hold a keyed-mark key (keeps it off command lines).
KEY_ENVIRONMENT = "PROVENANCE_MARK_KEY"

#: Detector names accepted by :class:`WatermarkOptions` and ``--detector``.
DETECTORS = ("dwtdct", "keyed")

#: Frames sampled by default: 8 evenly spaced (the first is the opening key frame).
DEFAULT_SAMPLING = Sampling(SamplingMode.EVENLY, 8)


def environment_keys() -> tuple[str, ...]:
    """The keyed-mark key in ``$PROVENANCE_MARK_KEY``, if one is set (blanks stripped)."""
    key = os.environ.get(KEY_ENVIRONMENT, "").strip()
    return (key,) if key else ()


class CropSearch(enum.StrEnum):
    """When the dwtDct crop-robust grid search runs (it costs about 64 x L x L tests)."""

    AUTO = "auto"
    """On still images only (video frames keep the generator's grid unless re-framed)."""
    ON = "on"
    """On every sampled frame."""
    OFF = "off"
    """Never: only the reference alignment (and resized candidates) are decoded."""


def key_fingerprint(key: str | bytes) -> str:
    """A short public name for a key (the first 8 hex digits of its SHA-256), never the key."""
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    return hashlib.sha256(raw).hexdigest()[:8]


def keyed_mark_name(key: str | bytes) -> str:
    """The ``mark`` a keyed-mark evidence carries: ``keyed:<fingerprint>``."""
    return f"keyed:{key_fingerprint(key)}"


@dataclass(frozen=True)
class WatermarkOptions:
    """Which watermark detectors run, on which frames.

    Parameters
    ----------
    detectors
        Names from :data:`DETECTORS`. ``None`` means ``dwtdct``, plus ``keyed`` when keys are
        given. ``()`` runs none.
    keys
        Secret keys for the keyed mark; each gives its own evidence, named by
        :func:`key_fingerprint`.
    sampling
        Which frames to read (default :data:`DEFAULT_SAMPLING`).
    payloads
        dwtDct payload names to test (default: every known payload).
    crop_search
        When the dwtDct crop-robust search runs (:class:`CropSearch`).
    resize_search
        Also decode frames resized back to native generator sizes of the same aspect ratio
        (still images and the first frame of a clip).
    segment_seconds
        Timeline window length for the keyed mark.

    Raises
    ------
    ValueError
        A name or value is unknown or out of range; the message lists the allowed ones.
    """

    detectors: tuple[str, ...] | None = None
    keys: tuple[str, ...] = ()
    sampling: Sampling = DEFAULT_SAMPLING
    payloads: tuple[str, ...] | None = None
    crop_search: CropSearch = CropSearch.AUTO
    resize_search: bool = True
    segment_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.detectors is not None:
            unknown = [d for d in self.detectors if d not in DETECTORS]
            if unknown:
                raise ValueError(
                    f"unknown watermark detector {unknown[0]!r}; choose from {', '.join(DETECTORS)}"
                )
            if "keyed" in self.detectors and not self.keys:
                raise ValueError(
                    "the keyed detector needs at least one key (--key, --key-file or "
                    "$PROVENANCE_MARK_KEY)"
                )
        for key in self.keys:
            if not key:
                raise ValueError("a keyed-mark key must not be empty")
        if self.payloads is not None:
            for name in self.payloads:
                payload_by_name(name)  # raises with the known names
        object.__setattr__(self, "crop_search", CropSearch(self.crop_search))
        if not isinstance(self.sampling, Sampling):
            raise TypeError("sampling must be a Sampling (see Sampling.parse)")
        if not self.segment_seconds > 0:
            raise ValueError(f"segment_seconds must be positive, got {self.segment_seconds}")

    @property
    def active(self) -> tuple[str, ...]:
        """The detectors that will run."""
        if self.detectors is not None:
            return tuple(dict.fromkeys(self.detectors))
        return ("dwtdct", "keyed") if self.keys else ("dwtdct",)

    def not_checked(self, why: str) -> tuple[WatermarkEvidence, ...]:
        """One ``not_checked`` evidence per detector (and key) that would have run."""
        entries: list[tuple[str, str | None]] = [(d, None) for d in self.active if d != "keyed"]
        if "keyed" in self.active:
            entries += [("keyed", keyed_mark_name(key)) for key in self.keys]
        return tuple(
            WatermarkEvidence(detector=d, state=WatermarkState.NOT_CHECKED, mark=m, message=why)
            for d, m in entries
        )

    def chosen_payloads(self) -> tuple[Payload, ...]:
        """The dwtDct payloads to test."""
        if self.payloads is None:
            return PAYLOADS
        return tuple(payload_by_name(name) for name in dict.fromkeys(self.payloads))
