"""Text no database stores, refused before a view sees it: a NUL character in a query parameter,
a form field or HTTP Basic credentials. PostgreSQL refuses such text outright (SQLite keeps it),
so without this a request's fate would depend on the database."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, render_template, request
from werkzeug.wrappers import Request


class Unreadable(ValueError):
    """A request holding text no column can store; each door answers it in its own format (the
    OpenID Provider's blueprint answers ValueError as an OAuth error)."""


REFUSAL = "The request holds a NUL character (\\u0000), which no field may contain."


def check(asked: Request) -> None:
    """Raise Unreadable when a query parameter, form field or Basic credential holds a NUL."""
    fields = [*asked.args.items(multi=True), *asked.form.items(multi=True)]
    if any("\x00" in key or "\x00" in value for key, value in fields):
        raise Unreadable(REFUSAL)
    basic = asked.authorization
    credentials = (basic.username or "") + (basic.password or "") if basic is not None else ""
    if "\x00" in credentials:
        raise Unreadable(REFUSAL)


def init_app(app: Flask, exempt: Iterable[str]) -> None:
    """Check every request of the app's blueprints but the `exempt` ones (SCIM refuses such text
    in its JSON bodies and filters itself); a page answers it with a 400 page."""
    for name in set(app.blueprints) - set(exempt):
        app.before_request_funcs.setdefault(name, []).append(_check)
    app.register_error_handler(Unreadable, _refused)


def _check() -> None:
    check(request)


def _refused(_error: Unreadable) -> tuple[str, int]:
    return render_template("unreadable.html"), 400
