"""The OpenID Provider and its sign-in pages, put onto an application."""

from __future__ import annotations

from flask import Flask

from sso import backchannel, blueprint, federated, pages, passkey_pages, second_factor, server


def init_app(app: Flask) -> None:
    app.extensions["rollcall.oauth"] = server.create_server(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(federated.bp)
    app.register_blueprint(passkey_pages.bp)
    app.register_blueprint(second_factor.bp)
    app.register_blueprint(blueprint.bp)
    backchannel.init_app(app)
