"""Read and validate Content Credentials (C2PA) with c2pa-python, offline, into evidence.

Integrity (signature and hard bindings) and trust (does the signer chain to a loaded list, and
which one) are decided separately. Every validation code is kept with a plain-language
explanation. A malformed manifest never aborts a check: it becomes ``CredentialsState.CORRUPT``
with the SDK's message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any, BinaryIO

from provenance.credentials import ai, codes
from provenance.credentials.trust import TrustMaterial, parse_utc
from provenance.media.bmff import is_fragmented_init
from provenance.report import (
    AIDeclaration,
    CredentialsEvidence,
    CredentialsState,
    Integrity,
    Signer,
    StatusKind,
    TrustSource,
    TrustStatus,
    ValidationCode,
)

__all__ = ["NOT_EMBEDDABLE_FAMILIES", "RECORDED_SCOPE", "read_credentials"]

#: Container families that cannot carry an embedded C2PA manifest (not an error).
NOT_EMBEDDABLE_FAMILIES = {
    "matroska": "Matroska/WebM",
    "mpegts": "MPEG-TS",
    "ogg": "Ogg",
}

#: Scope of validation codes a signer recorded for an ingredient when it was added.
RECORDED_SCOPE = "ingredient_recorded"

#: Thumbnails larger than this are not embedded in a report.
_THUMBNAIL_LIMIT = 2 * 1024 * 1024
#: The most pixels a thumbnail may declare before it is left out of the report.
_THUMBNAIL_PIXELS = 4096 * 4096
#: The MIME type of a thumbnail by its first bytes (for the common two).
_PICTURE_TYPES = {b"\xff\xd8": "image/jpeg", b"\x89P": "image/png"}
_REMOTE_URL = re.compile(r"(https?://\S+)")
_contexts: dict[tuple[int, str, TrustSource | None, bool], Any] = {}
_contexts_lock = threading.Lock()
_attributions: dict[tuple[Any, ...], TrustSource] = {}
_ATTRIBUTION_CACHE_SIZE = 4096


def _context(trust: TrustMaterial, only: TrustSource | None, fetch_remote: bool) -> Any:
    """A cached c2pa Context per process and trust setting (building one parses every anchor)."""
    import c2pa

    key = (os.getpid(), trust.fingerprint, only, fetch_remote)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            settings = trust.c2pa_settings(only=only, fetch_remote=fetch_remote)
            context = c2pa.Context.from_dict(settings)
            _contexts[key] = context
        return context


@contextlib.contextmanager
def _open_reader(
    path: Path,
    mime_type: str | None,
    context: Any,
    *,
    sidecar: Path | None,
    fragments: Sequence[Path],
) -> Iterator[Any]:
    """Open a c2pa Reader on the file (None when there is no manifest), closing everything."""
    import c2pa

    with contextlib.ExitStack() as stack:
        stream: BinaryIO = stack.enter_context(path.open("rb"))
        manifest_data = sidecar.read_bytes() if sidecar is not None else None
        reader = c2pa.Reader.try_create(
            mime_type or "", stream, manifest_data=manifest_data, context=context
        )
        if reader is None:
            yield None
            return
        stack.enter_context(reader)
        for fragment in fragments:
            stream.seek(0)
            with fragment.open("rb") as fragment_stream:
                reader.with_fragment(mime_type or "video/mp4", stream, fragment_stream)
        yield reader


def _codes(
    results: Mapping[str, Any] | None, status: Sequence[Any] | None
) -> tuple[ValidationCode, ...]:
    found: list[ValidationCode] = []

    def add(entries: Any, kind: StatusKind, scope: str) -> None:
        for entry in entries or []:
            code = str(entry.get("code", ""))
            found.append(
                ValidationCode(
                    code=code,
                    kind=kind,
                    explanation=codes.explain(code),
                    detail=entry.get("explanation"),
                    url=entry.get("url"),
                    scope=scope,
                )
            )

    if results:
        active = results.get("activeManifest") or {}
        add(active.get("success"), StatusKind.SUCCESS, "active_manifest")
        add(active.get("informational"), StatusKind.INFORMATIONAL, "active_manifest")
        add(active.get("failure"), StatusKind.FAILURE, "active_manifest")
        for delta in results.get("ingredientDeltas") or []:
            deltas = delta.get("validationDeltas") or {}
            add(deltas.get("success"), StatusKind.SUCCESS, "ingredient")
            add(deltas.get("informational"), StatusKind.INFORMATIONAL, "ingredient")
            add(deltas.get("failure"), StatusKind.FAILURE, "ingredient")
    elif status:
        add(status, StatusKind.FAILURE, "active_manifest")
    return tuple(found)


def _recorded_ingredient_failures(store: Mapping[str, Any]) -> tuple[ValidationCode, ...]:
    """Failures a signer recorded for an ingredient when it added it (ingredient.v3).

    They describe the ingredient's state at the time it was used, not this file's integrity:
    a file can be intact although it was made from an already-tampered ingredient.
    """
    found: list[ValidationCode] = []
    for manifest in (store.get("manifests") or {}).values():
        for ingredient in manifest.get("ingredients") or []:
            recorded = (ingredient.get("validation_results") or {}).get("activeManifest") or {}
            for entry in recorded.get("failure") or []:
                code = str(entry.get("code", ""))
                if code in codes.TRUST_ONLY_CODES:
                    continue
                found.append(
                    ValidationCode(
                        code=code,
                        kind=StatusKind.FAILURE,
                        explanation=(
                            f"Recorded when the ingredient '{ingredient.get('title')}' was added: "
                            + codes.explain(code)
                        ),
                        detail=entry.get("explanation"),
                        url=entry.get("url"),
                        scope=RECORDED_SCOPE,
                    )
                )
    return tuple(found)


def _integrity(
    failures: set[str], state: str | None, is_incomplete_init: Callable[[], bool]
) -> tuple[Integrity, str | None]:
    tampered = failures & codes.TAMPER_CODES
    if tampered and tampered <= codes.INCOMPLETE_CODES and is_incomplete_init():
        return Integrity.INCOMPLETE, (
            "This is a fragmented-MP4 init segment: its hash covers the media fragments, which "
            "were not given. Check it together with its fragments (--fragment)."
        )
    if tampered:
        return Integrity.TAMPERED, None
    if failures & codes.MALFORMED_CODES:
        return Integrity.MALFORMED, None
    unexplained = failures - codes.TRUST_ONLY_CODES - codes.SIGNER_INVALID_CODES
    if state == "Invalid" and not (failures & codes.SIGNER_INVALID_CODES):
        listed = ", ".join(sorted(unexplained)) or "no failure code given"
        return Integrity.MALFORMED, f"The validator reported the credentials invalid ({listed})."
    return Integrity.INTACT, None


def _expired_but_timestamped(
    reader: Any, active_label: str | None, validation: Sequence[ValidationCode]
) -> str | None:
    """The active signer certificate's notAfter when it has expired and the SDK accepted the
    signature through its timestamp (``claimSignature.insideValidity`` with
    ``timeStamp.validated``, no signer-invalid failure); None otherwise."""
    active = {(c.code, c.kind) for c in validation if c.scope == "active_manifest"}
    wanted = {"claimSignature.insideValidity", "timeStamp.validated"}
    if not {(code, StatusKind.SUCCESS) for code in wanted} <= active:
        return None
    if any((code, StatusKind.FAILURE) in active for code in codes.SIGNER_INVALID_CODES):
        return None
    try:  # the certificate's dates are only in the SDK's crJSON
        document = json.loads(reader.crjson())
    except Exception:  # a detail: never fail a check for it
        return None
    manifests = document.get("manifests") if isinstance(document, Mapping) else None
    if not isinstance(manifests, list):
        return None
    manifest = next(
        (m for m in manifests if isinstance(m, Mapping) and m.get("label") == active_label), None
    )
    signature = (manifest or {}).get("signature") or {}
    not_after = ((signature.get("certificateInfo") or {}).get("validity") or {}).get("notAfter")
    expires = parse_utc(not_after) if isinstance(not_after, str) else None
    return not_after if expires is not None and expires < dt.datetime.now(dt.UTC) else None


def _extra_stores(path: Path) -> tuple[ValidationCode, ...]:
    """Our failure code for a JPEG with more than one manifest store (defence in depth: the
    SDK validates the first and ignores the rest)."""
    from provenance.media.jpeg_stores import jpeg_stores

    found = jpeg_stores(path)
    if not found.extra:
        return ()
    return (
        ValidationCode(
            code=codes.EXTRA_STORE_CODE,
            kind=StatusKind.FAILURE,
            explanation=codes.explain(codes.EXTRA_STORE_CODE),
            detail=f"{found.stores} store(s), {found.repeated_packets} repeated JUMBF packet(s)",
        ),
    )


def _signer_trusted(validation: Sequence[ValidationCode]) -> bool:
    """Whether the SDK found the active manifest's signer on a loaded trust list (its
    ``signingCredential.trusted`` success), whatever happened to the content's hashes: the
    state says "Trusted" only when everything validates."""
    return any(
        c.code == "signingCredential.trusted"
        and c.kind is StatusKind.SUCCESS
        and c.scope == "active_manifest"
        for c in validation
    )


def _attribute_trust(
    path: Path,
    mime_type: str | None,
    trust: TrustMaterial,
    validation: Sequence[ValidationCode],
    signer: Signer | None,
    *,
    sidecar: Path | None,
    fragments: Sequence[Path],
) -> TrustSource:
    """Which loaded source made the signer trusted.

    The SDK says whether the match was among its system anchors (where the official list goes)
    or its user anchors (interim list and user anchors). Only when both of the latter are loaded
    does it take one more read, with the interim list alone, once per signing certificate.
    """
    sources = trust.sources
    if len(sources) == 1:
        return sources[0]
    detail = " ".join(
        c.detail or ""
        for c in validation
        if c.code == "signingCredential.trusted" and c.scope == "active_manifest"
    )
    user_side = [s for s in (TrustSource.INTERIM, TrustSource.USER) if s in sources]
    if "system_anchors" in detail and TrustSource.OFFICIAL in sources:
        return TrustSource.OFFICIAL
    if "user_anchors" in detail and len(user_side) == 1:
        return user_side[0]
    candidates = user_side if "user_anchors" in detail else list(sources)
    # Which anchor a certificate chains to depends on the certificate and the trust material
    # only, so the answer is remembered per signing certificate: one re-read per signer.
    key = (trust.fingerprint, *(astuple(signer) if signer is not None else ()))
    cached = _attributions.get(key) if signer is not None and signer.serial_number else None
    if cached is not None:
        return cached
    found = candidates[-1] if candidates else TrustSource.NONE
    for source in candidates[:-1]:
        context = _context(trust, source, False)
        with _open_reader(path, mime_type, context, sidecar=sidecar, fragments=fragments) as reader:
            if reader is not None and _signer_trusted(
                _codes(reader.get_validation_results(), None)
            ):
                found = source
                break
    if signer is not None and signer.serial_number:
        if len(_attributions) >= _ATTRIBUTION_CACHE_SIZE:
            _attributions.clear()
        _attributions[key] = found
    return found


def _remote_url(message: str) -> str | None:
    match = _REMOTE_URL.search(message)
    return match.group(1).rstrip(".,;)") if match else None


def read_credentials(
    path: Path,
    *,
    trust: TrustMaterial,
    mime_type: str | None = None,
    family: str | None = None,
    sidecar: Path | None = None,
    fragments: Sequence[Path] = (),
    fetch_remote: bool = False,
    thumbnail: bool = False,
) -> CredentialsEvidence:
    """Look for Content Credentials in ``path`` and validate them offline.

    Parameters
    ----------
    path
        The file to read.
    trust
        Trust material (see :func:`provenance.credentials.trust.load_trust`).
    mime_type, family
        What content sniffing found; decides the container handling.
    sidecar
        A detached ``.c2pa`` manifest store for this asset.
    fragments
        fMP4 media fragments that belong to this init segment.
    fetch_remote
        Allow fetching a remote manifest over the network. Off by default.
    thumbnail
        Also extract the active manifest's thumbnail into ``thumbnail_data`` (a ``data:``
        URI), when it has one.
    """
    import c2pa

    snapshot = trust.snapshot
    if family in NOT_EMBEDDABLE_FAMILIES and sidecar is None:
        return CredentialsEvidence(
            state=CredentialsState.NOT_EMBEDDABLE,
            trust_snapshot=snapshot,
            message=(
                f"C2PA cannot be embedded in {NOT_EMBEDDABLE_FAMILIES[family]} containers; "
                "credentials could only travel as a sidecar .c2pa file (--sidecar). "
                "This is not an error, and it proves nothing about the content."
            ),
        )
    if family == "fmp4_fragment":
        return CredentialsEvidence(
            state=CredentialsState.UNSUPPORTED,
            trust_snapshot=snapshot,
            message=(
                "This is a bare fMP4 media fragment: it cannot be verified on its own. Check its "
                "init segment and pass the fragments with --fragment."
            ),
        )
    reader_mime = "application/c2pa" if family == "c2pa" else mime_type
    context = _context(trust, None, fetch_remote)
    try:
        with _open_reader(
            path, reader_mime, context, sidecar=sidecar, fragments=fragments
        ) as reader:
            if reader is None:
                return CredentialsEvidence(
                    state=CredentialsState.ABSENT,
                    trust_snapshot=snapshot,
                    message=(
                        "No Content Credentials found. Most media carries none, and platforms "
                        "often strip them: this proves nothing about the content."
                    ),
                )
            store: dict[str, Any] = json.loads(reader.json())
            # the store JSON already carries the state and results: no second native call
            state = store.get("validation_state") or reader.get_validation_state()
            results = store.get("validation_results")
            embedded = bool(reader.is_embedded())
            remote_url = None if embedded else reader.get_remote_url()
            active_label = store.get("active_manifest")
            active: Mapping[str, Any] = (store.get("manifests") or {}).get(active_label) or {}
            thumbnail_ref = active.get("thumbnail")
            thumbnail_ref = thumbnail_ref if isinstance(thumbnail_ref, Mapping) else None
            thumbnail_data = (
                _thumbnail_data(reader, thumbnail_ref) if thumbnail and thumbnail_ref else None
            )
            validation = _codes(results, store.get("validation_status"))
            expired_at = _expired_but_timestamped(reader, active_label, validation)
    except c2pa.C2paError as exc:
        return _from_error(exc, snapshot, fetch_remote)
    except OSError as exc:
        return CredentialsEvidence(
            state=CredentialsState.NOT_CHECKED,
            trust_snapshot=snapshot,
            message=f"Could not read the file for the credentials check ({exc.strerror or exc}).",
        )

    validation += _recorded_ingredient_failures(store)
    if family == "jpeg" and sidecar is None:
        validation += _extra_stores(path)
    failures = {
        c.code for c in validation if c.kind is StatusKind.FAILURE and c.scope != RECORDED_SCOPE
    }
    integrity, note = _integrity(
        failures, state, lambda: not fragments and family == "bmff" and is_fragmented_init(path)
    )
    if family == "c2pa" and sidecar is None:
        integrity = Integrity.INCOMPLETE
        note = (
            "This is a detached manifest store: its signature was checked, but the content it "
            "describes is not here. Check the asset itself with --sidecar this-file."
        )
    locations = ai.locate_manifests(store)
    declaration, signals = ai.classify_store(store, locations)
    history = ai.summarise_manifests(store, locations)
    active_summary = next((m for m in history if m.label == active_label), None)
    # the active signer's own codes decide its trust: an ingredient's expired certificate is
    # history, and a failed content hash does not make a trusted signer untrusted
    signer_failures = {
        c.code for c in validation if c.scope == "active_manifest" and c.kind is StatusKind.FAILURE
    }
    if signer_failures & codes.SIGNER_INVALID_CODES:
        trust_status = TrustStatus.SIGNER_INVALID
        source = TrustSource.NONE
    elif state == "Trusted" or _signer_trusted(validation):
        trust_status = TrustStatus.TRUSTED
        source = _attribute_trust(
            path,
            reader_mime,
            trust,
            validation,
            active_summary.signer if active_summary else None,
            sidecar=sidecar,
            fragments=fragments,
        )
    else:
        trust_status = TrustStatus.UNTRUSTED
        source = TrustSource.NONE

    return CredentialsEvidence(
        state=CredentialsState.PRESENT,
        integrity=integrity,
        trust=trust_status,
        trust_source=source,
        validation_state=state,
        ai_declaration=declaration,
        ai_signals=signals,
        signer=active_summary.signer if active_summary else None,
        claim_generator=active_summary.claim_generator if active_summary else None,
        title=active.get("title"),
        active_manifest=active_label,
        manifest_count=len(store.get("manifests") or {}),
        history=history,
        validation_codes=validation,
        soft_bindings=ai.soft_bindings(store),
        remote_manifest_url=remote_url or None,
        embedded=embedded,
        thumbnail=str(thumbnail_ref.get("identifier")) if thumbnail_ref else None,
        thumbnail_data=thumbnail_data,
        trust_snapshot=snapshot,
        message=note,
        certificate_expired_at=expired_at,
    )


def _thumbnail_data(reader: Any, reference: Mapping[str, Any]) -> str | None:
    """The thumbnail a manifest references, as a ``data:`` URI; None when it cannot be read
    (a missing picture never fails a check)."""
    import io

    import c2pa

    from provenance.media.declared import IMAGE_HEADER_BYTES, declared_size
    from provenance.media.preview import data_uri

    identifier = reference.get("identifier")
    if not identifier:
        return None
    mime_type = str(reference.get("format") or "image/jpeg")
    if "/" not in mime_type:
        mime_type = f"image/{mime_type}"
    buffer = io.BytesIO()
    try:
        reader.resource_to_stream(str(identifier), buffer)
    except c2pa.C2paError:
        return None
    data = buffer.getvalue()
    if not data or len(data) > _THUMBNAIL_LIMIT:
        return None
    size = declared_size(data[:IMAGE_HEADER_BYTES])
    if size is None or not 0 < size[0] * size[1] <= _THUMBNAIL_PIXELS:
        # not a JPEG, PNG, WebP, GIF or BMP picture, or a bomb whatever shows it (a browser,
        # the page) would decode
        return None
    mime_type = _PICTURE_TYPES.get(data[:2], mime_type)  # what the bytes are, not the label
    return data_uri(data, mime_type)


def _from_error(exc: Exception, snapshot: Any, fetch_remote: bool) -> CredentialsEvidence:
    import c2pa

    message = str(exc).strip() or type(exc).__name__
    is_remote = isinstance(exc, c2pa.C2paError.RemoteManifest) or message.startswith("Remote:")
    if is_remote or "remote manifest" in message.lower():
        url = _remote_url(message)
        if fetch_remote:
            note = f"A remote manifest is referenced ({url}) but could not be fetched: {message}"
        else:
            note = (
                f"The file points to a remote manifest at {url}; it was not fetched (checks are "
                "offline by default). Use --fetch-remote to download and verify it, or pass a "
                "downloaded copy with --sidecar."
            )
        return CredentialsEvidence(
            state=CredentialsState.REMOTE,
            ai_declaration=AIDeclaration.UNKNOWN,  # the manifest is elsewhere, unread
            remote_manifest_url=url,
            embedded=False,
            trust_snapshot=snapshot,
            message=note,
        )
    if isinstance(exc, c2pa.C2paError.NotSupported):
        return CredentialsEvidence(
            state=CredentialsState.UNSUPPORTED,
            trust_snapshot=snapshot,
            message=f"The C2PA library cannot read this format ({message}).",
        )
    if isinstance(exc, c2pa.C2paError.Other) and "asset could not be parsed" in message.lower():
        # the container itself is damaged (e.g. a truncated JPEG): whether it carries
        # credentials is unknown, so say "could not check", never "present". The SDK raises
        # the same Other class for broken manifests (no_alg.jpg: "unknown algorithm"), so only
        # its message tells the two apart.
        return CredentialsEvidence(
            state=CredentialsState.NOT_CHECKED,
            trust_snapshot=snapshot,
            message=(
                "Content Credentials could not be looked for: the C2PA library cannot parse "
                f"this file's structure ({message}). The file is probably damaged or truncated."
            ),
        )
    return CredentialsEvidence(
        state=CredentialsState.CORRUPT,
        integrity=Integrity.MALFORMED,
        trust_snapshot=snapshot,
        ai_declaration=AIDeclaration.NONE,
        message=f"Content Credentials are present but could not be read: {message}",
    )
