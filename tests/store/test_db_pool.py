"""Pooled PostgreSQL connections that the server dropped are replaced before a request sees them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text, true

import store.engine
from store import audit
from store.actors import Actor
from store.db import Database
from store.errors import OutcomeUnknown, Unavailable
from store.models.logs import AuditEvent
from store.statements import Prepared, fetch, with_defaults


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
        monkeypatch.setattr(store.engine, "PING_AFTER_IDLE", 0.0)
        assert ask(database, "SELECT pg_backend_pid()") != backend
    finally:
        database.dispose()


def test_a_committing_write_is_seen_at_once_and_asks_no_disk_wait(database_url: str) -> None:
    """`Database.committing`: one statement, committed when it runs (PostgreSQL, without waiting
    for the disk) or when the block ends (SQLite); another connection sees it straight after."""
    database = Database(database_url)
    table = f"committing_{uuid.uuid4().hex[:8]}"
    try:
        with database.transaction() as tx:
            tx.execute(text(f"CREATE TABLE {table} (n INTEGER)"))
        with database.committing() as conn:
            conn.execute(text(f"INSERT INTO {table} (n) VALUES (7)"))
            if database.dialect == "postgresql":
                assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
        assert in_transaction(database, f"SELECT n FROM {table}") == 7
        if database.dialect == "postgresql":  # the pool of units of work waits for the disk
            assert in_transaction(database, "SHOW synchronous_commit") == "on"
    finally:
        with database.transaction() as tx:
            tx.execute(text(f"DROP TABLE {table}"))
        database.dispose()


def test_a_hot_connection_is_reused_unless_it_broke(database_url: str) -> None:
    """`reading`'s pool hands the same connection out again; a refusal raised while it is in use
    leaves it whole, a lost server found by the driver used directly (`fetch`) does not: the
    next use gets a new one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    database = Database(database_url)
    try:
        backend = in_reading(database, "SELECT pg_backend_pid()")
        with pytest.raises(LookupError), database.reading():
            raise LookupError("a refusal, not the connection's fault")
        assert in_reading(database, "SELECT pg_backend_pid()") == backend
        killer = Database(database_url)
        in_transaction(killer, f"SELECT pg_terminate_backend({int(backend)})")
        killer.dispose()
        with pytest.raises(Unavailable), database.reading() as conn:
            fetch(conn, BACKEND, {})  # used again at once: not checked first, so it fails
        assert in_reading(database, "SELECT pg_backend_pid()") != backend
    finally:
        database.dispose()


BACKEND = Prepared(select(func.pg_backend_pid()))


def test_a_durable_connection_is_reused_unless_it_broke(db: Database, database_url: str) -> None:
    """`insert_together`'s pool hands the same connection out again; one the server dropped
    fails the write it was used for, and the next write gets a new one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    database = Database(f"{database_url}?application_name=durable_test")
    event = audit.event_values(
        Actor.system(), "test.written", target_type="test", target_id="1", account_id=None
    )

    def write() -> None:
        database.insert_together([(AuditEvent, with_defaults(AuditEvent, event))])

    def writer() -> object:
        return in_transaction(
            db,
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'durable_test' "
            "AND query LIKE 'INSERT INTO audit_events%'",
        )

    try:
        write()
        backend = writer()
        write()
        assert writer() == backend
        in_transaction(db, f"SELECT pg_terminate_backend({int(backend)})")
        with pytest.raises(OutcomeUnknown):  # used again at once: not checked first
            write()
        write()
        assert writer() not in (None, backend)
        assert in_transaction(db, "SELECT count(*) FROM audit_events") == 3
    finally:
        database.dispose()


def test_a_guarded_write_refuses_text_too_long_as_a_plain_one_does(db: Database) -> None:
    """Rows inserted from a SELECT under a condition are cast first; the cast must not cut
    text to its column, which PostgreSQL does for VARCHAR(n), so that the insert refuses it."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite keeps text of any length")
    event = audit.event_values(
        Actor.system(), "test.written", target_type="t", target_id=1, account_id=None
    )
    event["actor_label"] = "x" * 300  # past its column (event_values itself cuts a label to fit)
    row = [(AuditEvent, with_defaults(AuditEvent, event))]
    for only_if in (None, (true(), {})):
        with pytest.raises(psycopg.errors.StringDataRightTruncation):
            db.insert_together(row, only_if)
    assert in_transaction(db, "SELECT count(*) FROM audit_events") == 0


def test_a_server_restart_costs_one_failed_use_not_one_per_pooled_connection(
    database_url: str,
) -> None:
    """A restart ends every pooled connection at once: the first one found dead replaces the
    pool, so the others are not each handed out to fail a request of their own."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop connections")
    database = Database(database_url)
    try:
        with database.reading() as first, database.reading() as second:  # two pooled
            backends = [in_pid(first), in_pid(second)]
        killer = Database(database_url)
        for backend in backends:
            in_transaction(killer, f"SELECT pg_terminate_backend({int(backend)})")
        killer.dispose()
        with pytest.raises(Unavailable), database.reading() as conn:
            fetch(conn, BACKEND, {})
        for _ in range(2):  # the other pooled one, had it been kept, would fail here
            assert in_reading(database, "SELECT pg_backend_pid()") not in backends
    finally:
        database.dispose()


def in_pid(conn: Any) -> Any:
    return fetch(conn, BACKEND, {})[0][0]
