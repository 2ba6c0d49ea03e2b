"""POST /scim/v2/Users of a plain user, answered before Flask.

Why: identity providers create users by the thousand when an application is first assigned, and
through Flask and the ORM's unit of work a create costs several times what the database does
(#3 asks creates to reach a quarter of the bare endpoint's rate). This WSGI layer answers a
creation request when nothing about it is unusual: a provisioning token of an account, no
projection, a user that names no manager. It validates the body with scim2-models exactly as
users.create_user does, applies the same store rules (`users.create_user_at_once`, which shares
`users.new_user` with `users.create_user`), and writes the user, its audit event and the
provisioning log entry in one durable statement; the response is the view's, byte for byte
(tests/test_scim_fast_create.py compares them). The token is recalled from earlier requests
(`credentials.Recall`) rather than read first; that statement writes nothing unless the token is
still live, and the request then goes on to Flask, which refuses it. Every other request, and
every refusal (a taken userName, a bad value, an unknown token), goes on to Flask unchanged, so
errors are still written, and logged, in one place.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from scim2_models import SCIMException
from werkzeug.urls import iri_to_uri

from rollcall.answers import Answer, read_body
from rollcall.headers import bearer_token
from scim import auth, user_json
from scim.fast_reads import ScimAnsweredFirst
from scim.responses import MAX_PAYLOAD_SIZE, MEDIA_TYPE, parse_json, scim_bytes
from scim.users import creation_fields
from store import credentials, listing, provisioning_log, users
from store.errors import DomainError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

    from rollcall.settings import Settings
    from store.db import Database

USERS = "/scim/v2/Users"
MOST_VALUES = 4  # emails, and phone numbers, of a plain creation: a process prepares one
# statement per count of each, so a client cannot make it keep arbitrarily many

log = logging.getLogger(__name__)


class FastCreate(ScimAnsweredFirst):
    """WSGI middleware: plain user creations answered here, everything else by `app`."""

    def __init__(self, app: WSGIApplication, db: Database, settings: Settings) -> None:
        super().__init__(app, db, settings)
        self.recall = credentials.Recall()  # tokens seen lately, checked again by each write

    def answer(self, environ: WSGIEnvironment) -> Answer | None:
        """The 201 of a plain creation, or None when Flask should answer."""
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != USERS:
            return None
        if environ.get("QUERY_STRING"):
            return None  # a projection of the response: the full path
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None or not token.startswith(credentials.PREFIX):
            return None  # not a provisioning token (OAuth access tokens take the full path)
        raw = read_body(environ, MAX_PAYLOAD_SIZE)
        if raw is None:
            return None
        try:
            return self._create(environ, token, parse_json(raw))
        except (DomainError, SCIMException, ValidationError):
            return None  # refused: Flask refuses it again, writes the error and logs it
        except Exception:
            log.exception("fast create failed; handing it to the full path")
            return None

    def _create(self, environ: WSGIEnvironment, token: str, body: dict[str, Any]) -> Answer | None:
        recalled = self.recall.find(self.db, token)
        if recalled is None:
            return None  # unknown, revoked, or a support token (no account): Flask answers
        credential, account, still_live = recalled
        if credentials.needs_use_recorded(credential):
            self.recall.used(token)
        caller = auth.credential_caller(self.db, credential)  # its use recorded
        fields = creation_fields(body, account.kind)
        if not users.reads_nothing(fields):
            return None  # a manager to look up: the full path
        if any(len(fields.get(name) or ()) > MOST_VALUES for name in ("emails", "phone_numbers")):
            return None  # unusual, and each count makes a statement of its own: the full path

        def logged(user: Any) -> dict[str, Any]:
            return provisioning_log.entry_values(
                credential_id=caller.credential_id,
                account_id=caller.actor.account_id,
                method="POST",
                path=USERS,  # what Flask's request.path is for this PATH_INFO
                status=201,
                request=body,
                outcome="created",
                resource_id=str(user.id),
            )

        user = users.create_user_at_once(
            self.db,
            caller.actor,
            account,
            logged=logged,
            only_if=still_live,
            **fields,
        )
        if user is None:  # the credential is no longer as recalled (revoked): Flask answers
            self.recall.forget(token)
            return None
        if provisioning_log.purge_due():
            self._purge()
        base = self.base_url(environ)
        document = user_json.user_json(listing.UserView.of(user), base)
        headers = [
            ("ETag", document["meta"]["version"]),
            ("Location", _users_uri(base) + document["id"]),  # as werkzeug sends it
            *self.security_headers,
        ]
        return Answer(scim_bytes(document), MEDIA_TYPE, headers, "201 CREATED")

    def _purge(self) -> None:
        """Forget old log entries. The user is created by now: a failed purge must not make the
        request look failed (handed to Flask, it would be refused as a taken userName)."""
        try:
            with self.db.transaction() as tx:
                provisioning_log.purge(tx)
        except Exception:
            log.exception("provisioning log purge failed; the next create tries again")


@lru_cache(maxsize=16)
def _users_uri(base: str) -> str:
    """The start of a user's Location as werkzeug sends it (`iri_to_uri`: host lowercased, IDN as
    punycode, path escaped); the id that follows is plain ASCII, which it leaves as it is."""
    return iri_to_uri(f"{base}/Users/")
