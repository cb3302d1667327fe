"""The evidence model: typed, frozen results of a check.

A :class:`Report` holds independent pieces of evidence (media facts, Content Credentials,
watermarks) and a :class:`Verdict` derived from them by explicit rules. Absence of a signal is a
result, never an exception, and "could not check" is an explicit state with a reason.

Every class converts to plain JSON-ready data with ``to_dict()`` and back with ``from_dict()``;
the JSON Schema shipped in ``provenance/schema/report.schema.json`` describes that data and is
generated from these classes (see :func:`provenance.report_schema.json_schema`).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeVar

from provenance._plain import Serialisable as _Serialisable
from provenance._plain import from_plain, printable, printable_plain, to_plain

__all__ = [
    "SCHEMA_VERSION",
    "AIDeclaration",
    "AISignal",
    "Action",
    "CheckError",
    "CredentialsEvidence",
    "CredentialsState",
    "Detector",
    "FramePicture",
    "Ingredient",
    "Integrity",
    "ManifestSummary",
    "MarkIdentifier",
    "MediaInfo",
    "MediaKind",
    "RecoveredCredentials",
    "RecoveryState",
    "Report",
    "SignalLocation",
    "Signer",
    "SoftBinding",
    "StatusKind",
    "TrustSnapshot",
    "TrustSource",
    "TrustStatus",
    "ValidationCode",
    "Verdict",
    "VerdictCode",
    "WatermarkEvidence",
    "WatermarkFrame",
    "WatermarkSegment",
    "WatermarkState",
    "from_plain",
    "load_schema",
    "printable",
    "to_plain",
]

SCHEMA_VERSION = "1.6"

_T = TypeVar("_T")


# --------------------------------------------------------------------------- enums


class MediaKind(enum.StrEnum):
    """What kind of media a file holds."""

    VIDEO = "video"
    IMAGE = "image"
    AUDIO = "audio"
    OTHER = "other"


class CredentialsState(enum.StrEnum):
    """Whether Content Credentials could be looked for, and what was found."""

    PRESENT = "present"
    """A manifest store was found and validated."""
    ABSENT = "absent"
    """The format can carry credentials and none were found (this proves nothing)."""
    NOT_EMBEDDABLE = "not_embeddable"
    """The container cannot carry C2PA (WebM, Matroska, MPEG-TS): not an error."""
    REMOTE = "remote"
    """Only a reference to a remote manifest was found; it was not fetched or verified."""
    CORRUPT = "corrupt"
    """A manifest is present but could not be parsed (the message says why)."""
    UNSUPPORTED = "unsupported"
    """The input cannot be verified as given (for example a bare fMP4 fragment)."""
    NOT_CHECKED = "not_checked"
    """The check did not run (the input could not be read); the report's errors say why."""


class Integrity(enum.StrEnum):
    """Whether the manifest signature and hard bindings (content hashes) check out."""

    INTACT = "intact"
    TAMPERED = "tampered"
    MALFORMED = "malformed"
    INCOMPLETE = "incomplete"
    """Cannot be decided from the given bytes alone (an fMP4 init segment without fragments)."""
    NOT_APPLICABLE = "not_applicable"


class TrustStatus(enum.StrEnum):
    """Whether the signer chains to a trust anchor that was loaded."""

    TRUSTED = "trusted"
    UNTRUSTED = "untrusted"
    SIGNER_INVALID = "signer_invalid"
    """The signing certificate is expired, revoked or breaks the C2PA certificate profile."""
    NOT_APPLICABLE = "not_applicable"


class TrustSource(enum.StrEnum):
    """Where a trust anchor came from. Each source is reported under its own label."""

    OFFICIAL = "official"
    """The official C2PA Trust List."""
    INTERIM = "interim"
    """The legacy (frozen) interim list that the public Verify site still uses."""
    USER = "user"
    """Anchors the user added."""
    NONE = "none"


class AIDeclaration(enum.StrEnum):
    """What the credentials declare about generative AI, strongest first."""

    GENERATIVE_AI = "generative_ai"
    CONTAINS_AI = "contains_ai"
    POSSIBLY_AI = "possibly_ai"
    CAPTURE = "capture"
    OTHER = "other"
    NONE = "none"
    UNKNOWN = "unknown"
    """The manifest could not be read here (a remote manifest not fetched), so whether it
    declares AI is not known: never "none". Since schema 1.6."""


class SignalLocation(enum.StrEnum):
    """Where in the manifest store a manifest sits, seen from the active manifest."""

    ACTIVE = "active_manifest"
    PARENT = "parent"
    INGREDIENT = "component_ingredient"
    UNLINKED = "unlinked_manifest"


class StatusKind(enum.StrEnum):
    """The C2PA validation-status kind of a code."""

    SUCCESS = "success"
    INFORMATIONAL = "informational"
    FAILURE = "failure"


