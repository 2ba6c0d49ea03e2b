"""Pooled PostgreSQL connections that the server dropped are replaced before a request sees them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

import store.db
from store.db import Database


def test_a_dropped_connection_is_replaced_after_idle(database_url: str, monkeypatch) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    database = Database(database_url)
    try:
        with database.transaction() as tx:
            backend = tx.execute(text("SELECT pg_backend_pid()")).scalar()
        killer = Database(database_url)
        with killer.transaction() as tx:
            tx.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        killer.dispose()
        monkeypatch.setattr(store.db, "PING_AFTER_IDLE", 0.0)
        with database.transaction() as tx:
            assert tx.execute(text("SELECT pg_backend_pid()")).scalar() != backend
    finally:
        database.dispose()


def test_a_dropped_reading_connection_is_replaced_after_idle(
    database_url: str, monkeypatch
) -> None:
    """`Database.reading` has a pool of its own on PostgreSQL; it is looked after alike."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    database = Database(database_url)
    try:
        with database.reading() as conn:
            backend = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            assert conn.execute(text("SHOW TIME ZONE")).scalar() == "UTC"
        with database.reading() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == backend
        killer = Database(database_url)
        with killer.transaction() as tx:
            tx.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        killer.dispose()
        monkeypatch.setattr(store.db, "PING_AFTER_IDLE", 0.0)
        with database.reading() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != backend
    finally:
        database.dispose()
