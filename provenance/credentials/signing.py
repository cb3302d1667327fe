"""Sign media with C2PA Content Credentials (``provenance sign``, and the test material).

A generator or platform signs what its models make, so that checkers can tell: the manifest
declares how the file was made (an IPTC digital source type on the ``c2pa.created`` action),
who made it (the certificate), and optionally the soft bindings (watermark identifiers) that
let stripped copies find their manifest again in a repository.

Measured with c2pa-python 0.38.1 (c2pa-rs 0.91.3):

* A ``c2pa.created`` action must carry a ``digitalSourceType`` in the default (v2) claim;
  without one a v1 claim is written, which c2pa accepts and validates.
* ``c2pa.opened`` (and any action that is not ``c2pa.created``) needs a parent ingredient.
* c2pa refuses to sign with a certificate that is not valid at signing time; the key and the
  certificate are checked here first, so the message says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance._version import __version__
from provenance.errors import ArgumentError, ProvenanceError

__all__ = [
    "MIME_TYPES",
    "SOFT_BINDING_LABEL",
    "TRAINED_ALGORITHMIC_MEDIA",
    "SignedFile",
    "SigningError",
    "key_algorithm",
    "mime_type_for",
    "sign_media",
    "source_type_uri",
]

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

_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = _IPTC + "trainedAlgorithmicMedia"
SOFT_BINDING_LABEL = "c2pa.soft-binding"
_PARENT_LABEL = "parent"
_OFFLINE_SETTINGS: dict[str, Any] = {
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}


class SigningError(ProvenanceError, ValueError):
    """A file cannot be signed: the key, the certificate or the file is not usable (the
    message says which and why; it never holds key material)."""


@dataclass(frozen=True)
class SignedFile:
    """What a signature made."""

    path: Path
    manifest_id: str
    store: bytes
    """The manifest store (what a manifest repository keeps)."""


def mime_type_for(path: Path) -> str:
    """The MIME type used to sign ``path`` (from its suffix)."""
    suffix = Path(path).suffix.lower()
    try:
        return MIME_TYPES[suffix]
    except KeyError:
        raise ArgumentError(
            f"cannot tell the MIME type of {path} from its suffix {suffix!r}; "
            f"use one of {sorted(MIME_TYPES)}"
        ) from None


def source_type_uri(name: str) -> str:
    """An IPTC digital source type from its short name (``trainedAlgorithmicMedia``) or URI."""
    if name.startswith(("http://", "https://")):
        return name
    if not name or not name.replace("_", "").isalnum():
        raise ArgumentError(
            f"{name!r} is not an IPTC digital source type; give a name such as "
            "trainedAlgorithmicMedia or compositeWithTrainedAlgorithmicMedia, or its URI"
        )
    return _IPTC + name


def key_algorithm(
    private_key_pem: bytes, chain_pem: bytes, *, now: dt.datetime | None = None
) -> str:
    """The c2pa signing algorithm of a private key, after checking that it matches the
    chain's first (signing) certificate and that this certificate is valid ``now``.

    Raises
    ------
    SigningError
        The key or the chain cannot be read, they do not match, the certificate is not valid
        now, or the key type has no C2PA algorithm.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (ValueError, TypeError):
        raise SigningError(
            "the private key cannot be read: give an unencrypted PEM private key"
        ) from None
    try:
        certificate = x509.load_pem_x509_certificates(chain_pem)[0]
    except (ValueError, IndexError):
        raise SigningError(
            "the certificate chain cannot be read: give PEM certificates, the signing "
            "certificate first"
        ) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if key.public_key().public_bytes(encoding, public) != certificate.public_key().public_bytes(
        encoding, public
    ):
        raise SigningError(
            "the private key does not match the signing certificate (the first certificate "
            "of the chain): give the key that certificate was issued for"
        )
    moment = now or dt.datetime.now(dt.UTC)
    if moment > certificate.not_valid_after_utc:
        raise SigningError(
            f"the signing certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}; "
            "renew it"
        )
    if moment < certificate.not_valid_before_utc:
        raise SigningError(
            "the signing certificate is not valid before "
            f"{certificate.not_valid_before_utc:%Y-%m-%d}"
        )
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curves = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name in curves:
            return curves[key.curve.name]
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    elif isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise SigningError(
        "C2PA signs with EC P-256 / P-384 / P-521, Ed25519 or RSA keys; this key is none of them"
    )


