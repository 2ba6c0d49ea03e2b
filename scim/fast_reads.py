"""GET of one user, by id or by a userName lookup, answered before Flask.

Why: identity providers read a user before nearly every push (they look the userName up before
creating a user, and read it by id before changing it), so these two reads are most of the SCIM
traffic, and through Flask's request machinery (request context, cookie session, rate limiter,
blueprint hooks) they cost about twice what the reads themselves do. This WSGI layer answers them
when nothing about the request is unusual: a provisioning token, no projection, no conditional
headers. It calls the same store operations and writes the same JSON and headers as the views in
users.py (tests/scim/test_fast_reads.py compares the two byte for byte). Every other request, and
every refusal (an unknown token, a user the caller may not see), goes on to Flask unchanged, so
errors are still written in one place.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from werkzeug.sansio.utils import get_current_url
from werkzeug.wsgi import get_host

from rollcall.answers import Answer, AnsweredFirst
from rollcall.headers import bearer_token, security_headers
from rollcall.settings import Settings
from scim import auth, search, user_json
from scim.context import located_under
from scim.mapping import parse_id
from scim.responses import MEDIA_TYPE, scim_bytes
from store import credentials, listing
from store.db import Database
from store.errors import DomainError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

USERS = "/scim/v2/Users"
# Headers that change what a GET answers; requests carrying them take the full path.
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE")

log = logging.getLogger(__name__)


class ScimAnsweredFirst(AnsweredFirst):
    """A SCIM request answered before Flask: its headers and resource locations as the views
    write them."""

    def __init__(self, app: WSGIApplication, db: Database, settings: Settings) -> None:
        super().__init__(app, db)
        self.configured_base = settings.base_url
        self.security_headers = security_headers(MEDIA_TYPE, settings.development)

    def base_url(self, environ: WSGIEnvironment) -> str:
        """`scim.context.base_url` for this request."""
        return _base_url(self.configured_base, environ["wsgi.url_scheme"], get_host(environ))


class FastReads(ScimAnsweredFirst):
    """WSGI middleware: the plain user reads answered here, everything else by `app`."""

    def answer(self, environ: WSGIEnvironment) -> Answer | None:
        """The response to a plain read of one user, or None when Flask should answer."""
        if environ.get("REQUEST_METHOD") != "GET":
            return None
        path: str = environ.get("PATH_INFO", "")
        if path == USERS:
            resource_id = None
        elif path.startswith(USERS + "/") and "/" not in path[len(USERS) + 1 :]:
            resource_id = path[len(USERS) + 1 :]
            if not resource_id or environ.get("QUERY_STRING"):
                return None
        else:
            return None
        if any(name in environ for name in CONDITIONAL):
            return None
        token = bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None or not token.startswith(credentials.PREFIX):
            return None  # not a provisioning token (OAuth access tokens take the full path)
        try:
            return self._read(environ, token, resource_id)
        except DomainError:
            return None  # refused: Flask writes the error
        except Exception:
            log.exception("fast read failed; handing %s to the full path", path)
            return None

    def _read(self, environ: WSGIEnvironment, token: str, resource_id: str | None) -> Answer | None:
        if resource_id is None:
            user_name = search.user_name_lookup(_args(environ))
            if user_name is None:
                return None
            with self.db.reading() as tx:
                found = listing.user_view_by_name_for_token(tx, token, user_name)
        else:
            with self.db.reading() as tx:
                found = listing.user_view_for_token(tx, token, parse_id(resource_id))
        if found is None:
            return None  # an unknown or revoked token: Flask answers 401
        credential, view = found
        auth.credential_caller(self.db, credential)  # its use recorded
        base = self.base_url(environ)
        if resource_id is None:
            documents = [] if view is None else [user_json.user_json(view, base)]
            listed = user_json.list_response(documents, len(documents))
            return Answer(scim_bytes(listed), MEDIA_TYPE, self.security_headers)
        document = user_json.user_json(view, base)
        etag = ("ETag", document["meta"]["version"])
        return Answer(scim_bytes(document), MEDIA_TYPE, [etag, *self.security_headers])


@lru_cache(maxsize=64)
def _base_url(configured: str, scheme: str, host: str) -> str:
    """`scim.context.base_url` for a request to this scheme and host (the few a server sees)."""
    return located_under(configured, get_current_url(scheme, host))


def _args(environ: WSGIEnvironment) -> dict[str, str]:
    """`request.args` as the view reads it (the first value of each name), parsed as werkzeug
    parses it, without building a request around it."""
    query = environ.get("QUERY_STRING", "").encode("latin1").decode()
    args: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"):
        args.setdefault(name, value)
    return args
