"""Trust material for Content Credentials: which signers are recognised, from which list.

A trust directory holds the lists under fixed file names (the same names as the public
snapshot layout), a ``snapshot.json`` written by :func:`update_trust_lists`, and ``user/*.pem``
anchors added by :func:`add_user_anchor`::

    C2PA-TRUST-LIST.pem       official C2PA Trust List (anchors)
    C2PA-TSA-TRUST-LIST.pem   official list of time-stamping authorities (recorded, see README)
    interim-anchors.pem       legacy interim anchors (what the public Verify site uses)
    interim-allowed.pem       legacy interim end-entity allow list
    interim-store.cfg         allowed extended key usages (EKU OIDs)
    user/*.pem                user anchors

Nothing here touches the network except :func:`update_trust_lists`, which the user calls
explicitly.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.errors import NetworkError, TrustListError
from provenance.report import TrustSnapshot, TrustSource

__all__ = [
    "DEFAULT_SOURCES",
    "LIST_FILES",
    "TrustMaterial",
    "add_user_anchor",
    "default_trust_dir",
    "holds_trust_lists",
    "load_trust",
    "read_pem_certificates",
    "update_trust_lists",
]

OFFICIAL_FILE = "C2PA-TRUST-LIST.pem"
OFFICIAL_TSA_FILE = "C2PA-TSA-TRUST-LIST.pem"
INTERIM_FILE = "interim-anchors.pem"
INTERIM_ALLOWED_FILE = "interim-allowed.pem"
EKU_CONFIG_FILE = "interim-store.cfg"
SNAPSHOT_FILE = "snapshot.json"
USER_DIR = "user"

#: The files a trust directory may hold, and what each is.
LIST_FILES: dict[str, str] = {
    OFFICIAL_FILE: "official C2PA Trust List (trust anchors)",
    OFFICIAL_TSA_FILE: "official C2PA time-stamping authority list",
    INTERIM_FILE: "legacy interim trust anchors (Content Credentials Verify)",
    INTERIM_ALLOWED_FILE: "legacy interim allowed end-entity certificates",
    EKU_CONFIG_FILE: "allowed extended key usages (EKU OIDs)",
}

#: Where ``provenance trust update`` downloads each file from by default.
DEFAULT_SOURCES: dict[str, str] = {
    OFFICIAL_FILE: "https://raw.githubusercontent.com/c2pa-org/conformance-public/refs/heads/main/trust-list/C2PA-TRUST-LIST.pem",
    OFFICIAL_TSA_FILE: "https://raw.githubusercontent.com/c2pa-org/conformance-public/refs/heads/main/trust-list/C2PA-TSA-TRUST-LIST.pem",
    INTERIM_FILE: "https://contentcredentials.org/trust/anchors.pem",
    INTERIM_ALLOWED_FILE: "https://contentcredentials.org/trust/allowed.pem",
    EKU_CONFIG_FILE: "https://contentcredentials.org/trust/store.cfg",
}

# Extended key usages the C2PA certificate profile accepts for claim signing. Used when trust
# lists are loaded from a directory without an EKU file; without a list, real Microsoft signers
# fail the profile. Never applied when no trust list is loaded (see c2pa_settings).
_DEFAULT_EKUS = (
    "1.3.6.1.5.5.7.3.4",  # id-kp-emailProtection
    "1.3.6.1.5.5.7.3.36",  # id-kp-documentSigning
    "1.3.6.1.5.5.7.3.8",  # id-kp-timeStamping
    "1.3.6.1.5.5.7.3.9",  # id-kp-OCSPSigning
    "1.3.6.1.4.1.311.76.59.1.9",  # Microsoft C2PA signing
    "1.3.6.1.4.1.62558.2.1",  # c2pa-kp-claimSigning
)


def default_trust_dir() -> Path:
    """The trust directory used when none is given: ``$PROVENANCE_TRUST_DIR`` or the user data dir."""
    configured = os.environ.get("PROVENANCE_TRUST_DIR")
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("provenance-checker", appauthor=False)) / "trust"


def read_pem_certificates(path: Path) -> str:
    """Read a PEM file of X.509 certificates, checking that every block parses.

    c2pa-python accepts malformed PEM silently and then trusts nothing, so a bad anchor file
    would quietly turn "trusted" into "untrusted". Here it is an error instead.

    Raises
    ------
    TrustListError
        If the file is missing, unreadable, holds no certificate, or a block does not parse.
    """
    from cryptography import x509

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrustListError(f"{path}: cannot read trust anchor file ({exc.strerror}).") from exc
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise TrustListError(
            f"{path}: holds no PEM certificate. Provide X.509 certificates in PEM form "
            "('-----BEGIN CERTIFICATE-----' blocks)."
        )
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TrustListError(
            f"{path}: a certificate in this PEM file does not parse ({exc}). Fix or remove the "
            "damaged block, or download the list again with 'provenance trust update'."
        ) from exc
    if data.count(b"-----BEGIN CERTIFICATE-----") != len(certificates):
        raise TrustListError(f"{path}: some PEM certificate blocks could not be read.")
    text = data.decode("ascii", errors="strict")
    # lists are concatenated before they reach the SDK: a missing final newline would glue the
    # last certificate of one list to the first of the next (the public interim list has none)
    return text if text.endswith("\n") else text + "\n"


def _read_eku_config(path: Path) -> str:
    text = path.read_text("utf-8", errors="replace")
    oids = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("//")
    ]
    bad = [oid for oid in oids if not all(part.isdigit() for part in oid.split("."))]
    if bad or not oids:
        raise TrustListError(
            f"{path}: not an EKU list (one dotted OID per line, '//' comments); bad lines: {bad[:3]}"
        )
    return "\n".join(oids) + "\n"


@dataclass(frozen=True)
class TrustMaterial:
    """Trust anchors per source, ready to be turned into c2pa settings."""

    anchors: Mapping[TrustSource, str] = field(default_factory=dict)
    """PEM text of the anchors of each loaded source."""
    allowed_pem: str | None = None
    """Interim allow list (end-entity certificates), used with the interim source."""
    eku_config: str = "\n".join(_DEFAULT_EKUS) + "\n"
    snapshot: TrustSnapshot = field(default_factory=TrustSnapshot)

    @property
    def sources(self) -> tuple[TrustSource, ...]:
        """The sources that were loaded, in attribution order (official, interim, user)."""
        order = (TrustSource.OFFICIAL, TrustSource.INTERIM, TrustSource.USER)
        return tuple(source for source in order if source in self.anchors)

    def c2pa_settings(
        self, *, only: TrustSource | None = None, fetch_remote: bool = False
    ) -> dict[str, Any]:
        """Build the c2pa ``Context`` settings for all loaded sources, or for ``only`` one."""
        chosen = [only] if only is not None else list(self.sources)
        trust: dict[str, Any] = {}
        if self.anchors:
            # The EKU list (interim-store.cfg, or the same OIDs built in) widens the C2PA
            # certificate profile the way the trust lists' owners do (Microsoft's signing OID);
            # with no list loaded it would relax the profile for nothing, so the SDK's own
            # profile applies: a certificate without a C2PA EKU is then invalid.
            trust["trust_config"] = self.eku_config
        # The official list goes to the SDK's "system" anchors and the others to its "user"
        # anchors: the SDK names the set that matched, which attributes trust without re-reading.
        if TrustSource.OFFICIAL in chosen and TrustSource.OFFICIAL in self.anchors:
            trust["trust_anchors"] = self.anchors[TrustSource.OFFICIAL]
        user_side = "".join(
            self.anchors[s]
            for s in (TrustSource.INTERIM, TrustSource.USER)
            if s in chosen and s in self.anchors
        )
        if user_side:
            trust["user_anchors"] = user_side
        if TrustSource.INTERIM in chosen and self.allowed_pem:
            trust["allowed_list"] = self.allowed_pem
        return {
            "trust": trust,
            "verify": {
                "verify_trust": True,
                "remote_manifest_fetch": fetch_remote,
                "ocsp_fetch": False,
            },
        }

    @functools.cached_property
    def fingerprint(self) -> str:
        """A short hash of the material, to cache c2pa contexts by (computed once)."""
        digest = hashlib.sha256()
        for source in self.sources:
            digest.update(source.value.encode())
            digest.update(self.anchors[source].encode())
        digest.update((self.allowed_pem or "").encode())
        digest.update(self.eku_config.encode())
        return digest.hexdigest()[:16]


def _snapshot_date(directory: Path, files: list[Path]) -> tuple[str | None, str]:
    record = directory / SNAPSHOT_FILE
    if record.is_file():
        try:
            data = json.loads(record.read_text("utf-8"))
            return str(data["date"]), "recorded"
        except (ValueError, KeyError, TypeError):
            pass
    if files:
        newest = max(f.stat().st_mtime for f in files)
        return dt.datetime.fromtimestamp(newest, dt.UTC).isoformat(timespec="seconds"), "file_mtime"
    return None, "none"


def parse_utc(text: str | None) -> dt.datetime | None:
    """An ISO 8601 time (``Z`` allowed; naive means UTC) as an aware datetime, or None when
    missing or unreadable."""
    if text is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _age_days(date: str | None, now: dt.datetime) -> int | None:
    parsed = parse_utc(date)
    return None if parsed is None else max(0, (now - parsed).days)


def holds_trust_lists(directory: Path) -> bool:
    """True when ``directory`` holds a trust list to load: the official or interim anchors, or
    a user anchor (``user/*.pem``)."""
    user = directory / USER_DIR
    return (
        (directory / OFFICIAL_FILE).is_file()
        or (directory / INTERIM_FILE).is_file()
        or (user.is_dir() and any(user.glob("*.pem")))
    )


def load_trust(
    directory: Path | None = None,
    *,
    sources: Iterable[TrustSource] | None = None,
    extra_anchors: Iterable[Path] = (),
    now: dt.datetime | None = None,
) -> TrustMaterial:
    """Load trust material from a trust directory.

    Parameters
    ----------
    directory
        The trust directory; :func:`default_trust_dir` when ``None``. A directory that does not
        exist simply holds no lists (nothing can then be "trusted"; reports say so).
    sources
        Which sources to use; all that are present when ``None``. An empty iterable (or only
        ``TrustSource.NONE``) loads nothing.
    extra_anchors
        PEM files used as user anchors for this load only.

    Raises
    ------
    TrustListError
        If any anchor file present does not parse, or a source asked for explicitly is missing.
    """
    root = directory if directory is not None else default_trust_dir()
    wanted = set(sources) if sources is not None else None
    if wanted is not None:
        wanted.discard(TrustSource.NONE)
    anchors: dict[TrustSource, str] = {}
    used_files: list[Path] = []
    counts: dict[str, int] = {}

    def want(source: TrustSource) -> bool:
        return wanted is None or source in wanted

    for source, name in (
        (TrustSource.OFFICIAL, OFFICIAL_FILE),
        (TrustSource.INTERIM, INTERIM_FILE),
    ):
        path = root / name
        if want(source) and path.is_file():
            anchors[source] = read_pem_certificates(path)
            used_files.append(path)
            counts[source.value] = anchors[source].count("-----BEGIN CERTIFICATE-----")
        elif wanted is not None and source in wanted:
            raise TrustListError(
                f"the {source.value} trust list is not in {root} (expected {name}). Run "
                "'provenance trust update' to download it, or pass --trust-dir."
            )
    user_pems: list[str] = []
    if want(TrustSource.USER):
        user_files = sorted((root / USER_DIR).glob("*.pem")) if (root / USER_DIR).is_dir() else []
        for path in [*user_files, *extra_anchors]:
            user_pems.append(read_pem_certificates(Path(path)))
    if user_pems:
        anchors[TrustSource.USER] = "".join(user_pems)
        counts[TrustSource.USER.value] = anchors[TrustSource.USER].count(
            "-----BEGIN CERTIFICATE-----"
        )
    allowed = None
    if TrustSource.INTERIM in anchors and (root / INTERIM_ALLOWED_FILE).is_file():
        allowed = read_pem_certificates(root / INTERIM_ALLOWED_FILE)
        counts["interim_allowed"] = allowed.count("-----BEGIN CERTIFICATE-----")
    eku = TrustMaterial().eku_config
    if (root / EKU_CONFIG_FILE).is_file():
        eku = _read_eku_config(root / EKU_CONFIG_FILE)
    date, date_source = _snapshot_date(root, used_files)
    moment = now or dt.datetime.now(dt.UTC)
    snapshot = TrustSnapshot(
        lists=tuple(
            s for s in (TrustSource.OFFICIAL, TrustSource.INTERIM, TrustSource.USER) if s in anchors
        ),
        directory=str(root),
        snapshot_date=date if used_files else None,
        age_days=_age_days(date, moment) if used_files else None,
        date_source=date_source if used_files else "none",
        anchor_counts=counts,
    )
    return TrustMaterial(anchors=anchors, allowed_pem=allowed, eku_config=eku, snapshot=snapshot)


def _download(url: str, timeout: float) -> bytes:
    import urllib.error  # imported here: only an explicit update touches the network
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "provenance-checker trust update"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise NetworkError(
            f"could not download {url} ({exc}). Check the network connection or pass "
            "--base-url to use a mirror; the lists already installed were left unchanged."
        ) from exc


def update_trust_lists(
    directory: Path | None = None,
    *,
    base_url: str | None = None,
    sources: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Download the current trust lists into ``directory`` and record the snapshot date.

    This is the only function of the library that uses the network, and only when called.
    Every file is downloaded and checked first; the directory is changed only when all of them
    are good, so a failed update leaves the previous lists in place.

    Parameters
    ----------
    base_url
        Fetch every file as ``{base_url}/{file name}`` (a mirror) instead of the public URLs.
    sources
        File name -> URL, overriding :data:`DEFAULT_SOURCES`.

    Returns
    -------
    dict
        The snapshot record written to ``snapshot.json``.
    """
    root = directory if directory is not None else default_trust_dir()
    urls = dict(sources or DEFAULT_SOURCES)
    if base_url:
        urls = {name: f"{base_url.rstrip('/')}/{name}" for name in urls}
    fetched: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(prefix="provenance-trust-") as staging:
        for name, url in urls.items():
            data = _download(url, timeout)
            staged = Path(staging) / name
            staged.write_bytes(data)
            if name.endswith(".pem"):
                read_pem_certificates(staged)
            elif name.endswith(".cfg"):
                _read_eku_config(staged)
            fetched[name] = data
        root.mkdir(parents=True, exist_ok=True)
        for name in fetched:
            target = root / name
            temporary = root / f".{name}.tmp"
            shutil.copyfile(Path(staging) / name, temporary)
            os.replace(temporary, target)
    moment = now or dt.datetime.now(dt.UTC)
    record = {
        "date": moment.isoformat(timespec="seconds"),
        "files": {
            name: {
                "url": urls[name],
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
            }
            for name, data in fetched.items()
        },
    }
    (root / SNAPSHOT_FILE).write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    return record


def add_user_anchor(pem_file: Path, directory: Path | None = None) -> Path:
    """Check a PEM anchor file and copy it into the trust directory's ``user/`` folder."""
    read_pem_certificates(pem_file)
    root = directory if directory is not None else default_trust_dir()
    target_dir = root / USER_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / (pem_file.stem + ".pem")
    shutil.copyfile(pem_file, target)
    return target
