"""Pooled PostgreSQL connections that the server dropped are replaced before a request sees them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

import store.db
from store.db import Database


def in_transaction(database: Database, sql: str) -> object:
    with database.transaction() as tx:
        return tx.execute(text(sql)).scalar()


def in_reading(database: Database, sql: str) -> object:
    """`Database.reading` has a pool of its own on PostgreSQL."""
    with database.reading() as conn:
        return conn.execute(text(sql)).scalar()


@pytest.mark.parametrize("ask", [in_transaction, in_reading])
def test_a_dropped_connection_is_replaced_after_idle(
    database_url: str, monkeypatch, ask: Callable[[Database, str], object]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    database = Database(database_url)
    try:
        backend = ask(database, "SELECT pg_backend_pid()")
        assert ask(database, "SELECT pg_backend_pid()") == backend  # pooled
        assert ask(database, "SHOW TIME ZONE") == "UTC"
        killer = Database(database_url)
        in_transaction(killer, f"SELECT pg_terminate_backend({int(backend)})")
        killer.dispose()
        monkeypatch.setattr(store.db, "PING_AFTER_IDLE", 0.0)
        assert ask(database, "SELECT pg_backend_pid()") != backend
    finally:
        database.dispose()
