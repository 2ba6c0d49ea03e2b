"""Engine, transactions and the column types shared by the models.

SQLite is the embedded default and PostgreSQL the production store; the differences between them
are handled here so that operations can be written once.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
    insert,
    literal_column,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, InvalidRequestError
from sqlalchemy.orm import ColumnProperty, DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.types import TypeDecorator

from store import outages
from store.errors import Conflict, OutcomeUnknown, Unavailable

# The hot statements live in store.statements; their names stay importable from here.
from store.statements import Condition as Condition
from store.statements import Reads as Reads
from store.statements import fetch as fetch
from store.statements import run as run
from store.statements import with_defaults as with_defaults
from store.statements import write_appended, write_together

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


def normalize_url(url: str) -> str:
    """Accept the plain `postgresql://` spelling and use the psycopg 3 driver for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: object) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **kwargs)
    outages.report_outages(engine)
    _ping_after_idle(engine)
    _in_utc(engine)
    _set_on_connect(engine, "SET jit TO off")  # see below
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


def _commit_asynchronously(engine: Engine) -> None:
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


@dataclass(frozen=True)
class Written:
    """Rows written together, as `after_commit` hooks see them: the `info` a session has."""

    info: dict[str, Any]


PING_AFTER_IDLE = 10.0  # seconds


@contextmanager
def _checked_out(engine: Engine) -> Iterator[Connection]:
    """A connection of the engine's pool, invalidated if it failed with an operational error.

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


_Row = TypeVar("_Row")


def locked(tx: Tx, model: type[_Row], ident: Any, options: Sequence[Any] = ()) -> _Row | None:
    """The row of `model` with this key, locked until the transaction ends and read afresh
    (with `options`, what to load with it), or None.

    A row this transaction read earlier without the lock is refreshed, not version-checked as
    SQLAlchemy checks a locked read of a loaded object: another request may have changed it and
    committed since, which is what waiting for the lock is for, not a conflict. A row it has
    locked already is not read again: nobody else can have changed it since.
    """
    key = tx.identity_key(model, ident)
    held = tx.info.setdefault(_LOCKED, set())
    loaded = tx.identity_map.get(key)
    if loaded is not None and key in held:
        return loaded
    # OF the row's own table: related rows loaded with it are outer joins, which cannot be.
    if loaded is None:
        loaded = tx.get(
            model, ident, with_for_update={"of": model}, populate_existing=True, options=options
        )
    else:
        try:
            tx.refresh(loaded, with_for_update={"of": model})
        except InvalidRequestError:  # deleted meanwhile
            tx.expunge(loaded)
            return None
    if loaded is not None:
        held.add(key)
    return loaded


_LOCKED = "rollcall.locked_rows"


def write_columns(tx: Tx, obj: Any) -> bool:
    """Write what changed of one loaded, versioned object, its columns only, by one plain
    UPDATE checked against its version as the unit of work checks it (at a fraction of the
    unit of work's cost, which is most of a user PATCH's). Returns False, having done nothing,
    when anything else is pending (new or deleted objects, other changed ones, a changed
    relationship): those are for `tx.flush()`.

    Uses two of SQLAlchemy's private names (InstanceState.committed_state and _commit_all),
    pinned in pyproject.toml; without them it leaves everything to `tx.flush()`."""
    state = instance_state(obj)
    mapper = state.mapper
    committed = getattr(state, "committed_state", None)
    version = mapper.version_id_col
    if (
        committed is None
        or not hasattr(state, "_commit_all")
        or version is None
        or state.key is None
        or tx.new
        or tx.deleted
    ):
        return False
    dirty = tx.dirty
    if len(dirty) != 1 or obj not in dirty:
        return False
    table = mapper.local_table
    values: dict[str, Any] = {}
    for key in committed:
        prop = mapper.attrs[key]
        if not isinstance(prop, ColumnProperty) or prop.columns[0] is version:
            return False
        values[prop.columns[0].key] = state.dict[key]
    if not values:
        return False
    for column in table.columns:
        if column.onupdate is not None and column.key not in values:
            values[column.key] = column.onupdate.arg(None)
    before = state.dict[mapper.get_property_by_column(version).key]
    values[version.key] = before + 1
    (key_column,) = table.primary_key.columns
    ident = state.dict[mapper.get_property_by_column(key_column).key]
    # On the connection: the session would first flush the object the unit of work's way.
    written = (
        tx.connection()
        .execute(update(table).where(key_column == ident, version == before).values(values))
        .rowcount
    )
    if written != 1:
        raise StaleDataError(f"{mapper.class_.__name__} {ident} changed meanwhile")
    for column_key, value in values.items():
        state.dict[mapper.get_property_by_column(table.c[column_key]).key] = value
    state._commit_all(state.dict, tx.identity_map)
    return True


class Database:
    """The directory's storage: one engine and the transactions opened on it."""

    def __init__(self, url: str, **engine_kwargs: object) -> None:
        self.url = normalize_url(url)
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
            _commit_asynchronously(self._hot)
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
        the COMMIT it is not, since the change may have been made (see store.outages)."""
        session = self.session(write=write)
        try:
            try:
                yield session
                write_appended(session)  # the audit events and log entries: one statement
            except Exception as exc:
                outages.raise_if_outage(exc)  # no connection to be had, too
                raise
            session.commit()
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
        return _checked_out(self._hot)

    @contextmanager
    def committing(self) -> Iterator[Connection]:
        """A bare connection for a request that reads a row or two and writes one statement that
        a client can simply ask for again if lost: a short-lived token. On PostgreSQL each
        statement commits at once (no BEGIN/COMMIT round trips) and without waiting for the disk
        (asynchronous commit: visible to everyone at once, but a crash of the database in the
        next moment may forget it); on SQLite all commit when the block ends. Anything else takes
        `transaction`."""
        if self.engine.dialect.name == "postgresql":
            with _checked_out(self._hot) as connection:
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
            return True
        from psycopg import IntegrityError as Clash  # PostgreSQL's driver

        backend = None
        try:
            with _checked_out(self._durable) as connection:
                backend = connection.connection.driver_connection.info.backend_pid
                return write_together(connection, rows, only_if)
        except Clash as exc:
            raise Conflict(integrity_message(exc)) from exc
        except Exception as exc:
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
            with _checked_out(self._hot) as connection:
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
            raise OutcomeUnknown(
                "The database was lost while the change was being written, and whether it was "
                "cannot be told yet: look for it before writing it again."
            ) from exc

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
    return "The change conflicts with existing data."
