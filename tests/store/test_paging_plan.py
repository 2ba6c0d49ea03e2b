"""A page of users is planned well on a database that has no statistics yet (a new customer's,
right after the first import): its ids are read once, not once per user of the account."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import event, func, select

from store import listing, new_users
from store.credentials import AccountRow
from store.models.directory import User

PAGE = 100


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


def test_a_page_without_a_filter_reads_the_account_index_in_order(db, enterprise):
    """Without statistics the planner guessed a few dozen users an account and sorted all of
    them for every page (30-70 ms at 100,000 users); the account's index holds the order."""
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's plans without statistics")
    account = AccountRow(enterprise.account.id, enterprise.account.kind)
    for n in range(3 * PAGE):
        new_users.create_user_at_once(db, enterprise.okta, account, user_name=f"ordered.{n:04}")
    plans: list[dict[str, Any]] = []

    def explain(conn, cursor, statement, parameters, context, executemany):
        if "array_agg" in statement:  # the page's rows
            explained = cursor.connection.execute(
                "EXPLAIN (FORMAT JSON) " + statement, parameters
            ).fetchone()[0]
            plans.append((explained if isinstance(explained, list) else json.loads(explained))[0])

    order = (User.created_at, User.id)
    with db.transaction(write=False) as tx:
        event.listen(db.engine, "before_cursor_execute", explain)
        try:
            page = listing.users(tx, enterprise.okta, order=order, offset=PAGE, limit=PAGE)
        finally:
            event.remove(db.engine, "before_cursor_execute", explain)
        sorting = tx.scalar(select(func.current_setting("enable_sort")))
        plainly = select(User.user_name).where(User.account_id == account.id).order_by(*order)
        expected = list(tx.scalars(plainly.offset(PAGE).limit(PAGE)))
    (plan,) = plans
    nodes = plan_nodes(next(n for n in plan_nodes(plan["Plan"]) if n.get("Subplan Name")))
    scans = [node["Index Name"] for node in nodes if "Index Name" in node]
    assert scans == ["ix_users_account_created"], plan
    assert not [node for node in nodes if node["Node Type"] == "Sort"], plan
    assert sorting == "on"  # the connection goes back to the pool as it came
    assert [v.user.user_name for v in page.items] == expected
