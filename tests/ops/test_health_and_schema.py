"""The health endpoint, and the migrations against the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from rollcall.app import create_app
from rollcall.settings import Settings
from store import migrate, signing_keys
from store.db import Base, Database


def client_for(database: Database):
    return create_app(Settings(database_url=database.url), database).test_client()


def test_liveness_answers_whatever_the_database_does():
    database = Database("postgresql://nobody@127.0.0.1:1/none", pool_timeout=1)
    response = client_for(database).get("/health/live")
    assert response.status_code == 200 and response.json == {"status": "ok"}


@pytest.mark.parametrize("path", ["/health/ready", "/healthz"])
def test_ready_on_a_migrated_database_with_a_signing_key(db, path):
    response = client_for(db).get(path)
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "signing_key": "ok"}
    with db.transaction(write=False) as tx:
        assert signing_keys.current(tx) is not None  # a new deployment's key, made by the probe


def test_not_ready_on_an_unmigrated_database(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    response = client_for(database).get("/health/ready")
    assert response.status_code == 503
    assert response.json == {"status": "error", "database": "not migrated"}


def test_not_ready_when_the_database_is_unreachable():
    database = Database("postgresql://nobody@127.0.0.1:1/none", pool_timeout=1)
    response = client_for(database).get("/health/ready")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_readiness_checks_redis_when_rate_limits_live_there(db):
    def ready(url: str):
        app = create_app(Settings(database_url=db.url, ratelimit_url=url), db)
        return app.test_client().get("/health/ready")

    reachable = ready("redis://127.0.0.1:6379/0")
    assert reachable.status_code == 200 and reachable.json["redis"] == "ok"
    unreachable = ready("redis://127.0.0.1:1/0")
    assert unreachable.status_code == 503 and unreachable.json["redis"] == "unreachable"
    assert "redis" not in client_for(db).get("/health/ready").json  # memory: nothing to reach


def test_migrations_build_exactly_the_models(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_an_upgraded_postgresql_database_has_planner_statistics(db):
    """`rollcall db upgrade` (and `rollcall demo`) end with ANALYZE: a fresh database is planned
    with statistics from the start, not after autovacuum's first visit."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans without statistics")
    migrate.upgrade(db)
    with db.engine.connect() as conn:
        analyzed = conn.execute(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'users'")
        ).scalar()
    assert analyzed is not None