class Detector(enum.StrEnum):
    """The watermark detectors (the names ``--detector`` and reports use)."""

    DWTDCT = "dwtdct"
    """invisible-watermark's public dwtDct marks (SD 1.x / 2.x, SDXL, SVD, FLUX, InvokeAI)."""
    KEYED = "keyed"
    """The keyed mark of ``provenance mark`` (found only with its key)."""


class WatermarkState(enum.StrEnum):
    """Outcome of one watermark detector."""

    DETECTED = "detected"
    NOT_DETECTED = "not_detected"
    INCONCLUSIVE = "inconclusive"
    NOT_CHECKED = "not_checked"


class VerdictCode(enum.StrEnum):
    """Verdict codes, derived by the rules in :mod:`provenance.verdict`."""

    AI_DECLARED = "ai_declared"
    AI_EDITED = "ai_edited"
    AI_POSSIBLE = "ai_possible"
    AI_WATERMARK = "ai_watermark"
    CREDENTIALS_TAMPERED = "credentials_tampered"
    CREDENTIALS_INVALID = "credentials_invalid"
    CREDENTIALS_RECOVERED = "credentials_recovered"
    CREDENTIALS_REMOTE = "credentials_remote"
    CREDENTIALS_UNTRUSTED = "credentials_untrusted"
    CREDENTIALS_VALID_NO_AI = "credentials_valid_no_ai"
    NO_SIGNAL = "no_signal"
    UNSUPPORTED = "unsupported"
    ERROR = "error"


class RecoveryState(enum.StrEnum):
    """What looking up a watermark identifier gave: a manifest that declares it and validates
    (recovered), none (not found), only manifests that cannot stand for this file (rejected),
    or a source that could not be asked (error); the message says why."""

    RECOVERED = "recovered"
    NOT_FOUND = "not_found"
    REJECTED = "rejected"
    ERROR = "error"


# --------------------------------------------------------------------------- media


@dataclass(frozen=True)
class MediaInfo(_Serialisable):
    """Facts about the file's media, read with PyAV (video, audio) or OpenCV (images)."""

    kind: MediaKind
    container: str | None
    """Demuxer or image format name, e.g. ``mov,mp4,m4a,3gp,3g2,mj2`` or ``jpeg``."""
    size_bytes: int
    video_codec: str | None = None
    audio_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration_seconds: float | None = None
    frame_count: int | None = None
    frame_count_estimated: bool = False
    """True when the container does not state a frame count and it was derived from fps x duration."""
    rotation_degrees: int = 0
    """Clockwise rotation a player applies for display (0, 90, 180, 270), from the display
    matrix (video) or EXIF orientation (JPEG)."""
    has_audio: bool = False
    pixel_format: str | None = None


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class ValidationCode(_Serialisable):
    """One C2PA validation status code with a plain-language explanation."""

    code: str
    kind: StatusKind
    explanation: str
    """Our plain-language explanation of the code."""
    detail: str | None = None
    """The SDK's own message for this occurrence."""
    url: str | None = None
    scope: str = "active_manifest"
    """``active_manifest``, ``ingredient``, or ``ingredient_recorded`` (what a signer recorded
    about an ingredient when it added it: history, not this file's integrity)."""


@dataclass(frozen=True)
class Signer(_Serialisable):
    """Who signed a manifest, as read from its signature."""

    issuer: str | None = None
    common_name: str | None = None
    serial_number: str | None = None
    algorithm: str | None = None
    signing_time: str | None = None


@dataclass(frozen=True)
class Action(_Serialisable):
    """One action from a ``c2pa.actions`` assertion."""

    action: str
    digital_source_type: str | None = None
    software_agent: str | None = None
    description: str | None = None
    when: str | None = None


@dataclass(frozen=True)
class Ingredient(_Serialisable):
    """An ingredient a manifest lists."""

    title: str | None = None
    relationship: str | None = None
    format: str | None = None
    manifest_label: str | None = None


@dataclass(frozen=True)
class ManifestSummary(_Serialisable):
    """One manifest of the store: the history of the asset, one step each."""

    label: str
    location: SignalLocation
    claim_generator: str | None = None
    title: str | None = None
    format: str | None = None
    signer: Signer | None = None
    actions: tuple[Action, ...] = ()
    ingredients: tuple[Ingredient, ...] = ()


@dataclass(frozen=True)
class AISignal(_Serialisable):
    """One piece of AI-related declaration found in the credentials."""

    signal: str
    """C2PA conformance signal name (fullyGenAIMedia, partlyGenAICreation, capturedMedia, ...)."""
    category: AIDeclaration
    location: SignalLocation
    manifest_label: str
    field: str
    """Where the value came from: digitalSourceType, softwareAgent, description or claim_generator."""
    value: str
    """The normalised value (last path segment of a digitalSourceType URI)."""
    raw_value: str
    action: str | None = None
    software_agent: str | None = None


