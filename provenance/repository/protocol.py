"""What a resolution API request must look like, and how a refusal is answered.

The specification gives statuses but no error body: every refusal is JSON
``{"error": "what went wrong and what to do"}``. Bodies are counted while they stream in, so
a request over its limit is refused (413) when the limit is crossed, never after the whole
body was read.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, BinaryIO

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from provenance.errors import ProvenanceError

__all__ = [
    "DEFAULT_MAX_RESULTS",
    "MAX_RESULTS",
    "ApiError",
    "algorithm",
    "binding_value",
    "body_media_type",
    "error_response",
    "is_authorized",
    "json_response",
    "query_max_results",
    "query_parameter",
    "read_body",
    "spool_body",
]

#: ``maxResults`` when the query does not give it (the specification's default).
DEFAULT_MAX_RESULTS = 10
#: Largest ``maxResults`` served; a larger value is served as this many.
MAX_RESULTS = 100

_ALG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,254}")


class ApiError(ProvenanceError):
    """A request that cannot be served: its status and the message the client gets."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer that no browser will sniff into something else."""
    return JSONResponse(
        data, status_code=status, headers={"X-Content-Type-Options": "nosniff", **(headers or {})}
    )


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """The one shape of every refusal: ``{"error": message}``."""
    return json_response({"error": message}, status, headers)


def query_parameter(request: Request, name: str, *, required: bool = False) -> str | None:
    """One query parameter, given at most once."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise ApiError(400, f"give the query parameter {name} once, not {len(values)} times")
    if not values or values[0] == "":
        if required:
            raise ApiError(400, f"the query parameter {name} is missing")
        return None
    return values[0]


def _whole_number(text: str) -> int | None:
    """A non-negative decimal number in ASCII digits (huge ones saturate), or None."""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= 18 else 10**18


def query_max_results(request: Request) -> int:
    """``maxResults``: the default when absent, at most :data:`MAX_RESULTS`."""
    given = query_parameter(request, "maxResults")
    if given is None:
        return DEFAULT_MAX_RESULTS
    number = _whole_number(given)
    if number is None or number < 1:
        raise ApiError(400, f"maxResults must be a whole number from 1, not {given[:40]!r}")
    return min(number, MAX_RESULTS)


def algorithm(alg: Any, name: str = "alg") -> str:
    """A soft-binding algorithm name as the C2PA list spells them (checked before use)."""
    if not isinstance(alg, str) or not _ALG.fullmatch(alg):
        raise ApiError(
            400,
            f"{name} must be a soft-binding algorithm name such as com.adobe.trustmark.Q "
            "(letters, digits, '.', '-', ':', at most 255 characters); "
            "GET /services/supportedAlgorithms lists the ones served here",
        )
    return alg


def binding_value(value: Any, name: str = "value") -> str:
    """A soft-binding value, which the specification sends in base64."""
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{name} must be a non-empty base64 string")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        hint = " (in a URL, send '+' as %2B and '/' as %2F)" if " " in value else ""
        raise ApiError(400, f"{name} is not base64 (RFC 4648, with padding){hint}") from None
    return value


def body_media_type(request: Request) -> str:
    """The body's media type, without parameters, lower case ('' when not given)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"the body is larger than this server accepts ({limit:,} bytes)",
        {"Connection": "close"},
    )


async def _stream(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body's chunks, refused (413) as soon as more than ``limit`` bytes arrived, and at
    once when Content-Length already says so."""
    declared = _whole_number(request.headers.get("content-length", ""))
    if declared is not None and declared > limit:
        raise _too_large(limit)
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            yield chunk
    except ClientDisconnect:
        raise ApiError(400, "the client went away before the body was complete") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes (413 beyond)."""
    return b"".join([chunk async for chunk in _stream(request, limit)])


async def spool_body(request: Request, file: BinaryIO, limit: int) -> int:
    """Write the body to ``file``; returns its size."""
    size = 0
    async for chunk in _stream(request, limit):
        file.write(chunk)  # small chunks into the page cache: not worth a thread hop each
        size += len(chunk)
    return size


def is_authorized(request: Request, token: str) -> bool:
    """Whether the request carries ``Authorization: Bearer <token>`` (compared in constant
    time, so the answer's timing says nothing about how much of a guess was right)."""
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))
