"""The health endpoint, and the migrations against the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from rollcall.app import create_app
from rollcall.settings import Settings
from store import migrate
from store.db import Base, Database


def client_for(database: Database):
    return create_app(Settings(database_url=database.url), database).test_client()


def test_healthz_is_ok_on_a_migrated_database(db):
    response = client_for(db).get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unmigrated_database(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    response = client_for(database).get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "not migrated"


def test_healthz_reports_an_unreachable_database():
    database = Database("postgresql://nobody@127.0.0.1:1/none", pool_timeout=1)
    response = client_for(database).get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


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
