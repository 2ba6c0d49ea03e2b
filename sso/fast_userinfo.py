"""GET /oauth/userinfo with a bearer token, answered before Flask.

Why: some linked applications ask userinfo on every page load, and through Flask's request
machinery (request context, cookie session, rate limiter, the CORS and cookie hooks) a request
costs more than the one statement that answers it. This WSGI layer answers the plain case: a GET
with `Authorization: Bearer`, no query string and no `Origin` (no CORS to decide), for a live token
whose scopes include openid and not community (the whole-user claims). It reads with the same
store call and writes the same JSON and headers as `sso.blueprint.userinfo`
(tests/sso/test_fast_userinfo.py compares them byte for byte); every other request, and every
refusal, goes on to Flask, which writes the errors.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from authlib.oauth2.rfc6749 import scope_to_list
from flask import Flask

from rollcall.answers import Answer, AnsweredFirst
from rollcall.headers import bearer_token, security_headers
from rollcall.settings import Settings
from sso import claims
from store import oauth
from store.db import Database

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

PATH = "/oauth/userinfo"
MEDIA_TYPE = "application/json"

log = logging.getLogger(__name__)


class FastUserinfo(AnsweredFirst):
    """WSGI middleware: plain userinfo requests answered here, everything else by `app`."""

    def __init__(self, app: WSGIApplication, flask: Flask, db: Database, settings: Settings):
        super().__init__(app, db)
        self.flask = flask
        no_store = ("Cache-Control", "no-store")
        self.headers = [no_store, *security_headers(MEDIA_TYPE, settings.development)]

    def answer(self, environ: WSGIEnvironment) -> Answer | None:
        """The response to a plain userinfo request, or None when Flask should answer."""
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET":
            return None
        if environ.get("QUERY_STRING") or "HTTP_ORIGIN" in environ:
            return None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return None
        try:
            return self._read(token)
        except Exception:
            log.exception("fast userinfo failed; handing it to the full path")
            return None

    def _read(self, token: str) -> Answer | None:
        with self.db.reading() as tx:
            holder = oauth.token_holder(tx, token)
        if holder is None:
            return None  # not live: Flask answers 401
        scopes = set(scope_to_list(holder.scope) or ())
        if "openid" not in scopes or "community" in scopes:
            return None
        body = self.flask.json.response(claims.standard_claims(holder, scopes)).get_data()
        return Answer(body, MEDIA_TYPE, self.headers)
