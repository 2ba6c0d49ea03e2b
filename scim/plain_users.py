"""The user requests identity providers send most, asked plainly: GET /Users/<id>, the
`userName eq` lookup and POST /Users, with a provisioning token, no projection and no conditional
headers.

Each is answered by one statement that also checks the token (a create by one durable statement
with its audit event and log entry), and renders with `user_json`. The Flask views call these
functions for such requests and `rollcall.web.dispatch` calls them without Flask: one
implementation either way. They authenticate, log and answer their own refusals in SCIM's format.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from functools import lru_cache
from typing import Any, NoReturn

from flask import has_request_context
from scim2_models import Context, InvalidValueException, UnauthorizedException
from sqlalchemy import select
from werkzeug.sansio.utils import get_current_url
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers import Request, Response

from rollcall.headers import bearer_token
from rollcall.web.dispatch import Site
from scim import auth, mapping, quirks, responses, search, user_json
from scim.context import located_under
from scim.schemas import POLICY, UserResource
from store import credentials, listing, new_users, provisioning_log
from store.credentials import CachedCredential, LiveCredential
from store.errors import Unavailable
from store.profiles import AccountKind, default_profile
from store.statements import Condition

USERS_PATH = "/scim/v2/Users"
CONDITIONAL = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
)  # as WSGI names them
MOST_VALUES = 4  # emails, and phone numbers, written by the one statement (one per count of each)
UNKNOWN_TOKEN = "The token is unknown, expired or has been revoked."

log = logging.getLogger(__name__)
_recent = credentials.CredentialCache()  # tokens seen lately; each write checks them again


def _token(request: Request) -> str | None:
    token = bearer_token(request.headers.get("Authorization", ""))
    return token if token is not None and token.startswith(credentials.PREFIX) else None


def _unconditional(request: Request) -> bool:
    return not any(name in request.environ for name in CONDITIONAL)


def is_plain_read(request: Request) -> bool:
    return _token(request) is not None and not request.query_string and _unconditional(request)


def is_plain_lookup(request: Request) -> bool:
    return (
        _token(request) is not None
        and _unconditional(request)
        and search.user_name_lookup(request.args) is not None
    )


def is_plain_create(request: Request) -> bool:
    return _token(request) is not None and not request.query_string


def base_url(site: Site, request: Request) -> str:
    """`scim.context.base_url` of this request."""
    return _base_url(site.settings.base_url, request.scheme, request.host)


@lru_cache(maxsize=64)
def _base_url(configured: str, scheme: str, host: str) -> str:
    """The base URL for a scheme and host (`request.host_url`), made once: a server sees few."""
    return located_under(configured, get_current_url(scheme, host))


@lru_cache(maxsize=64)
def _users_uri(base: str) -> str:
    """Where users are located, as a header says it: a URI (the base may be an IRI)."""
    return iri_to_uri(f"{base}/Users/")


def read_user(site: Site, request: Request, resource_id: str) -> Response:
    """GET /Users/<id>."""
    try:
        with site.db.reading() as reads:
            found = listing.user_view_for_token(
                reads, _token(request) or "", mapping.parse_id(resource_id)
            )
        if found is None:
            raise UnauthorizedException(detail=UNKNOWN_TOKEN)
        credential, view = found
        auth.credential_caller(site.db, credential)
        document = user_json.user_json(view, base_url(site, request))
        return responses.scim_json(document, headers={"ETag": document["meta"]["version"]})
    except Exception as exc:
        return responses.refusal(exc)


def look_up_user(site: Site, request: Request) -> Response:
    """GET /Users?filter=userName eq "x": one user or none."""
    try:
        user_name = search.user_name_lookup(request.args) or ""
        with site.db.reading() as reads:
            found = listing.user_view_by_name_for_token(reads, _token(request) or "", user_name)
        if found is None:
            raise UnauthorizedException(detail=UNKNOWN_TOKEN)
        credential, view = found
        auth.credential_caller(site.db, credential)
        listed = [] if view is None else [user_json.user_json(view, base_url(site, request))]
        return responses.scim_json(user_json.list_response(listed, len(listed)))
    except Exception as exc:
        return responses.refusal(exc)


def create_user(site: Site, request: Request) -> Response:
    """POST /Users. Once the user is committed the answer never says otherwise: a failure after
    the commit is a 500 that says the user was created, and where."""
    token = _token(request) or ""
    try:
        recalled = _recall(site, token)
    except Exception as exc:
        return responses.refusal(exc)
    body: Any = None
    try:
        body = responses.json_body(request)
        user = _create(site, token, recalled, request, body)
    except Exception as exc:
        return _refused(site, token, request.path, body, exc)
    return _created(site, request, user)


def _refused(site: Site, token: str, path: str, body: Any, exc: Exception) -> Response:
    """A create refused (or failed before its commit), logged; a token revoked meanwhile is
    refused as Flask refuses it. A database that fails again still gets a SCIM error; one out of
    reach is not asked again."""
    if isinstance(exc, Unavailable):
        return responses.refusal(exc)
    try:
        with site.db.reading() as reads:
            live = credentials.find_live(reads, token)
    except Exception:
        log.exception("the token of a failed create could not be read again")
        return responses.refusal(exc)
    if live is None:
        _recent.forget(token)
        return responses.refusal(UnauthorizedException(detail=UNKNOWN_TOKEN))
    answer = responses.refusal(exc)
    _log_refusal(site, _entry(live, path, body, answer.status_code, responses.outcome(answer)))
    return answer


def _recall(site: Site, token: str) -> CachedCredential:
    """The token's live credential of an account, recalled or read, its use recorded."""
    recalled = _recent.find(site.db, token)
    if recalled is None:
        _refuse_unrecalled(site, token)
    if credentials.needs_use_recorded(recalled.credential):
        _recent.used(token)
    auth.credential_caller(site.db, recalled.credential)  # its use recorded (once a minute)
    return recalled


