"""Exception hierarchy.

Every exception the library raises on purpose derives from :class:`ProvenanceError`; each
subclass also derives from the builtin that matches its nature, so callers that already catch
``ValueError`` or ``OSError`` keep working.
"""

from __future__ import annotations

__all__ = [
    "ArgumentError",
    "InputError",
    "MediaError",
    "NetworkError",
    "OversizedMediaError",
    "ProvenanceError",
    "ScanError",
    "TrustListError",
]


class ProvenanceError(Exception):
    """Root of every error raised by the provenance library."""


class ArgumentError(ProvenanceError, ValueError, TypeError):
    """An argument or option is unknown, out of range or of the wrong kind; the message names
    it and what is allowed. It is both a ``ValueError`` and a ``TypeError``, so callers that
    catch either keep working."""


class InputError(ProvenanceError, ValueError):
    """The input path or bytes cannot be used (missing, a directory, unreadable, empty)."""


class MediaError(ProvenanceError, ValueError):
    """The input is not media that can be decoded (truncated, corrupt, or not media at all)."""


class OversizedMediaError(MediaError):
    """A picture or video frame declares more pixels than the decoding budget allows; it was
    refused before anything decoded it (see :data:`provenance.media.declared.MAX_PIXELS`)."""


class TrustListError(ProvenanceError, ValueError):
    """A trust anchor file or trust directory is invalid (for example PEM that does not parse)."""


class NetworkError(ProvenanceError, OSError):
    """A network operation the user asked for explicitly (such as a trust-list update) failed."""


class ScanError(ProvenanceError, RuntimeError):
    """A batch of checks cannot start or go on (unusable options, workers that cannot start,
    an unreachable cluster, a results store that cannot be used); single files never raise it:
    a bad file gets its own report."""
