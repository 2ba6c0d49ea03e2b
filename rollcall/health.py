"""Probes for load balancers and orchestrators, as Keycloak and Zitadel have them.

`/health/live` says the process answers (restart it if not); `/health/ready` says it can serve:
the database reachable and migrated, a signing key to sign with (made on a new deployment's first
probe, as the token endpoint would), and Redis reachable when rate limits are kept there. Each
check is named in the answer, so a failing probe says what is wrong. `/healthz` is the readiness
probe under its old name.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from rollcall.web.database import database as web_database
from store import migrate, signing_keys
from store.actors import Actor, Door
from store.errors import Unavailable

bp = Blueprint("health", __name__)

REDIS_TIMEOUT = 2  # seconds: a probe must answer before the orchestrator gives up on it


@bp.get("/health/live")
def live() -> Any:
    return jsonify(status="ok")


@bp.get("/health/ready")
@bp.get("/healthz")
def ready() -> Any:
    checks = {"database": _database()}
    if checks["database"] == "ok":
        checks["signing_key"] = _signing_key()
    url = current_app.config["ROLLCALL_SETTINGS"].ratelimit_url
    if url.startswith(("redis://", "rediss://", "unix://")):
        checks["redis"] = _redis(url)
    ok = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ok else "error", **checks), 200 if ok else 503


def _database() -> str:
    try:
        return "ok" if migrate.is_current(web_database()) else "not migrated"
    except (SQLAlchemyError, Unavailable):
        return "unreachable"


def _signing_key() -> str:
    try:
        with web_database().transaction() as tx:
            signing_keys.ensure_current(tx, Actor.system(Door.SSO, "readiness probe"))
    except (SQLAlchemyError, Unavailable):
        return "unavailable"
    return "ok"


def _redis(url: str) -> str:
    try:
        client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        client.ping()
    except (redis.RedisError, OSError):
        return "unreachable"
    return "ok"
