"""Unknown addresses (404) and methods (405) answered with the site's own page, styled as every
other. Doors that speak a format of their own claim their paths: SCIM its Error, the OAuth
endpoints their JSON (`init_app`'s `formats`, given by the composition root)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

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


def page(exc: HTTPException) -> Any:
    response = current_app.make_response(
        (render_template("http_error.html", status=exc.code), exc.code)
    )
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return response
