"""Engines and their connections: the URL's driver, what every new connection is set to, and
the pool's checks that a connection is still there.

SQLite is the embedded default and PostgreSQL the production store; how each is connected to is
decided here, once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError

from store import outages
from store.errors import Unavailable


def normalize_url(url: str) -> str:
    """Accept the plain `postgresql://` spelling and use the psycopg 3 driver for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, wait: float | None = None, **kwargs: object) -> Engine:
    """An engine for `url` whose every connection is set up as Rollcall needs it (below).
    `wait`: seconds a statement may wait for a lock (and, on PostgreSQL, twice that to run)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": wait or 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    outages.report_outages(engine)
    _ping_after_idle(engine)
    _in_utc(engine)
    _set_on_connect(engine, "SET jit TO off")  # see below
    if wait is not None:
        _set_on_connect(engine, f"SET lock_timeout = {int(wait * 1000)}")
        _set_on_connect(engine, f"SET statement_timeout = {int(wait * 2000)}")
    _json_as_read(engine)
    return engine


def _json_as_read(engine: Engine) -> None:
    """JSON columns read by psycopg with a shortcut for the empty `[]` and `{}` most users'
    addresses and kept attributes are (json.loads costs more than the rest of their row)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        from psycopg.types.json import set_json_loads

        set_json_loads(_loads, dbapi_connection)


def _loads(data: bytes | bytearray | memoryview) -> Any:
    if data == b"[]":
        return []
    if data == b"{}":
        return {}
    return json.loads(bytes(data).decode())


# JIT compilation off: without statistics (a new database) the planner's row guesses for the
# joined tables cross JIT's thresholds, and compiling a page took longer than running it.


def _in_utc(engine: Engine) -> None:
    """Sessions in UTC: timestamps come back as UTCDateTime hands them out, also to `fetch`,
    which reads them raw. (A SET, not a startup option, which connection poolers refuse.)"""
    _set_on_connect(engine, "SET TIME ZONE 'UTC'")


def commit_asynchronously(engine: Engine) -> None:
    """Commits that return before the disk has the write (PostgreSQL's `synchronous_commit off`):
    for the pool of `Database.committing`, whose writes a client can ask for again."""
    _set_on_connect(engine, "SET synchronous_commit TO off")


def _set_on_connect(engine: Engine, statement: str) -> None:
    """Run a SET on every new connection of the engine, outside any transaction."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(statement)
        dbapi_connection.autocommit = autocommit


PING_AFTER_IDLE = 10.0  # seconds


@contextmanager
def checked_out(engine: Engine) -> Iterator[Connection]:
    """A connection of the engine's pool, invalidated if it failed with an operational error
    (and the pool replaced, if the server was lost).

    The driver used directly (`fetch`, `run`) does not tell SQLAlchemy that its connection is
    gone, and may not know yet itself: the pool would hand the dead socket out again. No
    connection to be had (every pooled one busy too long) is an outage, too.
    """
    try:
        with engine.connect() as connection:
            try:
                yield connection
            except Exception as exc:
                if _lost(exc) and not connection.invalidated:
                    connection.invalidate()
                if outages.is_outage(exc) and not outages.is_busy(exc):
                    # The server went (a restart ends every connection at once): the others
                    # pooled are as dead, and each would fail a request of its own.
                    engine.dispose(close=False)
                raise
    except Exception as exc:
        outages.raise_if_outage(exc)
        raise


def _lost(exc: Exception) -> bool:
    """Whether an error raised while a connection was in use says the connection may be gone
    (the server's goodbye is read with the error): any operational error counts."""
    from psycopg import OperationalError  # PostgreSQL's driver, which `fetch` and `run` use

    if isinstance(exc, Unavailable):
        return True
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc.orig, OperationalError)
    return isinstance(exc, OperationalError)


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has been idle a while.

    A connection the database dropped (a restart, an idle timeout) is replaced before a request
    sees it, as `pool_pre_ping` would, without paying a round trip on every checkout of a busy
    server, where connections are returned and reused within milliseconds.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:
            raise DisconnectionError("the pooled connection is gone") from exc


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, and writers that take the lock at BEGIN.

    Taking the write lock up front (BEGIN IMMEDIATE) makes concurrent writers queue instead of
    failing half-way with SQLITE_BUSY, and makes the read-check-write of a rule safe.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        write = conn.get_execution_options().get("rollcall_write", True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
