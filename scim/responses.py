"""SCIM on the wire: JSON bodies, resource rendering, ETags, and errors mapped in one place."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from flask import Response, request
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    PayloadTooLargeException,
    PreconditionFailedException,
    ResponseParameters,
    SCIMException,
)
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from scim.schemas import MAX_PAYLOAD_SIZE
from store.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unavailable,
)
from store.validation import storable

MEDIA_TYPE = "application/scim+json"
UNIQUE_FIELDS = frozenset({"user_name", "emails", "display_name", "name"})

log = logging.getLogger(__name__)


def scim_json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(scim_bytes(payload), status=status, headers=headers, content_type=MEDIA_TYPE)


def scim_bytes(payload: Any) -> bytes:
    """A SCIM body as sent: compact JSON in UTF-8."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def document_response(
    document: dict[str, Any], status: int = 200, location: bool = False
) -> Response:
    """A resource written as a dict (scim.user_json, scim.group_json) with its ETag, and its
    Location for creations."""
    headers = {"ETag": document["meta"]["version"]}
    if location:
        headers["Location"] = document["meta"]["location"]
    return scim_json(document, status, headers)


def bodiless(status: int, etag: str | None = None) -> Response:
    """A 204 or 304: no body, so no Content-Type either (werkzeug would say text/html)."""
    response = Response(status=status, headers={"ETag": etag} if etag else None)
    del response.headers["Content-Type"]
    return response


def read_response(document: dict[str, Any]) -> Response:
    """`document_response` of a GET: 304 when the client holds this version already."""
    version = document["meta"]["version"]
    if not_modified(version):
        return bodiless(304, version)
    return document_response(document)


def render(
    resource: Any,
    context: Context,
    params: ResponseParameters[Any] | None = None,
    status: int = 200,
    location: bool = False,
) -> Response:
    """A resource response with its ETag (and Location for creations)."""
    headers = {}
    if resource.meta is not None:
        headers["ETag"] = resource.meta.version
        if location:
            headers["Location"] = resource.meta.location
    payload = resource.model_dump(scim_ctx=context, response_parameters=params)
    return scim_json(payload, status, headers)


def error_response(
    status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    error = Error(status=status, scim_type=scim_type, detail=detail)
    if status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="scim"'}
    return scim_json(error.model_dump(scim_ctx=Context.DEFAULT), status, headers)


def refusal(exc: Exception) -> Response:
    """Any exception as the SCIM Error the client gets: a refusal in its own words, the database
    out of reach as a 503 to retry, a fault of ours as a 500 (logged with its traceback)."""
    if isinstance(exc, SCIMException | ValidationError | DomainError | HTTPException | Unavailable):
        return from_exception(exc)
    log.error("SCIM request failed", exc_info=exc)
    return error_response(500, "The server failed to handle this request.")


def request_line_too_long(limit: int) -> Response:
    """The SCIM error for a request line longer than the server reads (a GET with a long
    filter): a query that long goes in the body of a POST to .search (RFC 7644 §3.4.3)."""
    return error_response(
        414,
        f"The request line is longer than {limit} bytes. Send a long query as POST "
        "/scim/v2/Users/.search (or /Groups/.search, /.search) with it in the body.",
    )


def outcome(response: Response) -> str:
    """What the provisioning log says of a refusal: its detail (a 503's too: busy, out of
    reach, or written but not known to be), or that we failed."""
    if response.status_code >= 500 and response.status_code != 503:
        return "internal error"
    return str(json.loads(response.get_data()).get("detail"))


def from_exception(exc: Exception) -> Response:
    """The one translation of every refusal into a SCIM Error (RFC 7644 §3.12)."""
    if isinstance(exc, SCIMException):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ValidationError):
            # A PATCH value scim2-models found of the wrong type: its pydantic report is no
            # sentence for a person, the first error's is.
            detail = Error.from_validation_error(cause.errors()[0]).detail or exc.detail
            return error_response(exc.status, detail, exc.scim_type or None)
        return error_response(exc.status, exc.detail, exc.scim_type or None)
    if isinstance(exc, ValidationError):
        error = Error.from_validation_error(exc.errors()[0])
        return error_response(
            int(error.status or 400), error.detail or "Invalid request.", error.scim_type
        )
    if isinstance(exc, DomainError):
        return _domain_error(exc)
    if isinstance(exc, Unavailable):
        log.warning("SCIM request not answered: %s", exc)
        return error_response(503, exc.message, headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, HTTPException):
        return error_response(exc.code or 500, exc.description or exc.name)
    raise exc