@dataclass(frozen=True)
class SoftBinding(_Serialisable):
    """A soft-binding (watermark or fingerprint) reference declared in a manifest."""

    algorithm: str
    manifest_label: str
    scope: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class TrustSnapshot(_Serialisable):
    """Which trust material a check used, and how old it is."""

    lists: tuple[TrustSource, ...] = ()
    directory: str | None = None
    snapshot_date: str | None = None
    age_days: int | None = None
    date_source: str = "none"
    """``recorded`` (by ``provenance trust update``), ``file_mtime`` or ``none``."""
    anchor_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CredentialsEvidence(_Serialisable):
    """Content Credentials (C2PA) evidence. Integrity and trust are separate questions."""

    state: CredentialsState
    integrity: Integrity = Integrity.NOT_APPLICABLE
    trust: TrustStatus = TrustStatus.NOT_APPLICABLE
    trust_source: TrustSource = TrustSource.NONE
    validation_state: str | None = None
    """The SDK's overall state: ``Trusted``, ``Valid`` or ``Invalid``."""
    ai_declaration: AIDeclaration = AIDeclaration.NONE
    ai_signals: tuple[AISignal, ...] = ()
    signer: Signer | None = None
    claim_generator: str | None = None
    title: str | None = None
    active_manifest: str | None = None
    manifest_count: int = 0
    history: tuple[ManifestSummary, ...] = ()
    validation_codes: tuple[ValidationCode, ...] = ()
    soft_bindings: tuple[SoftBinding, ...] = ()
    remote_manifest_url: str | None = None
    embedded: bool | None = None
    thumbnail: str | None = None
    """Resource identifier of the active manifest's thumbnail, when there is one."""
    thumbnail_data: str | None = None
    """The thumbnail itself as a ``data:`` URI, only when previews were asked for
    (``CheckOptions.previews``); None otherwise."""
    trust_snapshot: TrustSnapshot | None = None
    message: str | None = None
    """Plain-language note: why the state is what it is, or the SDK's error message."""
    certificate_expired_at: str | None = None
    """When the active signer's certificate has expired (its notAfter, ISO 8601) and the
    signature stands only because a timestamp proves it was made while the certificate was
    valid; None otherwise. Since schema 1.6."""


# --------------------------------------------------------------------------- watermarks


@dataclass(frozen=True)
class WatermarkSegment(_Serialisable):
    """A stretch of time with one watermark decision."""

    start_seconds: float
    end_seconds: float
    detected: bool
    statistic: float | None = None


@dataclass(frozen=True)
class MarkIdentifier(_Serialisable):
    """An identifier read from a keyed mark (a soft binding a repository can resolve)."""

    algorithm: str
    """The soft-binding algorithm, as ``c2pa.soft-binding`` assertions name it."""
    value: str
    """The soft-binding value (base64 of the identifier's 8 bytes)."""
    start_seconds: float | None = None
    """The stretch carrying it (None: an image, or read from the whole clip only)."""
    end_seconds: float | None = None
    matched: bool = False
    """Told apart among the identifiers a repository holds, rather than decoded blind."""


@dataclass(frozen=True)
class WatermarkFrame(_Serialisable):
    """One decoded frame's score for one mark."""

    index: int
    """0-based presentation-order position of the frame in its stream (0 for an image)."""
    time_seconds: float | None
    """Presentation time from the stream's start; None for images and untimed streams."""
    statistic: float
    """The frame's own z: its best over the detector's hypotheses (for a pooled entry, the
    best of the frames it stands for)."""
    picture_type: str | None = None
    preview: str | None = None
    """A small JPEG of the frame as a ``data:`` URI, only for the strongest frame and only when
    previews were asked for (``CheckOptions.previews``)."""


@dataclass(frozen=True)
class FramePicture(_Serialisable):
    """A small picture of one frame read, for people to see what was checked."""

    index: int
    """0-based presentation-order position of the frame in its stream (0 for an image)."""
    time_seconds: float | None
    """Presentation time from the stream's start; None for images and untimed streams."""
    picture_type: str | None
    preview: str
    """A small JPEG of the frame as a ``data:`` URI."""


