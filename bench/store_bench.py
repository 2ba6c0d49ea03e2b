"""Directory operations per second on SQLite (default) or PostgreSQL (ROLLCALL_DATABASE_URL).

Runs in a database of its own (a temporary SQLite file, or a fresh PostgreSQL database that is
dropped afterwards) and prints figures; nothing here is asserted.

    python bench/store_bench.py [--users 2000] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import select

from store import accounts, migrate, new_users, sign_in_names, users
from store.actors import Actor
from store.db import Database, scratch_database
from store.models.directory import User, fold


@contextmanager
def bench_database() -> Iterator[Database]:
    """A PostgreSQL database of its own (ROLLCALL_DATABASE_URL's server), or a temporary SQLite."""
    url = os.environ.get("ROLLCALL_DATABASE_URL", "")
    if url.startswith("postgres"):
        with scratch_database(url, "rollcall_bench") as scratch:
            database = Database(scratch)
            yield database
            database.dispose()
    else:
        with tempfile.TemporaryDirectory() as folder:
            database = Database(f"sqlite:///{folder}/bench.db")
            yield database
            database.dispose()


def timed(count: int, work: Callable[[int], object]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for i in range(count):
        began = time.perf_counter()
        work(i)
        latencies.append(time.perf_counter() - began)
    return count / (time.perf_counter() - start), latencies


def report(label: str, rate: float, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{label:<34} {rate:9.0f}/s   p50 {cuts[49] * 1000:6.2f} ms   p99 {cuts[98] * 1000:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    operator = Actor.system()
    with bench_database() as db:
        migrate.upgrade(db)
        with db.transaction() as tx:
            account = accounts.create_account(tx, operator, name="Bench", kind="enterprise")
        print(f"database: {db.dialect}, {args.users} users, one transaction per operation")

        def create(i: int) -> None:
            with db.transaction() as tx:
                new_users.create_user(
                    tx,
                    operator,
                    account_id=account.id,
                    user_name=f"Bench.{i}",
                    given_name="Bench",
                    family_name=str(i),
                    emails=[{"value": f"bench{i}@example.test", "primary": True}],
                )

        report("create user (no password)", *timed(args.users, create))
        with db.transaction(write=False) as tx:
            ids = list(tx.scalars(select(User.id)))
        picks = [random.choice(ids) for _ in range(args.lookups)]

        def get(i: int) -> None:
            with db.transaction(write=False) as tx:
                users.get_user(tx, operator, picks[i])

        def by_name(i: int) -> None:
            with db.transaction(write=False) as tx:
                assert sign_in_names.find(tx, f"bench.{i % args.users}") is not None

        def patch(i: int) -> None:
            with db.transaction() as tx:
                users.update_user(tx, operator, picks[i], {"title": f"T{i}"})

        report("get user by id", *timed(args.lookups, get))
        report("find user by userName (any case)", *timed(args.lookups, by_name))
        report("update one field", *timed(args.lookups, patch))
        with db.engine.connect() as conn:
            query = select(User.id).where(User.user_name_ci == fold("Bench.1"))
            compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
            prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
            plan = conn.exec_driver_sql(prefix + str(compiled)).all()
        print("plan of the userName lookup:", " | ".join(str(row[-1]) for row in plan))


if __name__ == "__main__":
    main()
