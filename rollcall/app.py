"""create_app(): the one place where settings, storage and the doors are put together."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import door as portal_door
from rollcall import logs, senders, tracing, upstream
from rollcall.headers import add_security_headers
from rollcall.health import bp as health_bp
from rollcall.settings import Settings
from rollcall.web import database as web_database
from rollcall.web import http_errors, limits, request_log, unavailable
from rollcall.web import input as web_input
from rollcall.web.dispatch import Dispatcher, Route
from scim import blueprint as scim_door
from scim import plain_users
from sso import blueprint as sso_blueprint
from sso import door as sso_door
from store.db import Database

# The requests identity providers send most, answered without Flask's machinery when plain.
PLAIN_ROUTES = (
    Route("GET", "/scim/v2/Users", plain_users.is_plain_lookup, plain_users.look_up_user),
    Route("GET", "/scim/v2/Users/", plain_users.is_plain_read, plain_users.read_user, segment=True),
    Route("POST", "/scim/v2/Users", plain_users.is_plain_create, plain_users.create_user),
)


def create_app(
    settings: Settings | None = None, database: Database | None = None, span_exporter: Any = None
) -> Flask:
    """The application; `span_exporter` traces it to that exporter (tests), as
    OTEL_EXPORTER_OTLP_ENDPOINT does to a collector."""
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    app = Flask("rollcall")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        ROLLCALL_SETTINGS=settings,
        SESSION_COOKIE_NAME="rollcall_session",
        SESSION_COOKIE_SECURE=not settings.development,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    upstream.allow_private_providers(settings.providers_may_be_private)
    database = database or Database(settings.database_url, wait=settings.database_wait)
    web_database.init_app(app, database)
    request_log.init_app(app)
    senders.init_app(app, database)
    app.after_request(lambda response: add_security_headers(response, settings.development))
    app.register_blueprint(health_bp)
    app.register_blueprint(scim_door.bp)
    portal_door.init_app(app, settings)
    sso_door.init_app(app)
    # Machines with secret tokens are not limited; the pages people use are.
    limits.init_app(app, settings.ratelimit_url, unlimited=(scim_door.bp.name, health_bp.name))
    web_input.init_app(app, exempt=(scim_door.bp.name, health_bp.name))
    unavailable.init_app(app)  # the site's page; SCIM and OAuth answer in their own formats
    http_errors.init_app(
        app,
        {
            scim_door.PATHS: scim_door.outside_routes,
            sso_blueprint.API_PATHS: sso_blueprint.outside_routes,
        },
    )

    if settings.dispatch:
        app.wsgi_app = Dispatcher(app, PLAIN_ROUTES)  # type: ignore[method-assign]
    if span_exporter or tracing.wanted():
        app.wsgi_app = tracing.traced(  # type: ignore[method-assign]
            app.wsgi_app, database, exporter=span_exporter
        )
    app.wsgi_app = request_log.RequestLog(  # type: ignore[method-assign]
        app.wsgi_app, pool_in_use=lambda: _checked_out(database)
    )
    if settings.trusted_proxies:  # outermost: every route sees the client's scheme, host, address
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    return app


def _checked_out(database: Database) -> int:
    """Connections this process has out of its pool (pools without a count: none)."""
    counted = getattr(database.engine.pool, "checkedout", None)
    return int(counted()) if counted else 0
