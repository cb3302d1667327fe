"""What the watermark detectors are asked to do: :class:`WatermarkOptions` and its parts.

Kept apart from :mod:`provenance.watermark.detect` (which decodes frames with numpy and
OpenCV) so that building and validating options, and importing :mod:`provenance`, stays light.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from provenance.errors import ArgumentError
from provenance.media.sampling import AUTO_EVENLY, Sampling, SamplingMode
from provenance.report import Detector, WatermarkEvidence, WatermarkState, to_plain
from provenance.watermark.keys import key_fingerprint, keyed_mark_name
from provenance.watermark.payloads import PAYLOADS, Payload, payload_by_name

__all__ = [
    "DEFAULT_SAMPLING",
    "CropSearch",
    "WatermarkOptions",
    "detector_names",
]

#: Frames sampled by default: short clips whole, longer ones every key frame plus 8 evenly
#: spaced frames (see :mod:`provenance.media.frame_targets`).
DEFAULT_SAMPLING = Sampling(SamplingMode.AUTO, AUTO_EVENLY)


class CropSearch(enum.StrEnum):
    """When the dwtDct crop-robust grid search runs (it costs about 64 x L x L tests)."""

    AUTO = "auto"
    """On still images only (video frames keep the generator's grid unless re-framed)."""
    ON = "on"
    """On every sampled frame."""
    OFF = "off"
    """Never: only the reference alignment (and resized candidates) are decoded."""


def _detector(name: object) -> Detector:
    try:
        return Detector(str(name))
    except ValueError:
        allowed = ", ".join(d.value for d in Detector)
        raise ArgumentError(f"unknown watermark detector {name!r}; choose from {allowed}") from None


def _payload(name: object) -> Payload:
    try:
        return payload_by_name(str(name))
    except ValueError:
        known = ", ".join(payload.name for payload in PAYLOADS)
        raise ArgumentError(f"unknown dwtDct payload {name!r}; choose from {known}") from None


def detector_names(names: Iterable[str]) -> tuple[Detector, ...] | None:
    """``--detector`` values (repeated or comma-separated; ``none`` runs none) as detectors;
    None when no value was given (the default detectors run)."""
    given = [part.strip().lower() for name in names for part in name.split(",") if part.strip()]
    if not given:
        return None
    return tuple(_detector(name) for name in given if name != "none")


@dataclass(frozen=True)
class WatermarkOptions:
    """Which watermark detectors run, on which frames.

    Parameters
    ----------
    detectors
        :class:`~provenance.report.Detector` members (or their names). ``None`` means
        ``dwtdct``, plus ``keyed`` when keys are given. ``()`` runs none.
    keys
        Secret keys for the keyed mark; each gives its own evidence, named by
        :func:`~provenance.watermark.keys.key_fingerprint`.
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

    detectors: tuple[Detector, ...] | None = None
    keys: tuple[str, ...] = ()
    sampling: Sampling = DEFAULT_SAMPLING
    payloads: tuple[str, ...] | None = None
    crop_search: CropSearch = CropSearch.AUTO
    resize_search: bool = True
    segment_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.detectors is not None:
            chosen = tuple(dict.fromkeys(_detector(d) for d in self.detectors))
            object.__setattr__(self, "detectors", chosen)
            if Detector.KEYED in chosen and not self.keys:
                raise ArgumentError(
                    "the keyed detector needs at least one key (--key, --key-file or "
                    "$PROVENANCE_MARK_KEY)"
                )
        object.__setattr__(self, "keys", tuple(self.keys))
        for key in self.keys:
            if not isinstance(key, str) or not key:
                raise ArgumentError("a keyed-mark key must be non-empty text")
        if self.payloads is not None:  # canonical names, each once
            names = tuple(dict.fromkeys(_payload(name).name for name in self.payloads))
            object.__setattr__(self, "payloads", names)
        try:
            object.__setattr__(self, "crop_search", CropSearch(self.crop_search))
        except ValueError:
            allowed = ", ".join(choice.value for choice in CropSearch)
            raise ArgumentError(
                f"crop_search must be one of {allowed}, got {self.crop_search!r}"
            ) from None
        if not isinstance(self.sampling, Sampling):
            raise ArgumentError("sampling must be a Sampling (see Sampling.parse)")
        if not self.segment_seconds > 0:
            raise ArgumentError(f"segment_seconds must be positive, got {self.segment_seconds}")

    @property
    def active(self) -> tuple[Detector, ...]:
        """The detectors that will run."""
        if self.detectors is not None:
            return self.detectors
        return (Detector.DWTDCT, Detector.KEYED) if self.keys else (Detector.DWTDCT,)

    def not_checked(self, why: str) -> tuple[WatermarkEvidence, ...]:
        """One ``not_checked`` evidence per detector (and key) that would have run; ``why``
        is the reason, without a "not checked" of its own."""
        entries: list[tuple[Detector, str | None]] = []
        for detector in self.active:
            if detector is Detector.KEYED:
                entries += [(detector, keyed_mark_name(key)) for key in self.keys]
            else:
                entries.append((detector, None))
        return tuple(
            WatermarkEvidence(detector=d, state=WatermarkState.NOT_CHECKED, mark=m, message=why)
            for d, m in entries
        )

    def chosen_payloads(self) -> tuple[Payload, ...]:
        """The dwtDct payloads to test."""
        if self.payloads is None:
            return PAYLOADS
        return tuple(payload_by_name(name) for name in dict.fromkeys(self.payloads))

    # ------------------------------------------------------------------ plain data

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, keys included (see :meth:`public`)."""
        data: dict[str, Any] = to_plain(self)
        return data

    def public(self) -> dict[str, Any]:
        """:meth:`to_dict` with each key replaced by its fingerprint."""
        return {**self.to_dict(), "keys": [key_fingerprint(key) for key in self.keys]}
