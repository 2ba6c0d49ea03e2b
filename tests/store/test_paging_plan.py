"""A page of users is planned well on a database that has no statistics yet (a new customer's,
right after the first import): its ids are read once, not once per user of the account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Integer, cast, event, func, literal, select
from sqlalchemy.exc import DataError

from store import listing, new_users, user_search
from store.credentials import AccountRow
from store.models.directory import User

PAGE = 100
PER_PAGE = 25


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", ()):
        nodes += plan_nodes(child)
    return nodes


def test_a_deep_page_reads_its_ids_once_without_statistics(db, enterprise):
    """The page's ids are gathered first, then their rows read by primary key: a planner that
    took the users of a new directory for one row ran a subquery of the ids once per user."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite plans without statistics of this kind")
    account = AccountRow(enterprise.account.id, enterprise.account.kind)
    for n in range(3 * PAGE):
        new_users.create_user_at_once(db, enterprise.okta, account, user_name=f"paged.{n:04}")
    query = select(User.id).where(User.account_id == account.id)
    statement = listing.page_statement(query, User, (), 2 * PAGE, PAGE, db.dialect)
    with db.engine.connect() as conn:
        compiled = statement.compile(dialect=conn.dialect)
        explained = conn.exec_driver_sql(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), compiled.params
        ).scalar()
    plan = (explained if isinstance(explained, list) else json.loads(explained))[0]["Plan"]
    nodes = plan_nodes(plan)
    assert plan["Actual Rows"] == PAGE
    assert max(node["Actual Loops"] for node in nodes) <= PAGE, [
        (node["Node Type"], node["Actual Loops"]) for node in nodes
    ]
    with db.transaction(write=False) as tx:
        page = listing.users(tx, enterprise.okta, offset=2 * PAGE, limit=PAGE)
        plainly = select(User.user_name).where(User.account_id == account.id)
        plainly = plainly.order_by(User.created_at, User.id).offset(2 * PAGE).limit(PAGE)
        assert [v.user.user_name for v in page.items] == list(tx.scalars(plainly))


def test_a_never_counted_users_table_is_not_planned_as_one_row(db, enterprise):
    """Until PostgreSQL counts a table it estimates the rows from the table's pages and the width
    of a row; with users' text declared VARCHAR(n) a row came to 11 KB, a page held none, and
    every plan took the users of a new directory for one row."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's estimates without statistics")
    account = AccountRow(enterprise.account.id, enterprise.account.kind)
    for n in range(3 * PAGE):
        new_users.create_user_at_once(db, enterprise.okta, account, user_name=f"counted.{n:04}")
    with db.engine.connect() as conn:
        pages, counted = conn.exec_driver_sql(
            "SELECT relpages, reltuples FROM pg_class WHERE relname = 'users'"
        ).one()
        explained = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) SELECT * FROM users").scalar()
    plan = (explained if isinstance(explained, list) else json.loads(explained))[0]["Plan"]
    assert plan["Plan Width"] < 2048, plan
    if pages == 0:  # not counted since the table was made or emptied (no VACUUM, no ANALYZE)
        assert plan["Plan Rows"] >= 3 * PAGE / 10, (counted, plan)  # within a factor of ten


def test_postgresql_connections_do_not_compile_plans(db):
    """JIT: without statistics the planner's guesses crossed its thresholds, and compiling a
    page took longer than running it."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's JIT")
    jit = select(func.current_setting("jit"))
    with db.transaction() as tx:  # the pool of changes
        assert tx.scalar(jit) == "off"
    with db.reading() as conn:  # the pool of hot reads
        assert conn.execute(jit).scalar() == "off"


@contextmanager
def plans_of(db, marker: str) -> Iterator[list[dict[str, Any]]]:
    """The plans of the statements holding `marker` run while the block runs, each explained
    on its own connection just before it runs (so under the settings it runs with)."""
    plans: list[dict[str, Any]] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if marker in statement:
            explained = cursor.connection.execute(
                "EXPLAIN (FORMAT JSON) " + statement, parameters
            ).fetchone()[0]
            plans.append((explained if isinstance(explained, list) else json.loads(explained))[0])

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        yield plans
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)


def index_scans(plan: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The indexes a plan reads and its Sort nodes."""
    nodes = plan_nodes(plan)
    sorts = [node for node in nodes if node["Node Type"] == "Sort"]
    return [node["Index Name"] for node in nodes if "Index Name" in node], sorts


def test_a_page_without_a_filter_reads_the_account_index_in_order(db, enterprise):
    """Without statistics the planner guessed a few dozen users an account and sorted all of
    them for every page (30-70 ms at 100,000 users); the account's index holds the order."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's plans without statistics")
    account = AccountRow(enterprise.account.id, enterprise.account.kind)
    for n in range(3 * PAGE):
        new_users.create_user_at_once(db, enterprise.okta, account, user_name=f"ordered.{n:04}")
    order = (User.created_at, User.id)
    with db.transaction(write=False) as tx:
        with plans_of(db, "array_agg") as plans:  # the page's rows
            page = listing.users(tx, enterprise.okta, order=order, offset=PAGE, limit=PAGE)
        sorting = tx.scalar(select(func.current_setting("enable_sort")))
        plainly = select(User.user_name).where(User.account_id == account.id).order_by(*order)
        expected = list(tx.scalars(plainly.offset(PAGE).limit(PAGE)))
    (plan,) = plans
    ids = next(node for node in plan_nodes(plan["Plan"]) if node.get("Subplan Name"))
    assert index_scans(ids) == (["ix_users_account_created"], []), plan
    assert sorting == "on"  # the connection goes back to the pool as it came
    assert [v.user.user_name for v in page.items] == expected


def test_a_page_that_fails_leaves_its_connection_sorting(db, enterprise):
    """Reads run without a transaction, so the setting would outlive a failed page on the
    pooled connection and plan every later statement there without sorting; in a transaction
    the RESET after a failure would itself fail and hide the first error."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's planner settings")
    broken = cast(literal("not a number"), Integer) > 0  # fails as the page runs
    with db.transaction(write=False) as tx:
        with pytest.raises(DataError):
            listing.users(tx, enterprise.okta, after=broken)
        assert tx.scalar(select(func.current_setting("enable_sort"))) == "on"
    # In a transaction the failure is still the one told, not the RESET's after it.
    with pytest.raises(DataError), db.transaction() as tx:
        listing.users(tx, enterprise.okta, after=broken)


def test_a_manage_users_page_reads_its_sort_index_in_order(db, enterprise):
    """The console's table, unsearched, the same way: at 100,000 users a page sorted them all
    (33 ms for the first) instead of reading the index of its sort order (under 1 ms)."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's plans without statistics")
    account = AccountRow(enterprise.account.id, enterprise.account.kind)
    for n in range(3 * PAGE):
        new_users.create_user_at_once(db, enterprise.okta, account, user_name=f"console.{n:04}")
    with db.transaction(write=False) as tx:
        with plans_of(db, "LIMIT") as plans:
            page = user_search.page_of_users(
                tx, enterprise.actor, account.id, page=2, per_page=PER_PAGE, sort="first_name"
            )
        sorting = tx.scalar(select(func.current_setting("enable_sort")))
    (plan,) = plans  # the page's keys
    assert index_scans(plan["Plan"]) == (["ix_users_account_given_name"], []), plan
    assert sorting == "on"
    assert len(page.users) == PER_PAGE
