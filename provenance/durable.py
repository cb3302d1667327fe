"""Durable Content Credentials: mark a file with an identifier, sign it declaring that
identifier as a soft binding, keep the manifest store in a repository.

Platforms strip credentials when they re-encode; the mark stays in the pixels. A checker that
reads the identifier (with the key, or through a resolution service that holds it) finds the
manifest again in the repository (:mod:`provenance.repository`).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from provenance.credentials.signing import (
    TRAINED_ALGORITHMIC_MEDIA,
    SignedFile,
    sign_media,
)
from provenance.errors import ArgumentError
from provenance.repository import ManifestRepository
from provenance.watermark import identifier as ids
from provenance.watermark.keyed import DEFAULT_PSNR
from provenance.watermark.marking import mark_media

__all__ = ["DurableFile", "new_identifier", "sign_durable"]


@dataclass(frozen=True)
class DurableFile:
    """What :func:`sign_durable` made."""

    signed: SignedFile
    identifier: int | None
    """The identifier the mark carries (None when the file was signed without a mark)."""
    binding_value: str | None
    """The identifier as declared in the manifest's ``c2pa.soft-binding`` assertion."""
    repository: Path | None


def new_identifier() -> int:
    """A random 64-bit identifier (from the operating system's secure generator)."""
    return secrets.randbits(ids.IDENTIFIER_BITS)


def sign_durable(
    source: Path,
    destination: Path,
    *,
    chain_pem: bytes,
    private_key_pem: bytes,
    mark_key: str | None = None,
    identifier: int | None = None,
    psnr: float = DEFAULT_PSNR,
    repository: Path | None = None,
    added_by: str = "provenance sign",
    digital_source_type: str | None = TRAINED_ALGORITHMIC_MEDIA,
    software_agent: str | None = None,
    title: str | None = None,
    ingredients: Sequence[Path] = (),
    timestamp_url: str | None = None,
) -> DurableFile:
    """Sign ``source`` into ``destination``; with ``mark_key``, mark it with an identifier
    first (a random one unless given) and declare the identifier as a soft binding; with
    ``repository``, keep the manifest store there.

    A marked video is written as H.264 (CRF 18) in ``destination``'s container; a marked
    image in ``destination``'s format. Raises :class:`~provenance.errors.ArgumentError`,
    :class:`~provenance.credentials.signing.SigningError`,
    :class:`~provenance.errors.MediaError` or
    :class:`~provenance.repository.RepositoryError`. The marked intermediate is always removed;
    when only keeping the manifest fails, the signed ``destination`` stays (it is complete).
    """
    source, destination = Path(source), Path(destination)
    if destination.resolve() == source.resolve():
        raise ArgumentError(f"the destination must differ from the source ({source})")
    if identifier is not None and mark_key is None:
        raise ArgumentError("an identifier is carried by the mark: give the mark key too")
    value = None
    with tempfile.TemporaryDirectory(prefix="provenance-mark-") as work:
        signing = source
        if mark_key is not None:
            identifier = ids.validate_identifier(
                new_identifier() if identifier is None else identifier
            )
            value = ids.binding_value(identifier)
            signing = Path(work) / f"marked{destination.suffix.lower()}"
            mark_media(source, signing, mark_key, identifier=identifier, psnr=psnr)
        signed = sign_media(
            signing,
            destination,
            chain_pem=chain_pem,
            private_key_pem=private_key_pem,
            digital_source_type=digital_source_type,
            software_agent=software_agent,
            title=title or destination.name,
            soft_bindings=[(ids.ALGORITHM, value)] if value is not None else (),
            ingredients=ingredients,
            timestamp_url=timestamp_url,
        )
    return DurableFile(signed, identifier, value, _keep(signed, repository, added_by))


def _keep(signed: SignedFile, repository: Path | None, added_by: str) -> Path | None:
    if repository is None:
        return None
    with ManifestRepository(repository) as repo:
        repo.add(signed.store, added_by=added_by)
    return repository
