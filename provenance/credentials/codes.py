"""C2PA validation status codes: plain-language explanations and what each code means for us.

Codes and their success/informational/failure kind follow the C2PA specification's validation
section (as implemented by c2pa-rs). Unknown codes are still reported, with a generic
explanation built from their family, never dropped.
"""

from __future__ import annotations

__all__ = [
    "EXTRA_STORE_CODE",
    "INCOMPLETE_CODES",
    "MALFORMED_CODES",
    "SIGNER_INVALID_CODES",
    "TAMPER_CODES",
    "TRUST_ONLY_CODES",
    "explain",
]

#: Our own failure code (not the SDK's): a JPEG with more than one manifest store.
EXTRA_STORE_CODE = "provenance.manifestStore.extra"

_EXPLANATIONS: dict[str, str] = {
    # signature and signer
    "claimSignature.validated": "The manifest's signature is cryptographically valid.",
    "claimSignature.insideValidity": "The signature was made while the signing certificate was valid.",
    "claimSignature.outsideValidity": (
        "The signature was made outside the signing certificate's validity period."
    ),
    "claimSignature.mismatch": (
        "The manifest's signature does not match its contents: the credentials were altered "
        "after signing, or the signature is broken."
    ),
    "claimSignature.missing": "The manifest has no signature.",
    "signingCredential.trusted": "The signer's certificate chains to a trust list that was loaded.",
    "signingCredential.untrusted": (
        "The signature is intact, but the signer is not on any trust list that was loaded: "
        "the issuer is not recognised, so the claimed origin is unverified."
    ),
    "signingCredential.invalid": (
        "The signing certificate does not meet the C2PA certificate profile (for example a "
        "missing or unexpected extended key usage). With the interim EKU configuration some "
        "real signers pass; check the trust configuration."
    ),
    "signingCredential.expired": (
        "The signing certificate had expired and no trusted timestamp proves the signature was "
        "made while it was valid."
    ),
    "signingCredential.revoked": "The signing certificate has been revoked by its issuer.",
    "signingCredential.ocsp.revoked": "The signing certificate was revoked (OCSP response).",
    "signingCredential.ocsp.notRevoked": "An OCSP response says the certificate was not revoked.",
    "signingCredential.ocsp.skipped": "Revocation (OCSP) was not checked: the check runs offline.",
    "signingCredential.ocsp.inaccessible": "The revocation (OCSP) service could not be reached.",
    "signingCredential.ocsp.unknown": "The revocation (OCSP) status of the certificate is unknown.",
    # time stamps
    "timeStamp.validated": "The signing time is backed by a valid timestamp.",
    "timeStamp.trusted": "The timestamp authority is trusted.",
    "timeStamp.untrusted": "The timestamp authority is not on a loaded trust list.",
    "timeStamp.mismatch": "The timestamp does not match the signature.",
    "timeStamp.malformed": "The timestamp is malformed.",
    "timeStamp.outsideValidity": "The timestamp lies outside its certificate's validity period.",
    # hard bindings
    "assertion.dataHash.match": "The file's bytes match the signed content hash.",
    EXTRA_STORE_CODE: (
        "This JPEG carries more than one C2PA manifest store, or a part of one twice (checked "
        "by provenance-checker, not the C2PA library, which validates the first store only): a "
        "signer writes one, so the file was altered after signing and the extra bytes were "
        "never checked. Treated as tampered."
    ),
    "assertion.dataHash.mismatch": (
        "The file's bytes do not match the signed content hash: the content was changed after "
        "signing (edited or re-encoded)."
    ),
    "assertion.bmffHash.match": "The video/ISO-BMFF content matches the signed hash.",
    "assertion.bmffHash.mismatch": (
        "The video/ISO-BMFF content does not match the signed hash: the media was changed "
        "after signing."
    ),
    "assertion.boxesHash.match": "The file's boxes match the signed hash.",
    "assertion.boxesHash.mismatch": (
        "The file's boxes do not match the signed hash: the content was changed after signing."
    ),
    "assertion.collectionHash.match": "The collection of files matches the signed hash.",
    "assertion.collectionHash.mismatch": "A file of the signed collection was changed.",
    "assertion.hashedURI.match": "An assertion matches the hash recorded in the claim.",
    "assertion.hashedURI.mismatch": (
        "An assertion (for example the list of actions) was edited after signing."
    ),
    "assertion.bmffHash.additionalExclusionsPresent": (
        "The video hash excludes more of the file than usual; worth noting, not a failure."
    ),
    "assertion.dataHash.additionalExclusionsPresent": (
        "The content hash excludes more of the file than usual; worth noting, not a failure."
    ),
    "assertion.missing": "An assertion the claim refers to is missing.",
    "assertion.undeclared": "The manifest holds an assertion the claim does not declare.",
    "assertion.inaccessible": "An assertion could not be read.",
    "assertion.notRedacted": "An assertion marked as redacted is still present.",
    "assertion.selfRedacted": "A manifest tried to redact its own assertion.",
    "assertion.action.malformed": "An actions assertion is malformed.",
    "assertion.action.ingredientMismatch": (
        "An action refers to an ingredient that does not match the manifest's ingredients."
    ),
    "assertion.cbor.invalid": "An assertion's CBOR data is invalid.",
    "assertion.json.invalid": "An assertion's JSON data is invalid.",
    "assertion.timestamp.malformed": "A timestamp assertion is malformed.",
    # claim
    "claim.malformed": "The claim is malformed: the manifest does not follow the C2PA format.",
    "claim.missing": "The manifest has no claim.",
    "claim.multiple": "The manifest has more than one claim.",
    "claim.hardBindings.missing": (
        "The claim has no hard binding, so nothing ties it to this file's content."
    ),
    "claim.cbor.invalid": "The claim's CBOR data is invalid.",
    "algorithm.unsupported": "The manifest uses an algorithm this verifier does not support.",
    "algorithm.deprecated": "The manifest uses a deprecated algorithm.",
    "general.error": "The verifier hit a general error while validating the manifest.",
    # ingredients and manifests
    "ingredient.manifest.validated": "An ingredient's own manifest validated.",
    "ingredient.manifest.missing": "An ingredient's manifest is missing: the history is broken.",
    "ingredient.manifest.mismatch": "An ingredient's manifest does not match its recorded hash.",
    "ingredient.claimSignature.validated": "An ingredient's signature is valid.",
    "ingredient.claimSignature.mismatch": (
        "An ingredient's signature does not match: its history was altered."
    ),
    "ingredient.claimSignature.missing": "An ingredient's signature is missing.",
    "ingredient.hashedURI.mismatch": "An ingredient reference does not match its recorded hash.",
    "ingredient.unknownProvenance": "An ingredient has no provenance information.",
    "manifest.inaccessible": "A manifest could not be read.",
    "manifest.missing": "A manifest the store refers to is missing.",
    "manifest.multipleParents": "A manifest declares more than one parent ingredient.",
    "manifest.update.invalid": "An update manifest is invalid.",
    "manifest.update.wrongParents": "An update manifest has the wrong parents.",
    "manifest.unknownProvenance": "Part of the manifest has no provenance information.",
    "manifest.timestamp.invalid": "A manifest timestamp is invalid.",
    "manifest.timestamp.wrongParents": "A manifest timestamp refers to the wrong parents.",
    # identity (CAWG): does not change the C2PA state
    "cawg.x509.credential.untrusted": (
        "The creator-identity (CAWG) certificate is not on a loaded trust list; this does not "
        "affect the C2PA signature."
    ),
    "cawg.ica.untrusted_issuer": (
        "The creator-identity (CAWG) claim issuer is not trusted; this does not affect the "
        "C2PA signature."
    ),
    "cawg.identity.well-formed": "The creator-identity (CAWG) assertion is well formed.",
    "cawg.x509.credential.valid": "The creator-identity (CAWG) certificate is valid.",
}