def sign_media(
    source: Path,
    destination: Path,
    *,
    chain_pem: bytes,
    private_key_pem: bytes,
    digital_source_type: str | None = TRAINED_ALGORITHMIC_MEDIA,
    action: str = "c2pa.created",
    software_agent: str | None = None,
    title: str | None = None,
    claim_generator: str = "provenance-checker",
    soft_bindings: Sequence[tuple[str, str]] = (),
    extra_assertions: Sequence[dict[str, Any]] = (),
    parent: Path | None = None,
    ingredients: Sequence[Path] = (),
    thumbnail: Path | None = None,
    timestamp_url: str | None = None,
    mime_type: str | None = None,
) -> SignedFile:
    """Embed a signed C2PA manifest in a copy of ``source`` written to ``destination``.

    ``soft_bindings`` are (algorithm, value) pairs, each declared in a ``c2pa.soft-binding``
    assertion. ``timestamp_url`` asks an RFC 3161 time-stamp authority to countersign (the
    only network use, when given). ``parent`` adds a ``parentOf`` ingredient (needed by any
    action but ``c2pa.created``); ``ingredients`` are inputs the content was made from (a
    prompt image, a source clip: ``inputTo`` ingredients, their own manifests carried along);
    ``thumbnail`` a picture stored as the manifest thumbnail.

    Raises
    ------
    SigningError
        The key or certificate is not usable (see :func:`key_algorithm`), or c2pa refused.
    ArgumentError
        A missing file, the destination equal to the source, an action without a parent.
    """
    import c2pa

    source, destination = Path(source), Path(destination)
    if not source.is_file():
        raise ArgumentError(f"{source} is not a file")
    if destination.resolve() == source.resolve():
        raise ArgumentError(f"the destination must differ from the source ({source})")
    named = [("parent", parent), ("thumbnail", thumbnail)]
    named += [("ingredient", Path(path)) for path in ingredients]
    for name, extra in named:
        if extra is not None and not Path(extra).is_file():
            raise ArgumentError(f"{name} {extra} is not a file")
    if action != "c2pa.created" and parent is None:
        raise ArgumentError(
            f"the action {action!r} needs parent= (the first action of a manifest must be "
            "c2pa.created, or c2pa.opened on a parent ingredient)"
        )
    mime = mime_type or mime_type_for(source)
    algorithm_name = key_algorithm(private_key_pem, chain_pem)
    bindings = [
        {
            "label": SOFT_BINDING_LABEL,
            "data": {"alg": alg, "blocks": [{"scope": {}, "value": value}]},
        }
        for alg, value in soft_bindings
    ]
    manifest = _manifest(
        action=action,
        digital_source_type=digital_source_type,
        software_agent=software_agent,
        title=title or destination.name,
        claim_generator=claim_generator,
        extra_assertions=[*bindings, *extra_assertions],
    )
    if thumbnail is not None:
        manifest["thumbnail"] = {
            "format": mime_type_for(Path(thumbnail)),
            "identifier": Path(thumbnail).name,
        }
    algorithm = getattr(c2pa.C2paSigningAlg, algorithm_name.upper())
    try:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(algorithm, chain_pem, private_key_pem, timestamp_url)
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
            for ingredient in ingredients:
                with Path(ingredient).open("rb") as ingredient_stream:
                    builder.add_ingredient(
                        {"title": Path(ingredient).name, "relationship": "inputTo"},
                        mime_type_for(Path(ingredient)),
                        ingredient_stream,
                    )
            if thumbnail is not None:
                with Path(thumbnail).open("rb") as thumbnail_stream:
                    builder.add_resource(Path(thumbnail).name, thumbnail_stream)
            with source.open("rb") as source_stream, destination.open("w+b") as output:
                store = builder.sign(signer, mime, source_stream, output)
        with c2pa.Reader("application/c2pa", io.BytesIO(store)) as reader:
            manifest_id = str(json.loads(reader.json())["active_manifest"])
    except c2pa.C2paError as error:
        destination.unlink(missing_ok=True)
        raise SigningError(f"c2pa could not sign {source.name}: {error}") from None
    return SignedFile(destination, manifest_id, bytes(store))


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
        raise ArgumentError(f"extra assertions are not JSON-serialisable: {error}") from error
