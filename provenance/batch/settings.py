"""What a scan checks with: :class:`ScanSettings`, plain data that travels to worker processes.

A :class:`~provenance.check.CheckOptions` holds loaded trust material and paths; a scan's
workers (local processes or Dask workers on other machines) need something they can rebuild
it from. :class:`ScanSettings` is that: JSON-serialisable, validated, and with a
:meth:`~ScanSettings.fingerprint` that names what a result depends on (options, trust
material, tool and engine versions), so the results store can tell a result that still holds
from one made under other settings. Keys are part of the settings (workers need them) but
appear in the fingerprint and the store only as their SHA-256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from provenance.media.sampling import Sampling
from provenance.report import TrustSource
from provenance.watermark.options import (
    DEFAULT_SAMPLING,
    CropSearch,
    WatermarkOptions,
    key_fingerprint,
)

if TYPE_CHECKING:
    from provenance.check import CheckOptions
    from provenance.credentials.trust import TrustMaterial

__all__ = ["ScanSettings", "lists_as_tuples"]


def lists_as_tuples(data: dict[str, Any]) -> dict[str, Any]:
    """JSON data for a frozen dataclass: its lists back as tuples."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in data.items()}


@dataclass(frozen=True)
class ScanSettings:
    """The check settings of a scan, as plain data (see :class:`~provenance.check.CheckOptions`).

    Parameters
    ----------
    trust_dir
        Trust directory (default: the installed one).
    trust_sources
        Trust sources to use; ``None`` means every installed one, ``()`` none.
    anchors
        Extra PEM anchor files (paths as the workers will see them).
    credentials_only
        Check Content Credentials only (no media probe, no watermark detection).
    fetch_remote
        Allow fetching remote manifests over the network.
    detectors, keys, sampling, max_frames, crop_search, resize_search
        Watermark options, as for ``provenance check``.
    """

    trust_dir: str | None = None
    trust_sources: tuple[str, ...] | None = None
    anchors: tuple[str, ...] = ()
    credentials_only: bool = False
    fetch_remote: bool = False
    detectors: tuple[str, ...] | None = None
    keys: tuple[str, ...] = field(default=(), repr=False)
    sampling: str = str(DEFAULT_SAMPLING)
    max_frames: int | None = None
    crop_search: str = CropSearch.AUTO.value
    resize_search: bool = True

    def __post_init__(self) -> None:
        if self.trust_sources is not None:
            for name in self.trust_sources:
                TrustSource(name)  # raises with the allowed values
        self.watermark_options()  # validates detectors, keys, sampling and search choices

    def watermark_options(self) -> WatermarkOptions:
        """The watermark options these settings describe."""
        return WatermarkOptions(
            detectors=self.detectors,
            keys=self.keys,
            sampling=Sampling.parse(self.sampling, max_frames=self.max_frames),
            crop_search=CropSearch(self.crop_search),
            resize_search=self.resize_search,
        )

    def check_options(self) -> CheckOptions:
        """Options for :func:`~provenance.check.check`, with the trust material loaded."""
        from provenance.check import CheckOptions

        options = CheckOptions(
            trust_dir=Path(self.trust_dir) if self.trust_dir else None,
            trust_sources=(
                None
                if self.trust_sources is None
                else tuple(TrustSource(name) for name in self.trust_sources)
            ),
            extra_anchors=tuple(Path(anchor) for anchor in self.anchors),
            fetch_remote=self.fetch_remote,
            credentials_only=self.credentials_only,
            watermarks=self.watermark_options(),
        )
        return dataclasses.replace(options, trust=options.load_trust())

    def to_json(self) -> str:
        """JSON text (keys included: this travels to workers, never into reports)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ScanSettings:
        """Parse :meth:`to_json` output."""
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScanSettings:
        """Settings from :func:`dataclasses.asdict`-style data (lists become tuples)."""
        return cls(**lists_as_tuples(data))

    def public(self) -> dict[str, Any]:
        """The settings with each key replaced by its fingerprint (for stores and reports)."""
        data = asdict(self)
        data["keys"] = [key_fingerprint(key) for key in self.keys]
        return data

    def fingerprint(self, trust: TrustMaterial) -> str:
        """SHA-256 of what a result depends on: settings, trust material and versions.

        Two checks of the same bytes with the same fingerprint give the same evidence, so a
        stored result can be reused. Changing an option, a trust list, or upgrading this tool
        or an engine (c2pa, FFmpeg, OpenCV) changes it.
        """
        from provenance.check import engine_versions

        digest = hashlib.sha256()
        material = {
            "settings": {**self.public(), "keys": sorted(_key_digest(k) for k in self.keys)},
            "versions": engine_versions(),
            "trust": {
                "anchors": {str(source): pem for source, pem in sorted(trust.anchors.items())},
                "allowed": trust.allowed_pem,
                "eku": trust.eku_config,
            },
        }
        digest.update(json.dumps(material, sort_keys=True).encode("utf-8"))
        return digest.hexdigest()


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
