"""Statements built once and run hot: the reads nearly every request asks, the insert of rows
written together, and the log rows a transaction appends (`write_appended`).

On PostgreSQL a `Prepared` statement runs straight on the psycopg connection as a prepared
statement, because for the hottest reads SQLAlchemy's work per execution costs more than the
database's; elsewhere (SQLite) SQLAlchemy runs it.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    String,
    and_,
    bindparam,
    cast,
    insert,
    literal_column,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from store.outages import raise_if_outage

Reads = Session | Connection
"""What `fetch` and `run` run on: a unit of work, or a bare connection from `Database.reading`
or `Database.committing` when nothing else is done in the request."""

Condition = tuple[ColumnElement[bool], Mapping[str, Any]]
"""A condition built once (module level, its parameters named) and the values of them."""


def both(first: Condition | None, second: Condition | None) -> Condition | None:
    """Two conditions (either may be None) as one, its SQL built once per pair, so that a
    statement made per condition (`write_together`) is made once too."""
    if first is None or second is None:
        return first or second
    return _and(first[0], second[0]), {**first[1], **second[1]}


@lru_cache(maxsize=16)
def _and(first: ColumnElement[bool], second: ColumnElement[bool]) -> ColumnElement[bool]:
    return and_(first, second)


class Prepared:
    """A statement built once (module level) for `fetch` or `run`, compiled once per dialect.

    Its parameters must be plain values (no expanding lists): they are passed as they are.
    `one_by_one`: statements that do the same one after another, where a statement's WITH
    clauses cannot change rows (SQLite); the last one's rows are the result.
    """

    def __init__(self, statement: Executable, *, one_by_one: Sequence[Executable] = ()) -> None:
        self.statement = statement
        self.one_by_one = tuple(one_by_one)
        self._compiled: dict[str, Compiled] = {}

    def compiled(self, dialect: Dialect) -> Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = Compiled.of(self.statement, dialect)
        return found


@dataclass
class Compiled:
    """A statement as psycopg runs it: SQL with PostgreSQL's own placeholders ($1, $2...), which
    psycopg sends as they are (as bytes, which it would otherwise encode on every run), and how
    to turn parameters by name into the values of those placeholders as SQLAlchemy binds them."""

    sql: bytes
    names: tuple[str, ...]  # the parameter of each placeholder
    processors: dict[str, Callable[[Any], Any]]  # what SQLAlchemy does to a parameter first
    defaults: dict[str, Any]  # the values bound in the statement itself, processed
    row: Any = None  # the named tuple of its rows, made on the first run

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect) -> Compiled:
        compiled = statement.compile(dialect=type(dialect)(paramstyle="numeric_dollar"))
        processors = {}
        for key, bind in compiled.binds.items():
            if bind.expanding:
                raise TypeError(f"a prepared statement cannot expand {key!r}; use tx.execute")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[key] = processor
        defaults = {
            key: processors[key](value) if key in processors else value
            for key, value in compiled.params.items()
        }
        names = tuple(compiled.positiontup or ())
        return cls(str(compiled).encode(), names, processors, defaults)

    @property
    def text(self) -> str:
        return self.sql.decode()

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The placeholders' values, in order, for these parameters."""
        values = self.defaults | {
            key: self.processors[key](value) if key in self.processors else value
            for key, value in params.items()
        }
        return [values[name] for name in self.names]

    def name_columns(self, description: Any) -> Any:
        """The named tuple of its rows, made once from the first run's description (which
        psycopg builds anew on each asking, as its namedtuple_row would the tuple)."""
        self.row = namedtuple("Row", [column.name for column in description], rename=True)
        return self.row


def fetch(tx: Reads, prepared: Prepared, params: Mapping[str, Any]) -> list[Any]:
    """The rows of a read, with its columns as attributes. psycopg reads UUIDs, booleans, JSON
    and (the connection is in UTC) timestamps as SQLAlchemy would."""
    dialect = _dialect(tx)
    if dialect.name != "postgresql":
        *first, last = prepared.one_by_one or (prepared.statement,)
        for statement in first:
            tx.execute(statement, params)
        return list(tx.execute(last, params).all())
    compiled = prepared.compiled(dialect)
    with _on_driver(tx, compiled, params) as cursor:
        rows = cursor.fetchall()
        if not rows:
            return rows
        row = compiled.row or compiled.name_columns(cursor.description)
        return list(map(row._make, rows))


def run(tx: Reads, prepared: Prepared, params: Mapping[str, Any]) -> None:
    """A write, run as `fetch` runs reads (the hot one: the hash of a token issued)."""
    dialect = _dialect(tx)
    if dialect.name != "postgresql":
        for statement in prepared.one_by_one or (prepared.statement,):
            tx.execute(statement, params)
        return
    with _on_driver(tx, prepared.compiled(dialect), params):
        pass  # run as the cursor is opened; a write has no rows to read


