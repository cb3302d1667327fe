"""Sign media files with C2PA Content Credentials. For demos and tests.

The checker itself never signs anything; this module exists so the test suite and the demo
corpus can make files whose credentials are known: AI-declared or capture-declared, with or
without history, later tampered with :mod:`provenance.testing.tamper`. Pair it with the
throw-away certificates of :func:`provenance.testing.pki.generate_pki`.

Measured with c2pa-python 0.38.1 (c2pa-rs 0.91.3):

* A ``c2pa.created`` action must carry a ``digitalSourceType`` in the default (v2) claim;
  without one, c2pa refuses to sign ("c2pa.created action must have a digitalSourceType").
  :func:`sign_file` therefore writes a v1 claim when ``digital_source_type`` is ``None``, which
  c2pa accepts and validates.
* ``c2pa.opened`` (and any action that is not ``c2pa.created``) needs a parent ingredient:
  the first action must be created or opened, and opened must point at an ingredient.
* c2pa refuses to sign with a certificate that is not valid at signing time
  ("the certificate was not valid at time of signing").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provenance._version import __version__
from provenance.errors import ArgumentError
from provenance.testing.pki import PKIFiles

__all__ = ["MIME_TYPES", "mime_type_for", "sign_file"]

#: File suffix -> MIME type used when signing.
MIME_TYPES: dict[str, str] = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".m4v": "video/x-m4v",
    ".m4a": "audio/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
}

_TRAINED_ALGORITHMIC_MEDIA = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
)
_PARENT_LABEL = "parent"
_OFFLINE_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}


def mime_type_for(path: Path) -> str:
    """Return the MIME type :func:`sign_file` uses for ``path`` (from its suffix)."""
    suffix = Path(path).suffix.lower()
    try:
        return MIME_TYPES[suffix]
    except KeyError:
        raise ArgumentError(
            f"cannot tell the MIME type of {path} from its suffix {suffix!r}; "
            f"pass mime_type= or use one of {sorted(MIME_TYPES)}"
        ) from None


def sign_file(
    source: Path,
    destination: Path,
    *,
    pki: PKIFiles,
    digital_source_type: str | None = _TRAINED_ALGORITHMIC_MEDIA,
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
        Bad arguments, or c2pa refused to sign (the message names the file and c2pa's reason).
    """
    import c2pa

    source = Path(source)
    destination = Path(destination)
    if not source.is_file():
        raise ArgumentError(f"sign_file: source {source} is not a file")
    if destination.resolve() == source.resolve():
        raise ArgumentError(f"sign_file: destination must differ from source ({source})")
    if parent is not None and not Path(parent).is_file():
        raise ArgumentError(f"sign_file: parent {parent} is not a file")
    if thumbnail is not None and not Path(thumbnail).is_file():
        raise ArgumentError(f"sign_file: thumbnail {thumbnail} is not a file")
    if action != "c2pa.created" and parent is None:
        raise ArgumentError(
            f"sign_file: action {action!r} needs parent= (the first action of a manifest must be "
            "c2pa.created, or c2pa.opened on a parent ingredient)"
        )
    mime = mime_type or mime_type_for(source)

    manifest = _manifest(
        action=action,
        digital_source_type=digital_source_type,
        software_agent=software_agent,
        title=title or destination.name,
        claim_generator=claim_generator,
        extra_assertions=extra_assertions,
    )
    if thumbnail is not None:
        manifest["thumbnail"] = {
            "format": mime_type_for(Path(thumbnail)),
            "identifier": Path(thumbnail).name,
        }
    algorithm = getattr(c2pa.C2paSigningAlg, pki.algorithm.upper(), None)
    if algorithm is None:
        raise ArgumentError(
            f"sign_file: c2pa does not know the signing algorithm {pki.algorithm!r}"
        )
    try:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                algorithm, pki.chain_pem.read_bytes(), pki.key_pem.read_bytes(), None
            )
        )
        context = c2pa.Context.from_dict(_OFFLINE_SETTINGS)
        with c2pa.Builder(manifest, context=context) as builder:
            if parent is not None:
                with Path(parent).open("rb") as parent_stream:
                    builder.add_ingredient(
                        {
                            "title": Path(parent).name,
                            "relationship": "parentOf",
                            "label": _PARENT_LABEL,
                        },
                        mime_type_for(Path(parent)),
                        parent_stream,
                    )
            if thumbnail is not None:
                with Path(thumbnail).open("rb") as thumbnail_stream:
                    builder.add_resource(Path(thumbnail).name, thumbnail_stream)
            with source.open("rb") as source_stream, destination.open("w+b") as output:
                store = builder.sign(signer, mime, source_stream, output)
    except c2pa.C2paError as error:
        destination.unlink(missing_ok=True)
        raise ArgumentError(f"sign_file: c2pa could not sign {source}: {error}") from error
    if store_to is not None:
        Path(store_to).write_bytes(store)
    return destination


def _manifest(
    *,
    action: str,
    digital_source_type: str | None,
    software_agent: str | None,
    title: str,
    claim_generator: str,
    extra_assertions: Sequence[dict[str, Any]],
) -> dict[str, Any]:
    main: dict[str, Any] = {"action": action}
    if digital_source_type is not None:
        main["digitalSourceType"] = digital_source_type
    if software_agent is not None:
        main["softwareAgent"] = {"name": software_agent}
    opened_parent = {"ingredientIds": [_PARENT_LABEL]}
    actions: list[dict[str, Any]]
    if action == "c2pa.created":
        actions = [main]
    elif action == "c2pa.opened":
        actions = [{**main, "parameters": opened_parent}]
    else:
        actions = [{"action": "c2pa.opened", "parameters": opened_parent}, main]
    manifest: dict[str, Any] = {
        "title": title,
        "claim_generator_info": [{"name": claim_generator, "version": __version__}],
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": actions}},
            *[dict(assertion) for assertion in extra_assertions],
        ],
    }
    if digital_source_type is None and action == "c2pa.created":
        # v2 claims require a digitalSourceType on c2pa.created; v1 claims do not.
        manifest["claim_version"] = 1
    # Round-trip through JSON: a clear error here beats an opaque one from the native side.
    try:
        return dict(json.loads(json.dumps(manifest)))
    except (TypeError, ValueError) as error:
        raise ArgumentError(
            f"sign_file: extra_assertions are not JSON-serialisable: {error}"
        ) from error
