"""What the pages that use passkeys share: the relying party (from the issuer URL), the JSON a
page's script posts (CSRF token in the X-CSRFToken header), and refusals answered as JSON."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request
from flask_wtf.csrf import validate_csrf
from werkzeug.wrappers import Response
from wtforms import ValidationError

from store.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from store.passkey_ceremonies import RelyingParty

STATUS_CODES = {NotFound: 404, Conflict: 409, Forbidden: 403}
EXPIRED_PAGE = "This page has expired. Reload it and try again."


def relying_party() -> RelyingParty:
    """The keys are made for the issuer's host: ROLLCALL_ISSUER, or the URL of this request
    when none is configured (development), as `sso.keys.issuer` decides."""
    configured = current_app.config["ROLLCALL_SETTINGS"].issuer
    return RelyingParty.of(configured or request.host_url)


def posted_json() -> dict[str, Any]:
    """The JSON object a page's script posted, once its CSRF token checks out."""
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except ValidationError as error:
        raise InvalidInput(EXPIRED_PAGE) from error
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("The request must be a JSON object.")
    return body


def status_of(error: DomainError) -> int:
    return next((code for kind, code in STATUS_CODES.items() if isinstance(error, kind)), 400)


def json_refusal(error: DomainError) -> tuple[Response, int]:
    """A store refusal as the scripts read it: {"error": sentence}."""
    return jsonify(error=error.message), status_of(error)
