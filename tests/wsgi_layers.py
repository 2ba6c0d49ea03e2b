"""Requests handed straight to one WSGI layer of the app (the fast paths in front of Flask), and
what it answered."""

from __future__ import annotations

from typing import Any

from werkzeug.test import EnvironBuilder, run_wsgi_app


def environ(path: str, token: str | None, method: str = "GET", **headers: str) -> dict[str, Any]:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return EnvironBuilder(path=path, method=method, headers=headers).get_environ()


def answered(wsgi: Any, env: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    body, status, headers = run_wsgi_app(wsgi, dict(env))
    return status, sorted(headers.to_wsgi_list()), b"".join(body)


def layer(app: Any, kind: type) -> Any:
    """The WSGI layer of this kind in front of the app's Flask."""
    found = app.wsgi_app
    while not isinstance(found, kind):
        found = found.app
    return found
