"""Client-credentials grants at POST /oauth/token, answered before Flask.

Why: machines (a provisioning client) ask the token endpoint for themselves, and through Flask's
request machinery and a session's unit of work (BEGIN, the ORM's reads and writes, COMMIT) a
grant costs several times the one read and one insert it needs. This WSGI layer answers the plain
case: a form body of `grant_type=client_credentials` and an optional `scope`, the client's secret
in HTTP Basic, no query string and no `Origin` (no CORS to decide). It checks the client with the
methods Authlib calls (`sso.clients.Client`, `sso.grants.registered_for`), makes the token with
the same generator and keeps it with the same call (tests/sso/test_fast_token.py compares the
answers with Flask's). Every other request, and every refusal, goes on to Flask, which writes the
errors.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import Flask
from werkzeug.http import parse_options_header

from rollcall.answers import Answer, AnsweredFirst, read_body
from rollcall.headers import security_headers
from rollcall.settings import Settings
from sso import grants
from sso.clients import Client
from sso.server import MACHINE_GRANT, AccessTokens
from store import clients
from store.db import Database

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

PATH = "/oauth/token"
FORM = "application/x-www-form-urlencoded"
MEDIA_TYPE = "application/json"
LARGEST_BODY = 4096  # a plain grant is a few dozen bytes; anything larger is left to Flask

log = logging.getLogger(__name__)


class FastToken(AnsweredFirst):
    """WSGI middleware: plain client-credentials grants answered here, everything else by `app`."""

    def __init__(self, app: WSGIApplication, flask: Flask, db: Database, settings: Settings):
        super().__init__(app, db)
        self.flask = flask
        self.tokens = AccessTokens()
        no_store = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
        self.headers = no_store + security_headers(MEDIA_TYPE, settings.development)

    def answer(self, environ: WSGIEnvironment) -> Answer | None:
        """The response to a plain client-credentials grant, or None when Flask should answer."""
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "POST":
            return None
        if environ.get("QUERY_STRING") or "HTTP_ORIGIN" in environ:
            return None
        if not _is_form(environ.get("CONTENT_TYPE", "")):
            return None
        scope = _plain_grant(environ)
        if scope is None:
            return None
        authorization = {"Authorization": environ.get("HTTP_AUTHORIZATION", "")}
        client_id, secret = extract_basic_authorization(authorization)
        if not client_id or not secret:
            return None
        try:
            return self._grant(client_id, secret, scope or None)
        except Exception:
            log.exception("fast token grant failed; handing it to the full path")
            return None

    def _grant(self, client_id: str, secret: str, scope: str | None) -> Answer | None:
        with self.db.committing() as tx:
            row = clients.client_row(tx, client_id)
            if row is None:
                return None
            client = Client(row)
            granted = (
                client.check_endpoint_auth_method("client_secret_basic", "token")
                and client.check_client_secret(secret)
                and client.check_grant_type(MACHINE_GRANT)
                and grants.registered_for(client, scope)
            )
            if not granted:
                return None  # Flask answers with the error
            token = self.tokens.generate(
                MACHINE_GRANT, client, scope=scope, include_refresh_token=False
            )
            grants.keep_issued(tx, token, client)
        return Answer(self.flask.json.dumps(token).encode(), MEDIA_TYPE, self.headers)


def _is_form(content_type: str) -> bool:
    """A form body, as `application/x-www-form-urlencoded` alone or with `charset=utf-8`."""
    kind, options = parse_options_header(content_type)
    charset = options.get("charset", "utf-8").lower()
    return kind.lower() == FORM and set(options) <= {"charset"} and charset == "utf-8"


def _plain_grant(environ: WSGIEnvironment) -> str | None:
    """The scope asked ("" for none) when the body is exactly a client-credentials grant with at
    most a scope, else None. The body read is put back for whoever reads the request next."""
    body = read_body(environ, LARGEST_BODY)
    if body is None:
        return None  # no plain length (chunked), or not a small form: left unread to Flask
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs) or fields.get("grant_type") != MACHINE_GRANT:
        return None
    if set(fields) - {"grant_type", "scope"}:
        return None
    return fields.get("scope", "")
