"""One log line per request, and the request's id on every line logged while it is answered.

The id comes from `X-Request-ID` when a proxy sent a sane one, else it is made here, and it goes
back in the response's `X-Request-ID`. The line names the door, the route's pattern (never the
path: links carry tokens in it), the status and the duration; SCIM adds the account and the
token's name. Nothing of the query, the headers or the body is logged, so no secret is.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from flask import Flask, request

from rollcall.web import metrics

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("rollcall.requests")

_fields: ContextVar[dict[str, Any] | None] = ContextVar("rollcall_request", default=None)
LINE = "%(method)s %(route)s %(status)s %(duration_ms)sms"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_DOORS = (
    ("/scim/", "scim"),
    ("/oauth/", "oidc"),
    ("/.well-known/", "oidc"),
    ("/health", "health"),
)


def note(**fields: Any) -> None:
    """Add fields to this request's line (a no-op outside a request)."""
    current = _fields.get()
    if current is not None:
        current.update(fields)


def current() -> dict[str, Any]:
    """The fields of the request being answered, for every line logged meanwhile."""
    return _fields.get() or {}


def door_of(path: str) -> str:
    return next((door for prefix, door in _DOORS if path.startswith(prefix)), "pages")


class RequestLog:
    """WSGI middleware, outermost but for proxy headers: ids, times and logs every request."""

    def __init__(self, app: WSGIApplication, pool_in_use: Callable[[], int]) -> None:
        self.app = app
        self.pool_in_use = pool_in_use

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        sent = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = sent if _SANE_ID.fullmatch(sent) else uuid.uuid4().hex
        path = environ.get("PATH_INFO", "")
        fields: dict[str, Any] = {"request_id": request_id, "door": door_of(path)}
        token = _fields.set(fields)
        status = ["500"]

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status[0] = code
            headers.append(("X-Request-ID", request_id))
            return start_response(code, headers, exc_info)

        started = time.perf_counter()
        try:
            return self.app(environ, start)
        finally:
            line = {
                "method": environ.get("REQUEST_METHOD", ""),
                "route": fields.pop("route", None) or "(no route)",
                "status": int(status[0].split(" ", 1)[0]),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            }
            if log.isEnabledFor(logging.INFO):
                # Made directly: the caller's file and line, which `log.info` looks up on the
                # stack for every record, would always name this line.
                record = log.makeRecord(log.name, logging.INFO, __file__, 0, LINE, (line,), None)
                record.request = line
                log.handle(record)
            _fields.reset(token)
            metrics.request_done(
                fields["door"],
                line["route"],
                line["method"],
                line["status"],
                line["duration_ms"] / 1000,
                fields.get("token"),
            )
            metrics.POOL_IN_USE.set(self.pool_in_use())


def _note_route() -> None:
    if request.url_rule is not None:
        note(route=request.url_rule.rule)


def init_app(app: Flask) -> None:
    """Name each Flask request's route on its line (the dispatcher names its own): the one hook
    every request runs, as cheap as a hook can be."""
    app.before_request(_note_route)
