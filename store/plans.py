"""Steering PostgreSQL's planner where a new directory's missing statistics mislead it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from store.db import Tx


@contextmanager
def index_order(tx: Tx, wanted: bool = True) -> Iterator[None]:
    """Have PostgreSQL read a page of users in the order of an index that holds it, rather than
    sort every user of the account to find the page. On a table it has never counted (a new
    directory, right after its first import) the planner guesses a few dozen users an account
    and prefers to sort them all: 30-250 ms a page at 100,000 users, where reading the index
    in order takes a fraction of that. For pages without a search or filter only: those may
    have an index of their own, whose few rows cost little to sort.

    Set on the connection and reset afterwards: reads run without a transaction to SET LOCAL in.
    """
    if not wanted or tx.get_bind().dialect.name != "postgresql":
        yield
        return
    tx.execute(_SORT_OFF)
    try:
        yield
    except BaseException:
        # A transaction that failed undoes the SET itself (and takes no RESET); a lost
        # connection is not reused. The failure is what the caller is told of.
        with suppress(DBAPIError):
            tx.execute(_SORT_ON)
        raise
    tx.execute(_SORT_ON)


_SORT_OFF = text("SET enable_sort = off")
_SORT_ON = text("RESET enable_sort")
