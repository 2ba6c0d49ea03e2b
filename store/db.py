"""The database: its transactions, the declarative base and the column types shared by the
models, and what a refused write clashed with.

SQLite is the embedded default and PostgreSQL the production store; the differences between them
are handled here and in store.engine so that operations can be written once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    insert,
    literal_column,
    make_url,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from store import outages
from store.engine import checked_out, commit_asynchronously, make_engine, normalize_url
from store.errors import Conflict, OutcomeUnknown, Unavailable
from store.statements import Condition, write_appended, write_together

log = logging.getLogger(__name__)

Tx = Session
"""A unit of work: every directory operation takes one and runs inside it."""

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Written:
    """Rows written together, as `after_commit` hooks see them: the `info` a session has."""

    info: dict[str, Any]


COMMIT_LOST = (
    "The database was lost while the change was being written, and whether it was cannot be "
    "told yet: look for it before writing it again."
)


class Database:
    """The directory's storage: one engine and the transactions opened on it."""

    def __init__(self, url: str, *, wait: float | None = None, **engine_kwargs: object) -> None:
        """`wait`: seconds a statement may wait for a lock, and twice that to run, before it is
        given up as `Unavailable` (a served app's requests); None: as long as it takes (the
        command line's work)."""
        self.url = normalize_url(url)
        engine_kwargs = {"wait": wait, **engine_kwargs}
        self.engine = make_engine(self.url, **engine_kwargs)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._after_commit: list[Callable[[Tx | Written], None]] = []
        # Reads on PostgreSQL run without BEGIN/COMMIT round trips: each statement sees committed
        # data, which is all a read of one resource or one page needs.
        read_options = {"rollcall_write": False}
        if self.engine.dialect.name == "postgresql":
            read_options["isolation_level"] = "AUTOCOMMIT"
        read_engine = self.engine.execution_options(**read_options)
        self._reader = sessionmaker(read_engine, expire_on_commit=False)
        # `reading` and `committing` connections on PostgreSQL: a pool of their own that stays in
        # autocommit, so that nothing is set on taking one nor rolled back on returning it (half
        # its cost), and whose commits do not wait for the disk.
        self._hot: Engine = read_engine
        if self.engine.dialect.name == "postgresql":
            self._hot = make_engine(
                self.url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, **engine_kwargs
            )
            commit_asynchronously(self._hot)
            # `insert_together`'s: autocommit too, but each commit waits for the disk.
            self._durable = make_engine(
                self.url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None, **engine_kwargs
            )

    def after_commit(self, hook: Callable[[Tx | Written], None]) -> None:
        """Call `hook` with each transaction once it has committed (once, however often asked),
        and with the `Written` of rows inserted together."""
        if hook not in self._after_commit:
            self._after_commit.append(hook)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine with a pool of its own (for what listens to statements: tracing): on
        PostgreSQL also those of `reading`, `committing` and `insert_together`."""
        if self.dialect != "postgresql":
            return (self.engine,)  # `_hot` is the same engine with options
        return (self.engine, self._hot, self._durable)

    def session(self, *, write: bool = True) -> Tx:
        """A session the caller closes; `transaction` is the usual way in."""
        return (self._writer if write else self._reader)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Tx]:
        """Commit when the block ends, roll back on any exception: all of an operation or none.

        The database lost before the COMMIT is `Unavailable` (nothing was written); lost during
        the COMMIT it is `OutcomeUnknown`: the server may have committed before the connection
        went (see store.outages)."""
        session = self.session(write=write)
        try:
            try:
                yield session
                write_appended(session)  # the audit events and log entries: one statement
                session.flush()  # so that only the COMMIT is left to `commit`
            except Exception as exc:
                outages.raise_if_outage(exc)  # no connection to be had, too
                raise
            try:
                session.commit()
            except Exception as exc:
                if outages.is_outage(exc):
                    raise OutcomeUnknown(COMMIT_LOST) from exc
                raise
        except IntegrityError as exc:
            session.rollback()
            raise Conflict(integrity_message(exc)) from exc
        except StaleDataError as exc:
            session.rollback()
            raise Conflict("Someone else changed this at the same moment; try again.") from exc
        except BaseException:
            outages.abandon(session)
            raise
        finally:
            outages.close(session)
        for hook in self._after_commit:  # committed: what follows cannot undo it
            hook(session)

    def reading(self) -> AbstractContextManager[Connection]:
        """A read-only connection for `fetch` alone: a request that only reads a row or two
        spends less on it than on a session's bookkeeping."""
        return checked_out(self._hot)

    @contextmanager
    def committing(self) -> Iterator[Connection]:
        """A bare connection for a request that reads a row or two and writes one statement that
        a client can simply ask for again if lost: a short-lived token. On PostgreSQL each
        statement commits at once (no BEGIN/COMMIT round trips) and without waiting for the disk
        (asynchronous commit: visible to everyone at once, but a crash of the database in the
        next moment may forget it); on SQLite all commit when the block ends. Anything else takes
        `transaction`."""
        if self.engine.dialect.name == "postgresql":
            with checked_out(self._hot) as connection:
                yield connection
        else:
            with self.engine.begin() as connection:
                yield connection

    def insert_together(
        self,
        rows: Sequence[tuple[Any, Mapping[str, Any]]],
        only_if: Condition | None = None,
        info: dict[str, Any] | None = None,
    ) -> bool:
        """New rows of several tables (model, column values) written as one durable change
        without a session: on PostgreSQL as one statement (data-modifying WITH clauses) that
        commits at once, a single round trip; elsewhere as inserts in one transaction. A clash
        (a taken userName) writes none of them and is a Conflict. With `only_if`, a condition
        and its parameters, the rows are written only if it holds when they are: checked in
        the same statement, or transaction. Returns whether they were written. Once they are,
        the `after_commit` hooks get `info` as they get a committed session's."""
        written = self._write_together(rows, only_if)
        if written:
            committed = Written(info if info is not None else {})
            for hook in self._after_commit:
                try:
                    hook(committed)
                except Exception:  # written: the caller must still hear so
                    log.exception("a hook after rows written together failed")
        return written

    def _write_together(
        self, rows: Sequence[tuple[Any, Mapping[str, Any]]], only_if: Condition | None
    ) -> bool:
        if self.engine.dialect.name != "postgresql":
            try:
                with self.engine.begin() as connection:
                    if only_if is not None:
                        condition, given = only_if
                        if not connection.execute(select(condition), dict(given)).scalar():
                            return False
                    for model, values in rows:
                        connection.execute(insert(model), values)
            except IntegrityError as exc:
                raise Conflict(integrity_message(exc)) from exc
            except Exception as exc:
                outages.raise_if_outage(exc)  # SQLite: its write lock held past its wait
                raise
            return True
        from psycopg import IntegrityError as Clash  # PostgreSQL's driver

        backend = None
        try:
            with checked_out(self._durable) as connection:
                backend = connection.connection.driver_connection.info.backend_pid
                return write_together(connection, rows, only_if)
        except Clash as exc:
            raise Conflict(integrity_message(exc)) from exc
        except Exception as exc:
            if outages.is_busy(exc):  # given up, or stopped, by the server: nothing written
                outages.raise_if_outage(exc)
                raise
            if backend is None or not outages.is_outage(exc):
                raise
            if self._written(rows[0], backend):
                return True
            raise Unavailable("The database failed while writing; nothing was written.") from exc

    def _written(self, row: tuple[Any, Mapping[str, Any]], backend: int) -> bool:
        """Whether the first of rows whose statement lost its connection was written after all.

        The server may still be running the statement when its client is gone: its backend is
        ended first (waiting up to 5 s), so that what is found is final. A database that cannot
        be asked leaves the outcome unknown.
        """
        model, values = row
        key = {column.key: values.get(column.key) for column in model.__table__.primary_key}
        try:
            if None in key.values():
                raise LookupError("a key the database numbers cannot be looked for")
            with checked_out(self._hot) as connection:
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                        " WHERE pid = :pid"
                    ),
                    {"pid": backend},
                )
                found = select(literal_column("1")).select_from(model.__table__)
                for column, value in key.items():
                    found = found.where(model.__table__.c[column] == value)
                return connection.execute(found).first() is not None
        except Exception as exc:
            raise OutcomeUnknown(COMMIT_LOST) from exc

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.engine.dialect.name == "postgresql":
            self._hot.dispose()
            self._durable.dispose()


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own on the server of `server_url`, dropped afterwards.

    Test runs and benchmarks use one each, so they never see each other's rows.
    """
    base = make_url(normalize_url(server_url))
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def integrity_message(exc: Exception) -> str:
    """What a refused write clashed with, in words (a taken name, where one is); `exc` is
    SQLAlchemy's IntegrityError or the driver's own."""
    detail = str(getattr(exc, "orig", exc)).lower()
    if "user_name" in detail:
        return "That userName is already taken."
    if "sign_in_names" in detail:
        return "That userName or email address already signs in another user."
    if "display_name" in detail:
        return "A group with that name already exists in this account."
    if "foreign key" in detail:
        return "A user or group this change names was deleted meanwhile; read it again."
    return "The change conflicts with existing data."
