"""The /scim/v2 blueprint: authentication, error translation and the provisioning log.

The routes themselves live in users.py, groups.py, discovery.py and bulk.py; this module wires
them onto one blueprint so every route gets the same door.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from rollcall.web.database import database
from scim import auth, bulk, context, discovery, groups, plain_users, responses, users
from store.errors import Unavailable

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")

PUBLIC = {
    "scim.service_provider_config",
    "scim.resource_types",
    "scim.resource_type",
    "scim.schemas",
    "scim.schema",
}
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


# Plain requests of these endpoints are answered whole by scim.plain_users, which authenticates,
# logs and refuses them itself (as it does for rollcall.web.dispatch).
PLAIN = {
    "scim.get_user": plain_users.is_plain_read,
    "scim.list_users": plain_users.is_plain_lookup,
    "scim.create_user": plain_users.is_plain_create,
}


@bp.before_request
def _authenticate() -> None:
    g.scim_error = None
    if request.endpoint in PUBLIC:
        return
    plain = PLAIN.get(request.endpoint or "")
    if plain is not None and plain(request):
        g.scim_plain = True
        return
    g.caller = auth.authenticate()


@bp.teardown_request
def _close_reading(_exc: BaseException | None) -> None:
    context.close_reading()


@bp.errorhandler(Exception)
def _error(exc: Exception) -> Response:
    """Every refusal, and every fault of ours, answered in SCIM's format in one place."""
    response = responses.refusal(exc)
    g.scim_error = responses.outcome(response)
    return response


@bp.after_request
def _log(response: Response) -> Response:
    """Record what the identity provider asked for and what came of it (SPEC: 30 days).

    Changes that went through were logged in their own transaction (context.change).
    """
    caller = g.get("caller")
    is_search = request.path.endswith("/.search")
    if caller is None or request.method not in CHANGES or is_search or g.get("scim_logged"):
        return response
    try:
        with database().transaction() as tx:
            context.log_request(tx, response.status_code, g.scim_error)
    except (SQLAlchemyError, Unavailable):
        # The change itself is committed; failing to log it must not turn it into an error.
        current_app.logger.exception("provisioning log not written for %s", request.path)
    return response


def _route(rule: str, view: Any, methods: list[str], endpoint: str | None = None) -> None:
    bp.add_url_rule(rule, endpoint or view.__name__, view, methods=methods)


_route("/Users", users.list_users, ["GET"])
_route("/Users", users.create_user, ["POST"])
_route("/Users/.search", users.search_users, ["POST"])
_route("/Users/<resource_id>", users.get_user, ["GET"])
_route("/Users/<resource_id>", users.replace_user, ["PUT"])
_route("/Users/<resource_id>", users.patch_user, ["PATCH"])
_route("/Users/<resource_id>", users.delete_user, ["DELETE"])
_route("/Me", users.me, ["GET", "PUT", "PATCH", "DELETE"])
_route("/Groups", groups.list_groups, ["GET"])
_route("/Groups", groups.create_group, ["POST"])
_route("/Groups/.search", groups.search_groups, ["POST"])
_route("/Groups/<resource_id>", groups.get_group, ["GET"])
_route("/Groups/<resource_id>", groups.replace_group, ["PUT"])
_route("/Groups/<resource_id>", groups.patch_group, ["PATCH"])
_route("/Groups/<resource_id>", groups.delete_group, ["DELETE"])
_route("/.search", discovery.search_root, ["POST"])
_route("/Bulk", bulk.bulk, ["POST"])
_route("/ServiceProviderConfig", discovery.service_provider_config, ["GET"])
_route("/ResourceTypes", discovery.resource_types, ["GET"])
_route("/ResourceTypes/<name>", discovery.resource_type, ["GET"])
_route("/Schemas", discovery.schemas, ["GET"])
_route("/Schemas/<path:uri>", discovery.schema, ["GET"])


PATHS = (bp.url_prefix or "/scim/v2",)


def outside_routes(exc: HTTPException) -> Any:
    """Unknown paths and methods under /scim/v2 still answer with a SCIM Error (the
    application's 404 and 405 handler, `rollcall.web.http_errors`, sends them here)."""
    return responses.from_exception(exc)
