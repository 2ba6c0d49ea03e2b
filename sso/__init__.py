"""OpenID Connect provider and sign-in: SSO sessions, the OP endpoints, back-channel logout.

`init_app` registers the sign-in pages (`sso.pages`), the protocol endpoints (`sso.blueprint`) and
Authlib's authorization server (`sso.server`) on the application.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from sso import backchannel, blueprint, cors, pages, server, session

    app.extensions["rollcall.oauth"] = server.create_server(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(blueprint.bp)
    app.after_request(session.write_cookie)
    app.after_request(cors.add_headers)
    backchannel.init_app(app)
