"""/healthz: is the database reachable and migrated? For load balancers and `make run` users."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from rollcall.web.database import database as web_database
from store import migrate
from store.errors import Unavailable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    database = web_database()
    try:
        current = migrate.is_current(database)
    except (SQLAlchemyError, Unavailable):
        return jsonify(status="error", database="unreachable"), 503
    if not current:
        return jsonify(status="error", database="not migrated"), 503
    return jsonify(status="ok", database="ok")
