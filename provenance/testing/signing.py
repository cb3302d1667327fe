"""Sign media files with C2PA Content Credentials, with the throw-away certificates of
:func:`provenance.testing.pki.generate_pki`. For demos and tests: the test suite and the demo
corpus make files whose credentials are known (AI-declared or capture-declared, with or
without history, later tampered with :mod:`provenance.testing.tamper`). The signing itself is
the library's (:mod:`provenance.credentials.signing`, behind ``provenance sign``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provenance.credentials.signing import (
    MIME_TYPES,
    TRAINED_ALGORITHMIC_MEDIA,
    mime_type_for,
    sign_media,
)
from provenance.testing.pki import PKIFiles

__all__ = ["MIME_TYPES", "mime_type_for", "sign_file"]


def sign_file(
    source: Path,
    destination: Path,
    *,
    pki: PKIFiles,
    digital_source_type: str | None = TRAINED_ALGORITHMIC_MEDIA,
    action: str = "c2pa.created",
    software_agent: str | None = None,
    title: str | None = None,
    claim_generator: str = "provenance-checker demo signer",
    mime_type: str | None = None,
    parent: Path | None = None,
    extra_assertions: Sequence[dict[str, Any]] = (),
    thumbnail: Path | None = None,
    store_to: Path | None = None,
) -> Path:
    """Embed a signed C2PA manifest in a copy of ``source``, written to ``destination``.

    Parameters
    ----------
    source
        File to sign; it is only read.
    destination
        Where the signed copy goes (overwritten). Must differ from ``source``.
    pki
        Certificate chain and key to sign with (see
        :func:`~provenance.testing.pki.generate_pki`).
    digital_source_type
        IPTC/C2PA digital source type URI put on the main action (``None``: no source type;
        a v1 claim is then written so that ``c2pa.created`` stays acceptable).
    action
        The main action. ``c2pa.created`` needs no parent. ``c2pa.opened`` and any other
        action (such as ``c2pa.edited``) need ``parent``: other actions are written after a
        ``c2pa.opened`` action that points at the parent.
    software_agent
        Name of the tool that performed the action (``softwareAgent``), if any.
    title
        Manifest title (default: the destination file name).
    claim_generator
        Name recorded in ``claim_generator_info``.
    mime_type
        MIME type of ``source`` (default: from the suffix, see :data:`MIME_TYPES`).
    parent
        A file (signed or not) added as the ``parentOf`` ingredient; its own manifest, if any,
        is carried into the new store, so the result has a history.
    extra_assertions
        More assertions (``{"label": ..., "data": ...}`` dicts) to add as they are.
    thumbnail
        A JPEG or PNG picture stored as the manifest's thumbnail (the C2PA library makes one
        itself for still images, never for video).
    store_to
        Also write the manifest store itself (what a manifest repository keeps) to this file.

    Returns
    -------
    Path
        ``destination``.

    Raises
    ------
    ValueError
        Bad arguments, or the key, certificate or c2pa refused to sign (the message names the
        file and the reason).
    """
    signed = sign_media(
        source,
        destination,
        chain_pem=pki.chain_pem.read_bytes(),
        private_key_pem=pki.key_pem.read_bytes(),
        digital_source_type=digital_source_type,
        action=action,
        software_agent=software_agent,
        title=title,
        claim_generator=claim_generator,
        extra_assertions=extra_assertions,
        parent=parent,
        thumbnail=thumbnail,
        mime_type=mime_type,
    )
    if store_to is not None:
        Path(store_to).write_bytes(signed.store)
    return destination