def _create(site: Site, token: str, recalled: CachedCredential, request: Request, body: Any) -> Any:
    """The user created, by one statement when it names no manager nor applications and is sent
    no sign-in mail (an inactive user, or one without an address); written only if the recalled
    credential still holds, else read again (revoked: 401)."""
    path = request.path
    for _ in range(2):
        credential, account, still_live = recalled
        actor = credentials.actor(credential)
        fields = creation_fields(body, account.kind)

        def entry(user: Any, credential: LiveCredential = credential) -> dict[str, Any]:
            return _entry(credential, path, body, 201, "created", user)

        user = None
        if new_users.reads_nothing(fields) and not _many_values(fields):
            # In Flask's request context, so that the sign-in mail it queues goes right after.
            with _request_context(site, request):
                user = new_users.create_user_at_once(
                    site.db,
                    actor,
                    account,
                    logged=lambda user: provisioning_log.entry_values(**entry(user)),
                    only_if=still_live,
                    **fields,
                )
        else:
            # In Flask's request context, so that the sign-in mail it queues goes right after.
            with _request_context(site, request), site.db.transaction() as tx:
                if _holds(tx, still_live):
                    user = new_users.create_user(tx, actor, account_id=account.id, **fields)
                    provisioning_log.record(tx, **entry(user))
        if user is not None:
            return user
        _recent.forget(token)  # revoked, or changed, since it was recalled
        recalled = _recall(site, token)
    raise UnauthorizedException(detail=UNKNOWN_TOKEN)


def _request_context(site: Site, request: Request) -> AbstractContextManager[Any]:
    """Flask's context of this request, when the dispatcher answers it without one and the mail
    a create queues is sent right after it (`rollcall.senders`); otherwise the mail worker
    sends it, and no context is needed."""
    inline = site.settings.deliver_mail_inline
    if site.app is None or not inline or has_request_context():
        return nullcontext()
    return site.app.request_context(request.environ)


def _entry(
    credential: LiveCredential,
    path: str,
    body: Any,
    status: int,
    outcome: str,
    user: Any = None,
) -> dict[str, Any]:
    """A create's provisioning log entry (`provisioning_log.record`'s arguments)."""
    return {
        "credential_id": str(credential.id),
        "account_id": credential.account_id,
        "method": "POST",
        "path": path,
        "status": status,
        "request": body,
        "outcome": outcome,
        "resource_id": None if user is None else str(user.id),
    }


def _holds(tx: Any, condition: Condition) -> bool:
    """Whether a recalled credential is still live and as recalled, read in `tx`."""
    statement, params = condition
    return bool(tx.execute(select(statement), dict(params)).scalar())


def _refuse_unrecalled(site: Site, token: str) -> NoReturn:
    """Why a token recalls no credential of an account: unknown, or support's (no account)."""
    with site.db.reading() as reads:
        if credentials.find_live(reads, token) is None:
            raise UnauthorizedException(detail=UNKNOWN_TOKEN)
    raise InvalidValueException(
        detail="Users are created with a token of their account "
        "(rollcall token create --account NAME); support tokens change existing users."
    )


def _many_values(fields: dict[str, Any]) -> bool:
    return any(len(fields.get(name) or ()) > MOST_VALUES for name in ("emails", "phone_numbers"))


def _created(site: Site, request: Request, user: Any) -> Response:
    """The 201 of a committed user; if it cannot be written, a 500 that says the user exists."""
    try:
        if provisioning_log.purge_due():
            with site.db.transaction() as tx:
                provisioning_log.purge(tx)
        base = base_url(site, request)
        document = user_json.user_json(listing.UserView.of(user), base)
        headers = {"ETag": document["meta"]["version"], "Location": f"{_users_uri(base)}{user.id}"}
        return responses.scim_json(document, 201, headers)
    except Exception:
        log.exception("user %s created, but its response failed", user.id)
        return responses.error_response(
            500,
            f"The user {user.user_name!r} was created (id {user.id}), but the response could "
            f"not be written; read it with GET {USERS_PATH}/{user.id}.",
        )


def _log_refusal(site: Site, entry: dict[str, Any]) -> None:
    try:
        with site.db.transaction() as tx:
            provisioning_log.record(tx, **entry)
    except Exception:
        log.exception("provisioning log not written for a refused create")


def creation_fields(body: dict[str, Any], account_kind: str) -> dict[str, Any]:
    """The store fields of a creation request, validated by scim2-models; the community fields it
    leaves out take their defaults in an account of this kind."""
    defaults = {
        "profile": default_profile(AccountKind(account_kind)).value,
        "noLongerAtAccount": False,
        "preferredContactMethod": "email",
    }
    resource = UserResource.model_validate(
        quirks.with_defaults(quirks.resource(body), True, defaults),
        scim_ctx=Context.RESOURCE_CREATION_REQUEST,
        scim_policy=POLICY,
    )
    fields = mapping.user_fields(resource)
    if not fields.get("applications"):
        del fields["applications"]  # none asked: the one-statement creation can write it
    return fields
