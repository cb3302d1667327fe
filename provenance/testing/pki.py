"""A throw-away certificate hierarchy for signing demo and test files with C2PA.

.. warning::
   This is a **demo/test PKI, never for production**. The private keys are written unencrypted
   next to the certificates, the CA keys are discarded, and nothing here follows the key
   management rules of a real certification authority. A file signed with it proves nothing
   about where it came from; it only lets the test suite and the demo produce credentials that
   c2pa-python accepts, so that "Trusted", "Valid but untrusted" and "tampered" results can be
   produced on demand without any network or third-party certificate.

:func:`generate_pki` writes a root CA, an intermediate CA and an end-entity signing certificate
that follows the C2PA certificate profile as c2pa-python 0.38.1 enforces it:

* the end-entity is not a CA (``BasicConstraints(ca=False)``, critical);
* ``KeyUsage`` has only ``digitalSignature`` and is critical;
* ``ExtendedKeyUsage`` lists emailProtection, documentSigning and the C2PA signing OID
  ``1.3.6.1.4.1.62558.2.1`` (c2pa checks the EKU against its list; any of them is accepted);
* every certificate has a ``SubjectKeyIdentifier`` and (below the root) an
  ``AuthorityKeyIdentifier``;
* subjects carry O and CN.

The root certificate (``root_pem``) is what a verifier passes as a user trust anchor; the chain
(``chain_pem``: end-entity then intermediate) and key (``key_pem``) go to the signer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from provenance.errors import ArgumentError

__all__ = [
    "C2PA_EKU_OIDS",
    "SUPPORTED_ALGORITHMS",
    "PKIFiles",
    "generate_expired_pki",
    "generate_pki",
]

#: Signing algorithms :func:`generate_pki` can produce keys for (c2pa's lowercase names).
SUPPORTED_ALGORITHMS: tuple[str, ...] = ("es256", "es384", "ps256", "ed25519")

#: The EKU list (c2pa's ``trust.trust_config``) that accepts certificates made here:
#: emailProtection, documentSigning and the C2PA signing OID, one per line.
C2PA_EKU_OIDS = "1.3.6.1.5.5.7.3.4\n1.3.6.1.5.5.7.3.36\n1.3.6.1.4.1.62558.2.1\n"

_DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
_C2PA_SIGNING = ObjectIdentifier("1.3.6.1.4.1.62558.2.1")

_PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class PKIFiles:
    """Paths of a generated demo/test PKI (see :func:`generate_pki`).

    Attributes
    ----------
    root_pem
        Self-signed root CA certificate (PEM); usable as a c2pa ``trust.user_anchors`` entry.
    chain_pem
        End-entity certificate followed by the intermediate CA certificate (PEM): what the
        signer embeds in the manifest.
    key_pem
        End-entity private key, unencrypted PKCS#8 PEM.
    algorithm
        c2pa signing algorithm name, lowercase (``"es256"``, ``"ps256"``, ...).
    signer_expires
        ``notAfter`` of the end-entity certificate (UTC, whole seconds).
    """

    root_pem: Path
    chain_pem: Path
    key_pem: Path
    algorithm: str
    signer_expires: dt.datetime


def generate_pki(
    directory: Path,
    *,
    name: str = "provenance-checker demo",
    algorithm: str = "es256",
    valid_days: int = 365,
    valid_for: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    signer_ekus: Sequence[str] | None = None,
) -> PKIFiles:
    """Generate a demo/test root CA -> intermediate CA -> signing certificate. Never for production.

    Parameters
    ----------
    directory
        Folder to write ``root.pem``, ``chain.pem`` and ``signer.key`` into (created if missing;
        existing files with those names are overwritten).
    name
        Organisation name put in every subject (O); the CNs add "Root CA", "Intermediate CA"
        and "Signer".
    algorithm
        One of :data:`SUPPORTED_ALGORITHMS`: ``es256`` (P-256), ``es384`` (P-384),
        ``ps256`` (RSA 2048, RSASSA-PSS when signing) or ``ed25519``. The CAs use the same key type.
    valid_days
        Validity of the end-entity certificate in days, counted from ``now`` (the CAs get ten
        times longer).
    valid_for
        Exact validity of the end-entity certificate from ``now``, overriding ``valid_days``.
        This is how tests make an "expired signer" file: c2pa refuses to sign with a certificate
        that has already expired, so sign with ``valid_for=timedelta(seconds=2)`` and read the
        file after :attr:`PKIFiles.signer_expires` has passed. c2pa-python 0.38.1 then reports
        state ``Invalid`` with failures ``signingCredential.expired`` and
        ``signingCredential.untrusted`` (the latter even when the root is a trust anchor, since
        the chain no longer validates).
    now
        Reference time (timezone-aware; default: the current UTC time). Certificates start one
        hour before it so that small clock differences do not make them "not yet valid".
    signer_ekus
        Dotted OIDs of the signing certificate's ExtendedKeyUsage instead of the conforming
        three (tests of the EKU profile); an empty sequence leaves the extension out.

    Returns
    -------
    PKIFiles
        The paths written and the algorithm.
    """
    if valid_days <= 0:
        raise ArgumentError(f"generate_pki: valid_days must be positive, got {valid_days}")
    if valid_for is not None and valid_for.total_seconds() < 1:
        raise ArgumentError(f"generate_pki: valid_for must be at least one second, got {valid_for}")
    reference = _reference_time(now)
    lifetime = valid_for if valid_for is not None else dt.timedelta(days=valid_days)
    return _generate(
        Path(directory),
        name=name,
        algorithm=algorithm,
        not_before=reference - dt.timedelta(hours=1),
        not_after=reference + lifetime,
        ca_not_after=reference + dt.timedelta(days=10 * valid_days),
        signer_ekus=signer_ekus,
    )


def generate_expired_pki(
    directory: Path,
    *,
    name: str = "provenance-checker demo (expired)",
    algorithm: str = "es256",
    expired_days_ago: int = 30,
    now: dt.datetime | None = None,
) -> PKIFiles:
    """Generate a demo/test PKI whose signing certificate has already expired. Never for production.

    The root and intermediate stay valid; only the end-entity certificate expired
    ``expired_days_ago`` days before ``now`` (it was valid for the year before that).

    c2pa-python 0.38.1 **refuses to sign** with such a certificate
    (``C2paError.Signature``: "the certificate was not valid at time of signing", also with
    ``verify_after_sign`` off and with a callback signer), so
    :func:`~provenance.testing.signing.sign_file` raises ``ValueError`` with it. Use this
    PKI to test certificate checks and that refusal; to make a signed file whose signer has
    expired, use ``generate_pki(valid_for=timedelta(seconds=2))`` and wait (see there).
    """
    if expired_days_ago <= 0:
        raise ArgumentError(
            f"generate_expired_pki: expired_days_ago must be positive, got {expired_days_ago}"
        )
    reference = _reference_time(now)
    not_after = reference - dt.timedelta(days=expired_days_ago)
    return _generate(
        Path(directory),
        name=name,
        algorithm=algorithm,
        not_before=not_after - dt.timedelta(days=365),
        not_after=not_after,
        ca_not_after=reference + dt.timedelta(days=3650),
    )


def _reference_time(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    if now.tzinfo is None:
        raise ArgumentError("generate_pki: now must be timezone-aware (for example datetime.UTC)")
    return now


def _generate(
    directory: Path,
    *,
    name: str,
    algorithm: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca_not_after: dt.datetime,
    signer_ekus: Sequence[str] | None = None,
) -> PKIFiles:
    algorithm = algorithm.lower()
    if algorithm not in SUPPORTED_ALGORITHMS:
        allowed = list(SUPPORTED_ALGORITHMS)
        raise ArgumentError(f"generate_pki: algorithm must be one of {allowed}, got {algorithm!r}")
    if not name.strip():
        raise ArgumentError("generate_pki: name must not be empty")
    directory.mkdir(parents=True, exist_ok=True)

    root_key = _new_key(algorithm)
    root_name = _subject(name, f"{name} Root CA")
    root_cert = _build_ca(
        subject=root_name,
        issuer=root_name,
        public_key=root_key.public_key(),
        issuer_key=root_key,
        not_before=not_before,
        not_after=ca_not_after,
        path_length=1,
        algorithm=algorithm,
    )

    intermediate_key = _new_key(algorithm)
    intermediate_cert = _build_ca(
        subject=_subject(name, f"{name} Intermediate CA"),
        issuer=root_name,
        public_key=intermediate_key.public_key(),
        issuer_key=root_key,
        not_before=not_before,
        not_after=ca_not_after,
        path_length=0,
        algorithm=algorithm,
    )

    signer_key = _new_key(algorithm)
    signer_public = signer_key.public_key()
    usages = (
        [ExtendedKeyUsageOID.EMAIL_PROTECTION, _DOCUMENT_SIGNING, _C2PA_SIGNING]
        if signer_ekus is None
        else [ObjectIdentifier(oid) for oid in signer_ekus]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_subject(name, f"{name} Signer"))
        .issuer_name(intermediate_cert.subject)
        .public_key(signer_public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
    )
    if usages:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    signer_cert = (
        builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(signer_public), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(intermediate_key.public_key()),
            critical=False,
        )
        .sign(intermediate_key, _hash_for(algorithm))
    )

    pem = serialization.Encoding.PEM
    root_path = directory / "root.pem"
    chain_path = directory / "chain.pem"
    key_path = directory / "signer.key"
    root_path.write_bytes(root_cert.public_bytes(pem))
    chain_path.write_bytes(signer_cert.public_bytes(pem) + intermediate_cert.public_bytes(pem))
    key_path.write_bytes(
        signer_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return PKIFiles(
        root_pem=root_path,
        chain_pem=chain_path,
        key_pem=key_path,
        algorithm=algorithm,
        signer_expires=signer_cert.not_valid_after_utc,
    )


def _new_key(algorithm: str) -> _PrivateKey:
    if algorithm == "es256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "es384":
        return ec.generate_private_key(ec.SECP384R1())
    if algorithm == "ps256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


def _hash_for(algorithm: str) -> hashes.SHA256 | hashes.SHA384 | None:
    # Certificates are signed with PKCS#1 v1.5 / ECDSA; RSASSA-PSS is only used for the
    # C2PA claim signature itself. Ed25519 takes no separate hash.
    if algorithm == "ed25519":
        return None
    if algorithm == "es384":
        return hashes.SHA384()
    return hashes.SHA256()


def _subject(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _build_ca(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey,
    issuer_key: _PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    path_length: int,
    algorithm: str,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, _hash_for(algorithm))
    )