def write_together(
    connection: Connection,
    rows: Sequence[tuple[Any, Mapping[str, Any]]],
    only_if: Condition | None,
) -> bool:
    """`Database.insert_together` on PostgreSQL: the rows as one statement, on an autocommit
    connection, so that it commits as it runs. Returns whether they were written."""
    shape = tuple((model, tuple(values)) for model, values in rows)
    prepared = _together(shape, None if only_if is None else only_if[0])
    params = dict(only_if[1]) if only_if is not None else {}
    for n, (_model, values) in enumerate(rows):
        params.update((f"r{n}_{key}", value) for key, value in values.items())
    with _on_driver(connection, prepared.compiled(connection.dialect), params) as cursor:
        return cursor.rowcount > 0


@lru_cache(maxsize=64)
def _together(
    shape: tuple[tuple[Any, tuple[str, ...]], ...], condition: ColumnElement[bool] | None
) -> Prepared:
    """One INSERT per (model, columns), all in one statement: the first ones as WITH clauses
    of the last. Their rows are checked against each other's foreign keys at its end. With a
    condition, each inserts its row from a WITH clause that holds one row if the condition
    holds and none if not: evaluated once, on the snapshot all of them see. Made once per
    shape of rows (`with_defaults` gives a model's rows few shapes)."""
    guard = None if condition is None else select(literal_column("1")).where(condition).cte("guard")
    inserts = []
    for n, (model, columns) in enumerate(shape):
        if guard is None:
            values = {column: bindparam(f"r{n}_{column}") for column in columns}
            inserts.append(insert(model).values(values))
            continue
        types = [model.__table__.c[column].type for column in columns]
        typed = [
            cast(bindparam(f"r{n}_{column}", type_=kind), _unbounded(kind))
            for column, kind in zip(columns, types, strict=True)
        ]
        chosen = select(*typed).select_from(guard)  # no row unless the condition holds
        inserts.append(insert(model).from_select(list(columns), chosen, include_defaults=False))
    *first, last = inserts
    return Prepared(last.add_cte(*(statement.cte(f"w{n}") for n, statement in enumerate(first))))


MOST_APPENDED = 8  # rows of a statement `write_appended` writes; more are the ORM's (rare)


def write_appended(session: Session) -> None:
    """Flush the session, writing the rows it appends to a log (models that set
    `appended_at_commit`: the audit trail, the provisioning log, the outbox) after the rest, in
    one statement on PostgreSQL, and in the order they were added. A change's audit event and
    its log entry then cost one round trip, not one each and the unit of work's bookkeeping.
    The rows' objects get their column values (their ids too) and leave the session: nothing
    refers to them and they are never changed again."""
    appended = [obj for obj in session.new if getattr(type(obj), "appended_at_commit", False)]
    if not appended or len(appended) > MOST_APPENDED:
        session.flush()
        return
    appended.sort(key=lambda obj: instance_state(obj).insert_order)
    for obj in appended:
        session.expunge(obj)
    session.flush()
    rows = [(type(obj), _values_of(obj)) for obj in appended]
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        keys = [
            connection.execute(insert(model), values).inserted_primary_key for model, values in rows
        ]
    else:
        shape = tuple((model, tuple(values)) for model, values in rows)
        compiled = _appended(shape).compiled(connection.dialect)
        params = {f"r{n}_{k}": v for n, (_m, values) in enumerate(rows) for k, v in values.items()}
        try:
            with _on_driver(connection, compiled, params) as cursor:
                keys = [(key,) for key in cursor.fetchone()]
        except Exception as exc:
            _raise_as_sqlalchemy_does(exc, compiled.sql)
            raise
    for obj, (model, values), key in zip(appended, rows, keys, strict=True):
        (pk,) = model.__table__.primary_key.columns
        for column, value in (values | {pk.key: key[0]}).items():
            set_committed_value(obj, column, value)


def _raise_as_sqlalchemy_does(exc: Exception, sql: bytes) -> None:
    """Raise a driver's error as SQLAlchemy raises it for the statements it runs (an
    IntegrityError, a DataError...), which is what transactions and their callers handle."""
    from psycopg import Error  # PostgreSQL's driver

    if isinstance(exc, Error):
        raise DBAPIError.instance(sql.decode(), None, exc, Error) from exc


def _values_of(obj: Any) -> dict[str, Any]:
    """The columns an appended object is inserted with, as `with_defaults` completes them."""
    state = obj.__dict__
    return with_defaults(type(obj), {k: state[k] for k in _keys(type(obj)) if k in state})


