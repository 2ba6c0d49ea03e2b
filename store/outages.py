"""A database outage, recognised in one place and raised as `store.errors.Unavailable` where the
statement that met it ran, so that every door answers it one way (503: try again shortly) however
the request reached the database.

An outage is the server not reachable (connection refused, timed out), a connection lost (the
server restarted, a proxy or firewall cut it, an administrator ended it), the server saying it
is going away or full, or every pooled connection busy past the pool's timeout. A statement
given up after waiting its time for a lock (another change of the same rows) is answered the
same way, saying so. Refusals of the database (a broken constraint) are not outages.

A COMMIT whose connection is lost is not called one either: the server may have committed before
the connection went, so its change may have been made; `Database.transaction` (which flushes
first, so only the COMMIT itself is left) raises `OutcomeUnknown` for it. A statement that
commits as it runs (`Database.committing`) is called one: the connection is nearly always found
lost before the statement reaches the server (dropped while pooled, or refused).
`Database.insert_together` (a user's creation) then looks whether its rows were written after
all, and raises `OutcomeUnknown` when it cannot tell.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from store.errors import Busy, Unavailable

# PostgreSQL's words for "not now" besides connection exceptions (class 08): the server shutting
# down (by an administrator, after a crash), starting up, or at its connection limit.
_GOING_AWAY = frozenset({"57P01", "57P02", "57P03", "53300"})


# A statement that waited for a lock, or ran, longer than a request may (`Database`'s `wait`),
# or that the database stopped to break a deadlock: its transaction is rolled back.
_TOO_LONG = frozenset({"55P03", "57014", "40P01"})


def is_outage(exc: BaseException) -> bool:
    """Whether an error says that the database cannot be reached now, or cannot answer in the
    time a request has (`is_busy`)."""
    if isinstance(exc, Unavailable | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        exc = exc.orig
    from psycopg import OperationalError  # PostgreSQL's driver

    if not isinstance(exc, OperationalError):
        return is_busy(exc)
    state = exc.sqlstate  # None: psycopg's own (no connection, connection lost)
    return state is None or state.startswith("08") or state in _GOING_AWAY or state in _TOO_LONG


def is_busy(exc: BaseException) -> bool:
    """Whether an error is a statement given up after waiting its time for a lock or running
    its time (PostgreSQL's lock_timeout or statement_timeout, SQLite's busy timeout), or
    stopped to break a deadlock: nothing of its transaction was written."""
    if isinstance(exc, Busy):
        return True
    if isinstance(exc, DBAPIError):
        exc = exc.orig
    if isinstance(exc, sqlite3.OperationalError):
        return "database is locked" in str(exc)
    return getattr(exc, "sqlstate", None) in _TOO_LONG


def raise_if_outage(exc: BaseException) -> None:
    """Raise `Unavailable` (from `exc`) if `exc` is an outage; the caller re-raises the rest."""
    if is_outage(exc) and not isinstance(exc, Unavailable):
        raise (Busy() if is_busy(exc) else Unavailable()) from exc


def report_outages(engine: Engine) -> None:
    """Every statement the engine runs, and every connection it opens, raises `Unavailable` for
    an outage (the connection is still invalidated as SQLAlchemy would)."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if context.connection is not None and context.statement is None:
            return  # a COMMIT or ROLLBACK: see the module's docstring
        raise_if_outage(context.original_exception)


def abandon(session: Session) -> None:
    """Roll a failed unit of work back; if its connection is gone, so is its transaction on the
    server: the connection is dropped from the pool without a word to the server."""
    try:
        session.rollback()
    except Exception as exc:
        if not is_outage(exc):
            raise
        session.invalidate()


def close(session: Session) -> None:
    """Close a session whose connection may be gone (a request's read session at its end): a
    lost connection has nothing left to roll back, so that is no error."""
    try:
        session.close()
    except Exception as exc:
        if not is_outage(exc):
            raise
        session.invalidate()
