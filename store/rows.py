"""Two ways a unit of work handles one row: `locked` reads it under a lock held until the
transaction ends, and `write_columns` writes its changed columns by one plain UPDATE instead of
a flush.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, inspect, select, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import ColumnProperty
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import StaleDataError

from store.db import Tx

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
    if loaded is None and options:
        # Lock by the key alone, then read: a locked read that waited for the lock sees the
        # row as the other transaction left it, but the rows it joined as they were before
        # (PostgreSQL's READ COMMITTED re-checks only the locked row), so two PUTs of one
        # user would each write its emails from the first one's stale list.
        if tx.scalar(_lock_by_key(model), {"ident": ident}) is not None:
            loaded = tx.get(model, ident, populate_existing=True, options=options)
    elif loaded is None:
        loaded = tx.get(model, ident, with_for_update={"of": model}, populate_existing=True)
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


@cache
def _lock_by_key(model: type) -> Select:
    """SELECT key FROM model's table WHERE key = :ident FOR UPDATE, built once per model."""
    (key,) = inspect(model).primary_key
    return select(key).where(key == bindparam("ident")).with_for_update()


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
