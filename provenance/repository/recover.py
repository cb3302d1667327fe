"""Recover a file's stripped Content Credentials by the identifiers its watermark carries.

Each identifier (a soft binding: algorithm, value) is looked up in a local repository
(offline) and/or a Soft Binding Resolution API (``--resolve URL``: the only network use, and
only when asked). A manifest store that comes back stands for this file only if

1. it declares that very soft binding (else it describes another asset: rejected), and
2. its claim signature validates (c2pa-python, the same trust lists as embedded credentials).

Its hard binding (the content hash) is then checked against the file: after any re-encoding it
no longer matches, which is reported as "the content changed since signing", not as
tampering, since the identifier read from the pixels ties the file to the manifest.
"""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from provenance.credentials import codes
from provenance.credentials.ai import soft_bindings
from provenance.credentials.reader import RECORDED_SCOPE, read_credentials
from provenance.credentials.trust import TrustMaterial
from provenance.errors import ProvenanceError
from provenance.report import (
    CredentialsEvidence,
    CredentialsState,
    Integrity,
    RecoveredCredentials,
    RecoveryState,
    StatusKind,
    TrustSource,
    TrustStatus,
)
from provenance.repository.store import (
    MAX_STORE_BYTES,
    ManifestRepository,
    RepositoryError,
    read_manifest_store,
)

__all__ = ["RESOLVE_TIMEOUT_SECONDS", "fetch_stores", "recover_credentials"]

#: How long one request to a resolution service may take.
RESOLVE_TIMEOUT_SECONDS = 10.0
#: What a manifest id from a resolver must look like to be fetched and reported.
_MANIFEST_ID = re.compile(r"[A-Za-z0-9:._\-+/=]{1,256}")
#: Most manifests tried per identifier and source.
_MAX_CANDIDATES = 10
#: The validation codes that say the content no longer matches the manifest's hash.
_HASH_MISMATCH = frozenset(
    {
        "assertion.dataHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.boxesHash.mismatch",
        "assertion.collectionHash.mismatch",
    }
)


class _LookupError(ProvenanceError):
    """A source could not be asked (the message says why)."""


def _from_repository(path: Path, alg: str, value: str) -> list[tuple[str, bytes]]:
    try:
        with ManifestRepository(path, create=False, read_only=True) as repository:
            stores = []
            for entry in repository.by_binding(alg, value, max_results=_MAX_CANDIDATES):
                store = repository.manifest_store(entry.manifest_id)
                if store is not None:
                    stores.append((entry.manifest_id, store))
            return stores
    except (RepositoryError, sqlite3.Error) as exc:
        raise _LookupError(f"the repository {path} cannot be read ({exc})") from None


