"""create_app(): the one place where settings, storage and the doors are put together."""

from __future__ import annotations

import logging

from flask import Flask, current_app

from rollcall.headers import add_security_headers
from rollcall.health import bp as health_bp
from rollcall.settings import Settings
from store.db import Database


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # health checks read the revision
    app = Flask("rollcall")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        ROLLCALL_SETTINGS=settings,
        SESSION_COOKIE_NAME="rollcall_session",
        SESSION_COOKIE_SECURE=not settings.development,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    database = app.extensions["rollcall.database"] = database or Database(settings.database_url)
    app.after_request(lambda response: add_security_headers(response, settings.development))
    app.register_blueprint(health_bp)
    from scim.blueprint import bp as scim_bp  # the doors import `database` from here

    app.register_blueprint(scim_bp)
    import portal
    from portal.limits import limiter

    portal.init_app(app, settings)
    limiter.exempt(scim_bp)  # machines with secret tokens; the pages people use are limited
    import sso

    sso.init_app(app)
    from scim.fast_create import FastCreate
    from scim.fast_reads import FastReads
    from sso.fast_token import FastToken
    from sso.fast_userinfo import FastUserinfo

    # The requests sent most, answered before Flask; each layer hands everything else on.
    app.wsgi_app = FastReads(app.wsgi_app, database, settings)  # type: ignore[method-assign]
    app.wsgi_app = FastCreate(app.wsgi_app, database, settings)  # type: ignore[method-assign]
    app.wsgi_app = FastUserinfo(app.wsgi_app, app, database, settings)  # type: ignore[method-assign]
    app.wsgi_app = FastToken(app.wsgi_app, app, database, settings)  # type: ignore[method-assign]
    return app


def database() -> Database:
    """The database of the application handling the current request."""
    return current_app.extensions["rollcall.database"]