@dataclass(frozen=True)
class WatermarkEvidence(_Serialisable):
    """One watermark detector's result for one mark (filled by the watermark detectors)."""

    detector: Detector
    state: WatermarkState
    mark: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    false_positive_rate: float | None = None
    """The detector's calibrated false-positive rate at its threshold."""
    hypothesis: str | None = None
    hypotheses_tested: int = 0
    frames_used: int = 0
    segments: tuple[WatermarkSegment, ...] = ()
    frames: tuple[WatermarkFrame, ...] = ()
    """Each decoded frame's score in order (above 600, neighbours pooled keeping the best)."""
    strongest_frame: WatermarkFrame | None = None
    """The frame with the highest single-frame score."""
    message: str | None = None
    frames_read: int | None = None
    """Frames the detector was given (``frames_used`` of them scored); None: it did not run."""
    frames_over_threshold: int | None = None
    """Scored frames whose own statistic reaches the file's threshold."""
    frames_skipped: Mapping[str, int] = field(default_factory=dict)
    """Frames not counted on, by reason: ``compressed`` (past the quantiser limit: a mark
    found there counts, an absence does not), ``subsampled``, ``small``, ``flat``."""
    highest_quantiser: float | None = None
    """The highest mean quantiser (H.264 scale) among the frames past the limit."""
    matched_bits: int | None = None
    """dwtDct: message bits decoded right by majority vote, for the statistic reported."""
    payload_bits: int | None = None
    """dwtDct: the length of the best payload, in bits."""
    untested_hypotheses: tuple[str, ...] = ()
    """dwtDct: embedding hypotheses no frame could test (a mark embedded so is not ruled out)."""
    summed_statistic: float | None = None
    """z of the frames combined (keyed: summed surfaces; dwtDct: the clip statistic)."""
    best_frame_statistic: float | None = None
    """z of the best single frame (with ``summed_statistic``)."""
    identifiers: tuple[MarkIdentifier, ...] = ()
    """Keyed mark: the identifiers it carries (read once the mark is found; a spliced clip
    shows each with its stretch). Empty before schema 1.4."""
    survival_probability: float | None = None
    """How likely the mark, had it been embedded, would have been found in this file (the
    detector's mark-survival model, from codec, quantisers, size and texture). Below
    ``policy.SURVIVAL_LEVEL`` a mark not found is ``inconclusive``. None: no model."""


# --------------------------------------------------------------------------- verdict and report


@dataclass(frozen=True)
class Verdict(_Serialisable):
    """The conclusion drawn from the evidence by explicit rules."""

    code: VerdictCode
    summary: str
    labels: tuple[VerdictCode, ...] = ()
    """Every verdict code whose rule matched, the primary one first."""
    reasons: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecoveredCredentials(_Serialisable):
    """Credentials recovered for a stripped file: the manifest store its watermark's
    identifier (the soft binding ``algorithm``, ``value``) leads to in ``source``
    (``repository <path>`` or ``resolver <url>``), validated against this file with the
    embedded credentials' trust lists. ``content_changed``: the content hash no longer
    matches (as after any re-encoding; not tampering, the identifier ties them)."""

    algorithm: str
    value: str
    source: str
    state: RecoveryState
    manifest_id: str | None = None
    credentials: CredentialsEvidence | None = None
    content_changed: bool | None = None
    message: str | None = None


@dataclass(frozen=True)
class CheckError(_Serialisable):
    """Something that stopped part of a check, with a message that says what to do."""

    stage: str
    """``input``, ``media``, ``credentials``, ``watermark`` or ``recovery``."""
    code: str
    message: str


@dataclass(frozen=True)
class Report(_Serialisable):
    """Everything one check found about one file."""

    path: str
    sha256: str | None
    size_bytes: int | None
    media: MediaInfo | None
    credentials: CredentialsEvidence
    watermarks: tuple[WatermarkEvidence, ...]
    verdict: Verdict
    errors: tuple[CheckError, ...]
    tool_version: str
    engine_versions: Mapping[str, str]
    checked_at: str
    elapsed_seconds: float
    schema_version: str = SCHEMA_VERSION
    recovered: tuple[RecoveredCredentials, ...] = ()
    """Recovered credentials (``--repository``, ``--resolve``). Empty before schema 1.4."""
    frame_pictures: tuple[FramePicture, ...] = ()
    """Up to :data:`~provenance.media.preview.STRIP_FRAMES` of the frames read, spread over the
    clip (the picture itself for an image), only when previews were asked for
    (``CheckOptions.previews``) and the watermark detectors ran. Empty before schema 1.5."""

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialise to JSON text."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Report:
        """Parse JSON text produced by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def printable(self) -> Report:
        """This report with every text valid Unicode (:func:`printable`: a file name that is
        not UTF-8 shows its bytes as ``\\xNN``), so that every output can write it."""
        plain = self.to_dict()
        clean = printable_plain(plain)
        return self if clean == plain else Report.from_dict(clean)


# --------------------------------------------------------------------------- JSON Schema


def load_schema() -> dict[str, Any]:
    """Return the JSON Schema shipped with the package."""
    text = resources.files("provenance").joinpath("schema/report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