class _HttpOnly(urllib.request.HTTPRedirectHandler):
    """Follow a resolver's redirects to http(s) only (never ftp:, file: or data:)."""

    def redirect_request(  # type: ignore[no-untyped-def]
        self, req, fp, code, msg, headers, newurl
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise urllib.error.URLError(f"a redirect to {newurl[:80]!r} was refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpOnly)


def _get(url: str, accept: str) -> bytes:
    """The body of a GET, at most :data:`MAX_STORE_BYTES`, in at most
    :data:`RESOLVE_TIMEOUT_SECONDS` per read and three times that in all."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    deadline = time.monotonic() + 3 * RESOLVE_TIMEOUT_SECONDS
    chunks: list[bytes] = []
    size = 0
    try:
        with _OPENER.open(request, timeout=RESOLVE_TIMEOUT_SECONDS) as response:
            while chunk := response.read(1 << 16):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_STORE_BYTES:
                    raise _LookupError(f"{url} sent more than {MAX_STORE_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise _LookupError(f"{url} took too long to answer")
    except urllib.error.HTTPError as exc:
        raise _LookupError(f"{url} answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise _LookupError(f"could not reach {url} ({reason})") from None
    return b"".join(chunks)


def fetch_stores(base_url: str, alg: str, value: str) -> list[tuple[str, bytes]]:
    """(manifest id, store) of every match a resolution service gives for one soft binding;
    a match whose store cannot be fetched is left out (it cannot stand for the file)."""
    base = base_url.rstrip("/")
    query = urllib.parse.urlencode({"alg": alg, "value": value, "maxResults": _MAX_CANDIDATES})
    answer = _get(f"{base}/matches/byBinding?{query}", "application/json")
    try:
        matches = json.loads(answer).get("matches") or []
        ids = [str(match["manifestId"]) for match in matches if isinstance(match, dict)]
    except (ValueError, AttributeError, KeyError, TypeError, RecursionError):
        raise _LookupError(f"{base} did not answer with a list of matches") from None
    stores = []
    for manifest_id in ids[:_MAX_CANDIDATES]:
        if not _MANIFEST_ID.fullmatch(manifest_id):
            continue  # not a manifest id: nothing to fetch, nothing to print
        quoted = urllib.parse.quote(manifest_id, safe="")
        try:
            stores.append((manifest_id, _get(f"{base}/manifests/{quoted}", "application/c2pa")))
        except _LookupError:
            continue
    if ids and not stores:
        raise _LookupError(f"{base} named {len(ids)} manifests but none could be fetched")
    return stores


def _declares(store: bytes, alg: str, value: str) -> bool:
    """True when the store's *active* manifest declares this soft binding (an ingredient's
    declaration belongs to the ingredient, not to the asset the store describes)."""
    try:
        parsed = read_manifest_store(store)
        active = parsed.get("active_manifest")
        declared = soft_bindings(parsed)
    except (RepositoryError, AttributeError, TypeError, ValueError):
        return False
    return any(
        b.algorithm == alg and b.value == value and b.manifest_label == active for b in declared
    )


def _trust(evidence: CredentialsEvidence, trust: TrustMaterial) -> tuple[TrustStatus, TrustSource]:
    """The signer's trust from the validation codes: a content hash that no longer matches
    makes the validator call the whole manifest invalid, and hence untrusted, but the
    signing credential was still checked against the trust lists (``signingCredential.trusted``)."""
    failures = {c.code for c in evidence.validation_codes if c.kind is StatusKind.FAILURE}
    if failures & codes.SIGNER_INVALID_CODES:
        return TrustStatus.SIGNER_INVALID, TrustSource.NONE
    detail = " ".join(
        c.detail or ""
        for c in evidence.validation_codes
        if c.code == "signingCredential.trusted" and c.scope == "active_manifest"
    )
    trusted = any(
        c.code == "signingCredential.trusted" and c.scope == "active_manifest"
        for c in evidence.validation_codes
    )
    if not trusted:
        return TrustStatus.UNTRUSTED, TrustSource.NONE
    sources = list(trust.sources)
    if "system_anchors" in detail and TrustSource.OFFICIAL in sources:
        return TrustStatus.TRUSTED, TrustSource.OFFICIAL
    user_side = [s for s in (TrustSource.INTERIM, TrustSource.USER) if s in sources]
    candidates = user_side if "user_anchors" in detail and user_side else sources
    return TrustStatus.TRUSTED, candidates[-1] if candidates else TrustSource.NONE


def _validate(
    path: Path,
    store: bytes,
    trust: TrustMaterial,
    mime_type: str | None,
    family: str | None,
) -> tuple[CredentialsEvidence, bool | None, str | None]:
    """(the store's evidence against this file, whether the content changed since signing,
    a note); the evidence's integrity is MALFORMED or TAMPERED when the claim itself fails."""
    with tempfile.TemporaryDirectory(prefix="provenance-recovered-") as work:
        sidecar = Path(work) / "recovered.c2pa"
        sidecar.write_bytes(store)
        evidence = read_credentials(
            path, trust=trust, mime_type=mime_type, family=family, sidecar=sidecar
        )
        against_file = evidence.state is CredentialsState.PRESENT
        if not against_file:  # a format c2pa cannot hash (WebM...): the store on its own
            evidence = read_credentials(
                sidecar, trust=trust, mime_type="application/c2pa", family="c2pa"
            )
    if evidence.state is not CredentialsState.PRESENT:
        return evidence, None, None
    if against_file and evidence.integrity is Integrity.INTACT:
        return evidence, False, None
    failures = {
        c.code
        for c in evidence.validation_codes
        if c.kind is StatusKind.FAILURE and c.scope != RECORDED_SCOPE
    }
    mismatched = failures & _HASH_MISMATCH
    if failures - _HASH_MISMATCH - codes.TRUST_ONLY_CODES - codes.SIGNER_INVALID_CODES:
        return replace(evidence, integrity=Integrity.MALFORMED), None, None  # the claim fails
    status, source = _trust(evidence, trust)
    if against_file and mismatched:
        note = (
            f"The content changed since signing ({', '.join(sorted(mismatched))}): expected "
            "after re-encoding; the identifier read from the pixels ties this file to the "
            "manifest. The claim signature is intact."
        )
        changed: bool | None = True
    else:
        note = (
            "The manifest's content hash could not be checked against a file of this format; "
            "its claim signature was checked on its own and is intact."
        )
        changed = None
    checked = replace(evidence, integrity=Integrity.INTACT, trust=status, trust_source=source)
    return replace(checked, message=note), changed, note


def _recover_one(
    path: Path,
    alg: str,
    value: str,
    source: str,
    stores: Sequence[tuple[str, bytes]],
    trust: TrustMaterial,
    mime_type: str | None,
    family: str | None,
) -> RecoveredCredentials:
    if not stores:
        return RecoveredCredentials(
            alg, value, source, RecoveryState.NOT_FOUND, message=f"No manifest in {source}."
        )
    reasons = []
    for manifest_id, store in stores:
        if not _declares(store, alg, value):
            reasons.append(f"{manifest_id} declares no such soft binding (another asset's)")
            continue
        evidence, changed, note = _validate(path, store, trust, mime_type, family)
        if evidence.state is not CredentialsState.PRESENT or evidence.integrity in (
            Integrity.MALFORMED,
            Integrity.TAMPERED,
        ):
            reasons.append(f"{manifest_id} does not validate ({evidence.message or 'invalid'})")
            continue
        return RecoveredCredentials(
            alg,
            value,
            source,
            RecoveryState.RECOVERED,
            manifest_id=manifest_id,
            credentials=evidence,
            content_changed=changed,
            message=note,
        )
    return RecoveredCredentials(
        alg, value, source, RecoveryState.REJECTED, message="; ".join(reasons) + "."
    )


def recover_credentials(
    path: Path,
    identifiers: Sequence[tuple[str, str]],
    *,
    trust: TrustMaterial,
    repository: Path | None = None,
    resolve_url: str | None = None,
    mime_type: str | None = None,
    family: str | None = None,
) -> tuple[RecoveredCredentials, ...]:
    """Look each identifier up in ``repository`` and at ``resolve_url``; one result each per
    source asked (the local repository first)."""
    results = []
    for alg, value in dict.fromkeys(identifiers):
        sources: list[tuple[str, Path | str]] = []
        if repository is not None:
            sources.append((f"repository {repository}", repository))
        if resolve_url is not None:
            sources.append((f"resolver {resolve_url}", resolve_url))
        for name, where in sources:
            try:
                stores = (
                    _from_repository(where, alg, value)
                    if isinstance(where, Path)
                    else fetch_stores(where, alg, value)
                )
            except _LookupError as exc:
                results.append(
                    RecoveredCredentials(alg, value, name, RecoveryState.ERROR, message=str(exc))
                )
                continue
            results.append(_recover_one(path, alg, value, name, stores, trust, mime_type, family))
    return tuple(results)
