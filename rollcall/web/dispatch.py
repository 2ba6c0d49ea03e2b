"""The requests sent most, answered without Flask's routing, cookie session and hooks.

Each route names a method and a path (exact, or a prefix followed by one path segment), a test of
whether a request needs nothing Flask adds (`plain`), and the function that answers it. Flask's
view for the same route calls the same function for plain requests, so a request has one
implementation whichever way it comes in; `Settings.dispatch` off leaves every request to Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from werkzeug.wrappers import Request, Response

from rollcall.headers import security_headers
from rollcall.settings import Settings
from rollcall.web import request_log
from rollcall.web.database import database_of
from store.db import Database

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


@dataclass(frozen=True)
class Site:
    """What an answer needs from the application: its database and settings."""

    db: Database
    settings: Settings
    # For the rare answer that needs Flask's request context after all (a change that queues
    # mail, sent right after it in development: rollcall.senders).
    app: Flask | None = None

    @classmethod
    def of(cls, app: Flask | None = None) -> Site:
        app = app or current_app._get_current_object()  # type: ignore[attr-defined]
        return cls(database_of(app), app.config["ROLLCALL_SETTINGS"], app)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # exact; with `segment`, the part before a final path segment (ending in "/")
    plain: Callable[[Request], bool]
    answer: Callable[..., Response]  # (site, request[, segment]) -> response
    segment: bool = False


@lru_cache(maxsize=64)
def names_a_host(host: str) -> bool:
    """Whether a Host header can name a host (IDNA), as Flask's routing asks before any view:
    one that cannot is Flask's to refuse, in the door's format (rollcall.web.http_errors)."""
    try:
        host.partition(":")[0].encode("idna")
    except UnicodeError:
        return False
    return True


class Dispatcher:
    """WSGI middleware: plain requests of `routes` answered by their function, the rest by Flask."""

    def __init__(self, app: Flask, routes: Iterable[Route]) -> None:
        self.next: WSGIApplication = app.wsgi_app
        self.site = Site.of(app)
        self.exact = {(r.method, r.path): r for r in routes if not r.segment}
        self.prefixed: Sequence[Route] = [r for r in routes if r.segment]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        found = self._route(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        if found is not None:
            route, args = found
            request = Request(environ)
            if route.plain(request) and names_a_host(request.host):
                request_log.note(route=route.path + ("<id>" if route.segment else ""))
                return self._send(route.answer(self.site, request, *args), start_response)
        return self.next(environ, start_response)

    def _send(self, response: Response, start_response: StartResponse) -> Iterable[bytes]:
        """An answer as Flask would send it, without werkzeug's last pass over its headers: an
        answer's body is bytes whose length it carries, its URLs are URIs already, and it sets
        none of the security headers."""
        headers = response.headers.to_wsgi_list()
        headers.extend(security_headers(response.mimetype, self.site.settings.development))
        start_response(response.status, headers)
        return [response.get_data()]

    def _route(self, method: str, path: str) -> tuple[Route, tuple[Any, ...]] | None:
        route = self.exact.get((method, path))
        if route is not None:
            return route, ()
        for route in self.prefixed:
            if route.method == method and path.startswith(route.path):
                segment = path[len(route.path) :]
                if segment and "/" not in segment:
                    return route, (segment,)
        return None