def _domain_error(exc: DomainError) -> Response:
    if isinstance(exc, NotFound):
        return error_response(404, exc.message)
    if isinstance(exc, Conflict):
        scim_type = "uniqueness" if exc.field in UNIQUE_FIELDS else None
        return error_response(409, exc.message, scim_type)
    if isinstance(exc, Forbidden):
        return error_response(403, exc.message)
    if isinstance(exc, PreconditionFailed):
        return error_response(412, exc.message)
    if isinstance(exc, InvalidInput):
        return error_response(400, exc.message, "invalidValue")
    return error_response(400, exc.message)


def json_body(asked: Request | None = None) -> Any:
    """The JSON of a request (Flask's current one unless given), refused with 413 past the
    advertised size and 400 when malformed."""
    asked = asked if asked is not None else request
    if (asked.content_length or 0) > MAX_PAYLOAD_SIZE:
        raise PayloadTooLargeException(
            detail=f"The request body is larger than {MAX_PAYLOAD_SIZE} bytes."
        )
    return parse_json(asked.stream.read(MAX_PAYLOAD_SIZE + 1))


def parse_json(raw: bytes) -> dict[str, Any]:
    """A request body read (at most one byte past the limit) as `json_body` takes it."""
    if len(raw) > MAX_PAYLOAD_SIZE:
        raise PayloadTooLargeException(
            detail=f"The request body is larger than {MAX_PAYLOAD_SIZE} bytes."
        )
    try:
        body = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except ValueError as exc:  # not JSON, not UTF-8, or a number of thousands of digits
        raise InvalidSyntaxException(detail=f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise InvalidSyntaxException(detail=_TOO_DEEP) from None
    _check_shape(body)
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The request body must be a JSON object.")
    return body


def _not_json(constant: str) -> Any:
    """NaN and ±Infinity, which Python's reader takes but JSON (RFC 8259 §6) has not."""
    raise ValueError(f"{constant} is not a JSON number")


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent; one past a float's range (1e999) is refused,
    not read as Infinity."""
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:20]} is out of range")
    return number


# SCIM bodies nest a few levels (a bulk operation's user's emails); far deeper is an attack on the
# recursion of whatever reads it next.
MAX_NESTING = 32
_TOO_DEEP = f"The request body is nested deeper than {MAX_NESTING} levels."


def _check_shape(body: Any) -> None:
    """Refuse nesting past MAX_NESTING and text no database stores: not Unicode (a JSON escape
    such as \\ud800 decodes to half a character) or holding NUL (\\u0000), without recursing."""
    pending = [(body, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str) and not storable(item):
            raise InvalidSyntaxException(
                detail="The request body holds text that is not valid Unicode, or a NUL "
                "character (\\u0000); no text may."
            )
        elif isinstance(item, dict | list):
            if depth >= MAX_NESTING:
                raise InvalidSyntaxException(detail=_TOO_DEEP)
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)


def if_match() -> frozenset[int] | None:
    """The versions an If-Match header names (RFC 7232 §3.1: any may match); None when absent
    or `*`."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    versions = versions_named(header)
    if versions is not None and not versions:
        raise PreconditionFailedException(
            detail=f"If-Match {header} names no version of this resource."
        )
    return versions


MAX_DIGITS = 18  # of a version: more name no version (and would not fit a number a database has)


def versions_named(header: str) -> frozenset[int] | None:
    """The versions a list of entity tags names (`W/"3", "4"`); None for `*`, any version."""
    if header.strip() == "*":
        return None
    tags = (tag.strip().removeprefix("W/").strip('"') for tag in header.split(","))
    return frozenset(
        int(tag) for tag in tags if tag.isascii() and tag.isdigit() and len(tag) <= MAX_DIGITS
    )


def not_modified(etag: str) -> bool:
    """True when If-None-Match names the current version (GET answers 304)."""
    header = request.headers.get("If-None-Match")
    if header is None:
        return False
    named = versions_named(header)
    return named is None or bool(named & (versions_named(etag) or frozenset()))
