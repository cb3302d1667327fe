"""How to check: :class:`CheckOptions`, the one options model of every entry point.

``check``, ``check_bytes``, ``scan`` (local workers, Dask, inline), the command line and the
web page all describe a check with this class. It crosses process and cluster boundaries as
plain data (:meth:`CheckOptions.to_dict` / :meth:`CheckOptions.from_dict`), and it names what a
result depends on (:meth:`CheckOptions.fingerprint`), so the scan's results store can tell a
result that still holds from one made under other options. Keys travel to workers with the
options but appear in stores and reports only as fingerprints (:meth:`CheckOptions.public`).

Kept numpy-free: building and validating options never loads an engine.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.credentials.trust import TrustMaterial, load_trust
from provenance.errors import ArgumentError, ProvenanceError
from provenance.report import TrustSource, from_plain, to_plain
from provenance.watermark.options import WatermarkOptions

__all__ = ["CheckOptions"]


def _trust_source(name: object) -> TrustSource:
    try:
        return TrustSource(str(name))
    except ValueError:
        allowed = ", ".join(source.value for source in TrustSource)
        raise ArgumentError(f"unknown trust source {name!r}; choose from {allowed}") from None


def _refuse_unknown(kind: type, data: Mapping[str, Any], what: str) -> None:
    known = {f.name for f in dataclasses.fields(kind) if f.metadata.get("plain", True)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ArgumentError(f"unknown {what} {unknown[0]!r}; known: {', '.join(sorted(known))}")


@dataclass(frozen=True)
class CheckOptions:
    """How to check. The defaults are offline, with every trust list that is installed.

    Raises
    ------
    ValueError
        A value is out of range or of the wrong kind; the message names it.
    """

    trust_dir: Path | None = None
    """Trust directory (default: ``$PROVENANCE_TRUST_DIR`` or the user data directory)."""
    trust_sources: tuple[TrustSource, ...] | None = None
    """Which trust sources to use; ``None`` means all installed, ``()`` means none."""
    extra_anchors: tuple[Path, ...] = ()
    """PEM files of extra user anchors for this check."""
    sidecar: Path | None = None
    """A detached ``.c2pa`` manifest store for the asset (one file: a scan of several files
    with a sidecar is refused)."""
    fragments: tuple[Path, ...] = ()
    """fMP4 fragments that belong to the init segment being checked (one file, as ``sidecar``)."""
    fetch_remote: bool = False
    """Fetch remote manifests over the network (off: checks are offline by default)."""
    credentials_only: bool = False
    """Check Content Credentials only: skip the media probe and watermark detection."""
    watermarks: WatermarkOptions = field(default_factory=WatermarkOptions)
    """Which watermark detectors run, on which frames (see :class:`WatermarkOptions`)."""
    repository: Path | None = None
    """A manifest repository (SQLite file) to recover stripped credentials from, by the
    identifiers a keyed mark carries (offline; see :mod:`provenance.repository.recover`)."""
    resolve_url: str | None = None
    """A Soft Binding Resolution API (base URL) asked for the manifests of those identifiers:
    network use, only when given, named in the report."""
    previews: bool = False
    """Embed small pictures in the report as ``data:`` URIs: the credential thumbnail and each
    watermark's strongest frame (for the web page and the HTML evidence report; 20-400 KB per
    picture, so off for scans)."""
    trust: TrustMaterial | None = field(
        default=None, compare=False, repr=False, metadata={"plain": False}
    )
    """Already-loaded trust material (skips loading; useful for many checks). Not part of the
    plain data: a worker loads its own from the fields above."""

    def __post_init__(self) -> None:
        if self.resolve_url is not None and not str(self.resolve_url).startswith(
            ("http://", "https://")
        ):
            raise ArgumentError(
                f"resolve_url must be an http:// or https:// URL, got {self.resolve_url!r}"
            )
        for name in ("trust_dir", "sidecar", "repository"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        object.__setattr__(self, "extra_anchors", tuple(Path(p) for p in self.extra_anchors))
        object.__setattr__(self, "fragments", tuple(Path(p) for p in self.fragments))
        if self.trust_sources is not None:
            object.__setattr__(
                self, "trust_sources", tuple(_trust_source(s) for s in self.trust_sources)
            )
        if not isinstance(self.watermarks, WatermarkOptions):
            raise ArgumentError("watermarks must be a WatermarkOptions")

    @property
    def describes_one_file(self) -> bool:
        """True when these options name material of one particular file (a sidecar or
        fragments), so they cannot apply to a batch of files."""
        return self.sidecar is not None or bool(self.fragments)

    def load_trust(self) -> TrustMaterial:
        """The trust material these options describe (loaded on each call unless given)."""
        if self.trust is not None:
            return self.trust
        return load_trust(
            self.trust_dir, sources=self.trust_sources, extra_anchors=self.extra_anchors
        )

    def with_trust(self) -> CheckOptions:
        """These options with their trust material loaded, for many checks in a row.

        Raises
        ------
        TrustListError
            A trust anchor file or the trust directory cannot be used.
        """
        if self.trust is not None:
            return self
        return dataclasses.replace(self, trust=self.load_trust())

    # ------------------------------------------------------------------ plain data

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, keys included: for workers, never for reports (see :meth:`public`)."""
        data: dict[str, Any] = to_plain(self)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckOptions:
        """Options from :meth:`to_dict` data (missing names take their defaults).

        Raises
        ------
        ValueError
            A name is unknown (data from another version) or a value invalid.
        """
        _refuse_unknown(cls, data, "check option")
        _refuse_unknown(WatermarkOptions, data.get("watermarks", {}), "watermark option")
        try:
            options: CheckOptions = from_plain(cls, data)
        except ProvenanceError:
            raise
        except (TypeError, ValueError, AttributeError) as exc:  # a value of the wrong shape
            raise ArgumentError(f"check options that cannot be read: {exc}") from exc
        return options

    def public(self) -> dict[str, Any]:
        """:meth:`to_dict` with each key replaced by its public fingerprint (for stores)."""
        data = self.to_dict()
        data["watermarks"] = self.watermarks.public()
        return data

    def fingerprint(self, trust: TrustMaterial) -> str:
        """SHA-256 of what a result depends on: options, trust material and versions.

        Two checks of the same bytes with the same fingerprint give the same evidence, so a
        stored result can be reused. Changing an option, a trust list, or upgrading this tool
        or an engine (c2pa, FFmpeg, OpenCV) changes it. Keys count by their SHA-256.
        """
        from provenance._version import engine_versions

        options = self.public()
        options["watermarks"]["keys"] = sorted(
            hashlib.sha256(key.encode("utf-8")).hexdigest() for key in self.watermarks.keys
        )
        material = {
            "options": options,
            "versions": engine_versions(frames=not self.credentials_only),
            "trust": {
                "anchors": {str(source): pem for source, pem in sorted(trust.anchors.items())},
                "allowed": trust.allowed_pem,
                "eku": trust.eku_config,
            },
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode("utf-8")).hexdigest()
