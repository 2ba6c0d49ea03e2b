"""Unknown addresses (404), methods (405), Host headers that name no host and bodies cut short
(400, found before any route or while reading) answered with the site's own page, styled as
every other. Doors that speak a format of their own claim their paths: SCIM its Error, the
OAuth endpoints their JSON (`init_app`'s `formats`, given by the composition root)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import BadHost, ClientDisconnected, HTTPException, MethodNotAllowed

Answer = Callable[[HTTPException], Any]


def init_app(app: Flask, formats: Mapping[tuple[str, ...], Answer]) -> None:
    """`formats`: path prefixes and the answer of the door that owns them."""

    def answer(exc: HTTPException) -> Any:
        for prefixes, door_answer in formats.items():
            if request.path.startswith(prefixes):
                return door_answer(exc)
        return page(exc)

    app.register_error_handler(404, answer)
    app.register_error_handler(405, answer)
    app.register_error_handler(BadHost, lambda exc: answer(_named(exc)))
    app.register_error_handler(ClientDisconnected, answer)  # a body cut short or misshapen


def _named(exc: HTTPException) -> HTTPException:
    exc.description = "The Host header of this request does not name a valid host."
    return exc


def page(exc: HTTPException) -> Any:
    response = current_app.make_response(
        (render_template("http_error.html", status=exc.code), exc.code)
    )
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response
