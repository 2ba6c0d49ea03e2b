"""create_app(): the one place where settings, storage and the doors are put together."""

from __future__ import annotations

import logging

from flask import Flask

from portal import door as portal_door
from rollcall import senders
from rollcall.headers import add_security_headers
from rollcall.health import bp as health_bp
from rollcall.settings import Settings
from rollcall.web import database as web_database
from rollcall.web import limits
from scim import blueprint as scim_door
from scim.fast_create import FastCreate
from scim.fast_reads import FastReads
from sso import door as sso_door
from sso.fast_token import FastToken
from sso.fast_userinfo import FastUserinfo
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
    database = database or Database(settings.database_url)
    web_database.init_app(app, database)
    senders.init_app(app, database)
    app.after_request(lambda response: add_security_headers(response, settings.development))
    app.register_blueprint(health_bp)
    app.register_blueprint(scim_door.bp)
    portal_door.init_app(app, settings)
    sso_door.init_app(app)
    # Machines with secret tokens are not limited; the pages people use are.
    limits.init_app(app, settings.ratelimit_url, unlimited=(scim_door.bp.name, health_bp.name))

    # The requests sent most, answered before Flask; each layer hands everything else on.
    app.wsgi_app = FastReads(app.wsgi_app, database, settings)  # type: ignore[method-assign]
    app.wsgi_app = FastCreate(app.wsgi_app, database, settings)  # type: ignore[method-assign]
    app.wsgi_app = FastUserinfo(app.wsgi_app, app, database, settings)  # type: ignore[method-assign]
    app.wsgi_app = FastToken(app.wsgi_app, app, database, settings)  # type: ignore[method-assign]
    return app
