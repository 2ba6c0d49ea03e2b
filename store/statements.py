"""Statements built once and run hot: the reads nearly every request asks, and the insert of
rows written together.

On PostgreSQL a `Prepared` statement runs straight on the psycopg connection as a prepared
statement, because for the hottest reads SQLAlchemy's work per execution costs more than the
database's; elsewhere (SQLite) SQLAlchemy runs it.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    String,
    bindparam,
    cast,
    insert,
    literal_column,
    select,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from store.outages import raise_if_outage

Reads = Session | Connection
"""What `fetch` and `run` run on: a unit of work, or a bare connection from `Database.reading`
or `Database.committing` when nothing else is done in the request."""

Condition = tuple[ColumnElement[bool], Mapping[str, Any]]
"""A condition built once (module level, its parameters named) and the values of them."""


class Prepared:
    """A statement built once (module level) for `fetch` or `run`, compiled once per dialect.

    Its parameters must be plain values (no expanding lists): they are passed as they are.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
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
        return list(tx.execute(prepared.statement, params).all())
    compiled = prepared.compiled(dialect)
    with _raw_cursor(tx) as cursor:
        try:
            cursor.execute(compiled.sql, compiled.args(params), prepare=True)
            rows = cursor.fetchall()
        except Exception as exc:  # the driver's own: SQLAlchemy's events do not see it
            raise_if_outage(exc)
            raise
        if not rows:
            return rows
        row = compiled.row or compiled.name_columns(cursor.description)
        return list(map(row._make, rows))


def run(tx: Reads, prepared: Prepared, params: Mapping[str, Any]) -> None:
    """A write, run as `fetch` runs reads (the hot one: the hash of a token issued)."""
    dialect = _dialect(tx)
    if dialect.name != "postgresql":
        tx.execute(prepared.statement, params)
        return
    compiled = prepared.compiled(dialect)
    with _raw_cursor(tx) as cursor:
        try:
            cursor.execute(compiled.sql, compiled.args(params), prepare=True)
        except Exception as exc:
            raise_if_outage(exc)
            raise


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
    compiled = prepared.compiled(connection.dialect)
    with _raw_cursor(connection) as cursor:
        try:
            cursor.execute(compiled.sql, compiled.args(params), prepare=True)
        except Exception as exc:
            raise_if_outage(exc)
            raise
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


def _unbounded(kind: Any) -> Any:
    """The type a value is cast to before it is inserted from a SELECT: text without its length,
    since PostgreSQL cuts text cast to VARCHAR(n) where inserting it refuses what is too long."""
    return String() if isinstance(kind, String) else kind


def _dialect(tx: Reads) -> Dialect:
    return tx.get_bind().dialect if isinstance(tx, Session) else tx.dialect


def _raw_cursor(tx: Reads) -> Any:
    """A psycopg cursor on the connection of `tx` that sends SQL with $n placeholders as it is."""
    from psycopg import RawCursor  # PostgreSQL's driver, not needed elsewhere

    if isinstance(tx, Session):
        if tx.new or tx.dirty or tx.deleted:
            tx.flush()  # what the session would do before a query of its own (autoflush)
        tx = tx.connection()
    return RawCursor(tx.connection.driver_connection)
