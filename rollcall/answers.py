"""Requests answered before Flask (scim.fast_reads, scim.fast_create, sso.fast_userinfo,
sso.fast_token): the WSGI layer that does it, and the response it writes."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from store.db import Database


class AnsweredFirst:
    """WSGI middleware: what `answer` writes a response for is answered here, the rest by `app`."""

    def __init__(self, app: WSGIApplication, db: Database) -> None:
        self.app = app
        self.db = db

    def answer(self, environ: WSGIEnvironment) -> Answer | None:
        raise NotImplementedError

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = self.answer(environ)
        if answer is None:
            return self.app(environ, start_response)
        return answer(environ, start_response)


def read_body(environ: WSGIEnvironment, largest: int) -> bytes | None:
    """The body of a request that says plainly how long it is (digits, no transfer coding) and
    is at most `largest` bytes, else None: left unread to Flask, which reads other lengths its
    own way (werkzeug takes `+52` as 0 and a chunked body as none). What is read is put back for
    whoever reads the request next."""
    declared = environ.get("CONTENT_LENGTH") or ""
    if "HTTP_TRANSFER_ENCODING" in environ or not (declared.isascii() and declared.isdigit()):
        return None
    length = int(declared)
    if not 0 < length <= largest:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw


class Answer:
    """A response (200 unless said): a body and its headers, in the order Flask would send them."""

    def __init__(
        self,
        body: bytes,
        content_type: str,
        extra: list[tuple[str, str]],
        status: str = "200 OK",
    ) -> None:
        self.body = body
        self.status = status
        self.headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *extra,
        ]

    def __call__(self, _environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        start_response(self.status, self.headers)
        return [self.body]
