"""The site's answer when the database is out of reach, busy, or lost while saving: a page
saying which, and to try again (503 with `Retry-After`), for every page of every door. The SCIM
and OAuth endpoints answer in their own formats (their blueprints' handlers); this handles what
they leave to the application."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from werkzeug.wrappers import Response

from rollcall.web import session
from store.errors import Busy, OutcomeUnknown, Unavailable


def init_app(app: Flask) -> None:
    app.register_error_handler(Unavailable, page)


def page(exc: Unavailable) -> Response:
    """The page of a request the database's absence stopped."""
    current_app.logger.warning("%s %s not answered: %s", request.method, request.path, exc)
    session.forget()  # the page's header would ask the database who is signed in
    answer = render_template(
        "unavailable.html",
        outcome_unknown=isinstance(exc, OutcomeUnknown),
        busy=isinstance(exc, Busy),
    )
    response = current_app.make_response((answer, 503))
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