_FAMILY_FALLBACK: dict[str, str] = {
    "assertion": "A finding about one assertion of the manifest.",
    "claim": "A finding about the manifest's claim.",
    "claimSignature": "A finding about the manifest's signature.",
    "signingCredential": "A finding about the signing certificate.",
    "timeStamp": "A finding about the signature's timestamp.",
    "ingredient": "A finding about an ingredient's provenance.",
    "manifest": "A finding about a manifest of the store.",
    "cawg": "A finding about the creator-identity (CAWG) assertion; not part of the C2PA state.",
    "algorithm": "A finding about the cryptographic algorithm used.",
}

#: Failure codes that mean the content or the credentials changed after signing.
TAMPER_CODES = frozenset(
    {
        EXTRA_STORE_CODE,
        "assertion.dataHash.mismatch",
        "assertion.bmffHash.mismatch",
        "assertion.boxesHash.mismatch",
        "assertion.collectionHash.mismatch",
        "assertion.hashedURI.mismatch",
        "claimSignature.mismatch",
        "ingredient.claimSignature.mismatch",
        "ingredient.hashedURI.mismatch",
        "ingredient.manifest.mismatch",
        "timeStamp.mismatch",
    }
)

#: Failure codes that mean the manifest does not follow the format.
MALFORMED_CODES = frozenset(
    {
        "claim.malformed",
        "claim.missing",
        "claim.multiple",
        "claim.hardBindings.missing",
        "claim.cbor.invalid",
        "claimSignature.missing",
        "assertion.missing",
        "assertion.undeclared",
        "assertion.inaccessible",
        "assertion.action.malformed",
        "assertion.action.ingredientMismatch",
        "assertion.cbor.invalid",
        "assertion.json.invalid",
        "algorithm.unsupported",
        "general.error",
        "ingredient.manifest.missing",
        "ingredient.claimSignature.missing",
        "manifest.inaccessible",
        "manifest.missing",
        "manifest.multipleParents",
        "manifest.update.invalid",
        "manifest.update.wrongParents",
    }
)

#: Failure codes about the signing certificate itself (the signature may still be intact).
SIGNER_INVALID_CODES = frozenset(
    {
        "signingCredential.invalid",
        "signingCredential.expired",
        "signingCredential.revoked",
        "signingCredential.ocsp.revoked",
        "claimSignature.outsideValidity",
    }
)

#: Failure codes that only say "not on a loaded trust list": integrity is unaffected.
TRUST_ONLY_CODES = frozenset(
    {"signingCredential.untrusted", "cawg.x509.credential.untrusted", "cawg.ica.untrusted_issuer"}
)

#: A failure code reported for a fragmented-MP4 init segment read without its fragments.
INCOMPLETE_CODES = frozenset({"assertion.bmffHash.mismatch"})


def explain(code: str) -> str:
    """Return a plain-language explanation of a C2PA validation status code."""
    known = _EXPLANATIONS.get(code)
    if known is not None:
        return known
    family = code.split(".", 1)[0]
    fallback = _FAMILY_FALLBACK.get(family, "A validation finding this tool has no text for yet.")
    return f"{fallback} (code {code})"