@lru_cache(maxsize=16)
def _keys(model: Any) -> tuple[str, ...]:
    return tuple(column.key for column in model.__table__.columns)


@lru_cache(maxsize=64)
def _appended(shape: tuple[tuple[Any, tuple[str, ...]], ...]) -> Prepared:
    """One INSERT per row, each a WITH clause that reads the one before (so the rows, and the
    numbers they are given, come in order), and a SELECT of every row's key."""
    written: list[Any] = []
    for n, (model, columns) in enumerate(shape):
        (pk,) = model.__table__.primary_key.columns
        if not written:
            statement = insert(model).values({c: bindparam(f"r{n}_{c}") for c in columns})
        else:
            kinds = [model.__table__.c[column].type for column in columns]
            typed = [
                cast(bindparam(f"r{n}_{column}", type_=kind), _unbounded(kind))
                for column, kind in zip(columns, kinds, strict=True)
            ]
            chosen = select(*typed).select_from(written[-1])
            statement = insert(model).from_select(list(columns), chosen, include_defaults=False)
        written.append(statement.returning(pk.label("key")).cte(f"w{n}"))
    return Prepared(select(*(w.c.key.label(f"k{n}") for n, w in enumerate(written))))


def with_defaults(model: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """A new row of `model` as the ORM would insert it (for `insert_together`): the values given,
    and every other column's default; keys the database numbers itself are left out. Defaults
    that read other columns (`modified_at`) must be given. The keys come in the table's order
    whatever was given, so that rows of a model have one shape (a statement is made per shape)."""
    unknown = values.keys() - _column_keys(model)
    if unknown:
        raise TypeError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
    row: dict[str, Any] = {}
    for key, is_scalar, default, numbered in _defaults(model):
        value = values.get(key)
        if value is not None:
            row[key] = value
        elif default is not None:
            row[key] = default if is_scalar else default(None)
        elif not numbered:
            row[key] = None
    return row


@cache
def _column_keys(model: Any) -> frozenset[str]:
    return frozenset(key for key, *_ in _defaults(model))


@cache
def _defaults(model: Any) -> tuple[tuple[str, bool, Any, bool], ...]:
    """Each column of `model`: its key, whether its default is a value (or a function), that
    default, and whether the database numbers it (a primary key without default)."""
    return tuple(
        (
            column.key,
            column.default is not None and column.default.is_scalar,
            column.default.arg if column.default is not None else None,
            column.primary_key,
        )
        for column in model.__table__.columns
    )


def _unbounded(kind: Any) -> Any:
    """The type a value is cast to before it is inserted from a SELECT: text without its length,
    since PostgreSQL cuts text cast to VARCHAR(n) where inserting it refuses what is too long."""
    return String() if isinstance(kind, String) else kind


def _dialect(tx: Reads) -> Dialect:
    return tx.get_bind().dialect if isinstance(tx, Session) else tx.dialect


@contextmanager
def _on_driver(tx: Reads, compiled: Compiled, params: Mapping[str, Any]) -> Iterator[Any]:
    """A psycopg cursor on the connection of `tx` (sending SQL with $n placeholders as it is)
    that has run the statement. An outage, while it runs or its rows are read, raises
    `Unavailable`: the driver's errors are its own, SQLAlchemy does not see them."""
    from psycopg import RawCursor  # PostgreSQL's driver, not needed elsewhere

    if isinstance(tx, Session):
        if tx.new or tx.dirty or tx.deleted:
            tx.flush()  # what the session would do before a query of its own (autoflush)
        tx = tx.connection()
    with RawCursor(tx.connection.driver_connection) as cursor:
        try:
            _execute(tx, cursor, compiled, compiled.args(params))
            yield cursor
        except Exception as exc:
            raise_if_outage(exc)
            raise


class _DriverContext:
    """The execution context listeners get for a statement run on the driver: a place to keep
    what they start (a tracing span), and nothing of SQLAlchemy's."""


def _execute(connection: Connection, cursor: Any, compiled: Compiled, args: list[Any]) -> None:
    """Run a statement on the driver inside the engine's cursor events, as SQLAlchemy runs its
    own, so that what listens (tracing, statement counts) sees every statement; checked first,
    so that nothing is paid when nothing listens. The after-event comes whether or not the
    statement failed: it ends what the before-event started."""
    events = connection.dispatch
    if not (events.before_cursor_execute or events.after_cursor_execute):
        cursor.execute(compiled.sql, args, prepare=True)
        return
    statement, context = compiled.text, _DriverContext()
    events.before_cursor_execute(connection, cursor, statement, args, context, False)
    try:
        cursor.execute(compiled.sql, args, prepare=True)
    finally:
        events.after_cursor_execute(connection, cursor, statement, args, context, False)
