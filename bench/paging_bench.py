"""List pages of /Users right after an import, before PostgreSQL has any statistics.

Why: an identity provider that imports from Rollcall, or reconciles, reads the whole directory
page by page, usually straight after it was pushed. A new customer's database has no statistics
then (autovacuum has not run, and on this machine it is off), so the list queries must use their
indexes without them: a plan that needs statistics to find the index is slow exactly when the
customer first looks.

How: a PostgreSQL database of its own (dropped at the end), migrated; 2,000 users imported through
SCIM (POSTs from `--concurrency` connections), then filled to 100,000 by COPY; never ANALYZEd nor
VACUUMed (the bench prints what pg_class and pg_stats hold, to show it). At each size: pages of
`count=100` by index (`startIndex` at the start, middle and end) and by cursor (RFC 9865: the first
page, and the pages at the middle and end, whose cursors the bench found by reading every page),
each measured under gunicorn (two sync workers) from `--concurrency` connections beside the bare
endpoint; the time to read every page, by cursor one after another and by index from all
connections; and the plans (EXPLAIN ANALYZE) of the statements a page runs, caught in-process
from Rollcall's app. Nothing is asserted.

Without statistics a page can take minutes, and a worker gunicorn gives up on leaves its query
running: the servers' connections, and the plans', run with `statement_timeout`
(`--statement-timeout`, 25 s, below gunicorn's 30 s); a page is first asked once, and measured
under load only if it answered within `--slow` seconds; the walks stop after `--walk-seconds`.

    .venv/bin/python bench/paging_bench.py [--quick] [--sizes 2000,100000] [--requests 50]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from scim_bench import (
    BARE,
    PAGE,
    SCIM,
    Call,
    Directory,
    Operation,
    Plan,
    Row,
    Setup,
    bench_database,
    code_version,
    exit_on_term,
    fill,
    machine_busy,
    measure,
    note,
    plan_create,
    print_table,
    probe,
    run_slices,
    serve,
    set_up,
    summarize,
)
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError

from store.db import Database


def page_check(status: int, body: Any) -> bool:
    return status == 200 and body.get("itemsPerPage") == PAGE


def found(status: int, _body: Any) -> bool:
    return status == 200


def same_call(path: str) -> Plan:
    def plan(_d: Directory, count: int, ways: int, _rng: random.Random) -> list[list[Call]]:
        return [[Call("GET", path)] * len(range(k, count, ways)) for k in range(ways)]

    return plan


def by_index(start: int) -> str:
    return f"{SCIM}/Users?startIndex={start}&count={PAGE}"


def by_cursor(cursor: str) -> str:
    return f"{SCIM}/Users?cursor={quote(cursor)}&count={PAGE}"


@dataclass(frozen=True)
class Walk:
    label: str
    pages: int
    seconds: float
    slowest: float  # ms


def walk_by_cursor(port: int, token: str, limit: float) -> tuple[Walk, list[str]]:
    """Every page by cursor, one after another as a client must, for `limit` seconds at most: the
    time, and the cursor of every page read (the first page's is the empty one)."""
    cursors, slowest = [""], 0.0
    started = time.monotonic()
    while time.monotonic() - started < limit:
        sent = time.monotonic()
        status, body = probe(port, token, Call("GET", by_cursor(cursors[-1])))
        slowest = max(slowest, time.monotonic() - sent)
        if status != 200:
            note(f"  cursor page {len(cursors)}: {status} {str(body)[:200]}")
            break
        following = body.get("nextCursor")
        if not following:
            break
        cursors.append(following)
    seconds = time.monotonic() - started
    walk = Walk("every page by cursor (1 conn.)", len(cursors), seconds, slowest * 1000)
    return walk, cursors


def walk_by_index(setup: Setup, token: str, users: int, limit: float) -> Walk:
    """Every page by startIndex, the pages dealt over all connections, for `limit` seconds at
    most (the pages asked by then are answered)."""
    starts = list(range(1, users + 1, PAGE))
    calls = [Call("GET", by_index(s)) for s in starts]
    slices = [calls[k :: setup.concurrency] for k in range(setup.concurrency)]
    outcomes, _ = run_slices(setup.pool, setup.app, token, slices, limit)
    wall = max(o.ended for o in outcomes) - min(o.began for o in outcomes)
    slowest = max(x for o in outcomes for x in o.latencies)
    answered = sum(len(o.latencies) - o.errors for o in outcomes)
    label = f"every page by index ({setup.concurrency} conn.)"
    return Walk(label, answered, wall, slowest * 1000)


# Statistics, and the plans of a page's statements.


def statistics_held(db: Database) -> str:
    with db.engine.connect() as conn:
        tuples = conn.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE relname = 'users'")
        ).scalar()
        stats = conn.execute(
            text("SELECT count(*) FROM pg_stats WHERE tablename IN ('users', 'user_emails')")
        ).scalar()
        analyzed = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_user_tables "
                "WHERE last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL"
            )
        ).scalar()
    return (
        f"pg_class.reltuples of users {tuples} (-1: never counted), pg_stats rows of users and "
        f"user_emails {stats}, tables ever analyzed {analyzed}"
    )


@contextmanager
def statement_timeout(option: str) -> Iterator[None]:
    """Connections opened meanwhile (libpq reads PGOPTIONS) stop a statement after the limit."""
    before = os.environ.get("PGOPTIONS")
    os.environ["PGOPTIONS"] = f"{before or ''} {option}".strip()
    try:
        yield
    finally:
        if before is None:
            del os.environ["PGOPTIONS"]
        else:
            os.environ["PGOPTIONS"] = before


@contextmanager
def statements_caught() -> Iterator[list[tuple[str, Any]]]:
    """The statements SQLAlchemy sends in this process while the block runs."""
    caught: list[tuple[str, Any]] = []

    def catch(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        caught.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", catch)
    try:
        yield caught
    finally:
        event.remove(Engine, "before_cursor_execute", catch)


def explain(db: Database, token: str, paths: dict[str, str], timeout: float) -> list[str]:
    """Each page asked of Rollcall's app in this process, and the plan of every statement it ran
    that reads users (the token's check is left out), under the settings it ran with."""
    os.environ["ROLLCALL_DATABASE_URL"] = db.url
    from rollcall.app import create_app  # reads its settings from the environment

    app = create_app()
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    lines = []
    engine = create_engine(db.url, isolation_level="AUTOCOMMIT")  # not the pool COPY fills from
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SET statement_timeout = {int(timeout * 1000)}")
        for label, path in paths.items():
            with statements_caught() as caught:
                response = client.get(path, headers=auth)  # a 500 once statement_timeout hits
            lines.append(f"\n-- {label}: GET {path[:90]} -> {response.status_code}")
            for statement, parameters in caught:
                if statement.startswith(("SET ", "RESET ")):  # as the page ran: planner settings
                    conn.exec_driver_sql(statement)
                    lines.append(statement)
                if "FROM users" not in statement:
                    continue
                lines.append(" ".join(statement.split())[:400])
                lines += plan_of(conn, statement, parameters)
    engine.dispose()
    app.extensions["rollcall.database"].dispose()
    return lines


def plan_of(conn: Any, statement: str, parameters: Any) -> list[str]:
    """EXPLAIN ANALYZE of a statement, or its EXPLAIN when it does not finish in time."""
    try:
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, SUMMARY ON) " + statement, parameters)
        return [f"    {line}" for (line,) in plan]
    except OperationalError:  # statement_timeout
        plan = conn.exec_driver_sql("EXPLAIN " + statement, parameters)
        return ["    (did not finish within statement_timeout: the plan without ANALYZE)"] + [
            f"    {line}" for (line,) in plan
        ]


# The run.


@dataclass(frozen=True)
class Size:
    rows: list[Row]
    walks: list[Walk]
    pages: dict[str, str]  # label: path
    unmeasured: list[str]  # pages too slow to measure under load


def measure_size(setup: Setup, directory: Directory, users: int, args: argparse.Namespace) -> Size:
    token, app = directory.token, setup.app
    walk, cursors = walk_by_cursor(app.port, token, args.walk_seconds)
    note(
        f"  {walk.label}: {walk.pages} pages in {walk.seconds:.1f}s, slowest {walk.slowest:.0f} ms"
    )
    index_walk = walk_by_index(setup, token, users, args.walk_seconds)
    note(
        f"  {index_walk.label}: {index_walk.pages} pages in {index_walk.seconds:.1f}s, "
        f"slowest {index_walk.slowest:.0f} ms"
    )
    pages = {
        "index page, start": by_index(1),
        "index page, middle": by_index(users // 2),
        "index page, end": by_index(users - PAGE + 1),
        "cursor page, first": by_cursor(cursors[0]),
    }
    whole = (users + PAGE - 1) // PAGE
    if len(cursors) == whole:  # the walk reached the end
        last_full = whole - 1 if users % PAGE == 0 else whole - 2
        pages["cursor page, middle"] = by_cursor(cursors[whole // 2])
        pages["cursor page, end"] = by_cursor(cursors[last_full])
    # A group with every member it has (users filled by COPY are each in one bench group).
    pages["a group, with its members"] = f"{SCIM}/Groups/{directory.group_ids[0]}"
    rows, slow = [measure(setup, directory, BARE, users)], {}
    for label, path in pages.items():
        sent = time.monotonic()
        status, _ = probe(app.port, token, Call("GET", path))
        once = time.monotonic() - sent
        if status != 200 or once > args.slow:
            slow[label] = f"{label}: one request took {once:.1f}s, status {status}; not measured"
            note(f"  {slow[label]}")
            continue
        check = page_check if "/Users" in path else found
        rows.append(measure(setup, directory, Operation(label, same_call(path), check), users))
        r = rows[-1]
        note(f"  {r.label:<30} {r.rps:7.0f} req/s  p50 {r.p50:6.1f} ms  p99 {r.p99:6.1f} ms")
    return Size(rows, [walk, index_walk], pages, list(slow.values()))


def import_users(setup: Setup, directory: Directory, users: int) -> float:
    """Users created through SCIM, as an identity provider's import creates them; seconds."""
    slices = plan_create(directory, users, setup.concurrency, setup.rng)
    outcomes, usage = run_slices(setup.pool, setup.app, directory.token, slices, 600.0)
    row = summarize("import", users, outcomes, usage)
    if row.errors:
        raise RuntimeError(f"import: {row.first_error}")
    return max(o.ended for o in outcomes) - min(o.began for o in outcomes)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[2000, 100_000],
        help="users at which pages are read; the first is imported through SCIM, the rest filled "
        "by COPY",
    )
    parser.add_argument("--requests", type=int, default=50, help="measured per page")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per page")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-explain", action="store_true", help="leave out the plans")
    parser.add_argument(
        "--statement-timeout",
        type=float,
        default=25.0,
        help="seconds, for the servers' and the plans' connections",
    )
    parser.add_argument(
        "--slow", type=float, default=5.0, help="seconds: a page slower alone is not measured"
    )
    parser.add_argument("--walk-seconds", type=float, default=60.0, help="limit of each walk")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 and 10,000 users")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.requests, args.time_limit = [2000, 10_000], 50, 20.0
        args.walk_seconds = 20.0
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, exit_on_term)
    rng = random.Random(args.seed)
    code = code_version()
    limit = f"-c statement_timeout={int(args.statement_timeout * 1000)}"
    sizes: dict[int, Size] = {}
    notes: list[str] = []
    plans: list[str] = []
    with ExitStack() as stack:
        db = stack.enter_context(bench_database())
        directory = set_up(db, args.concurrency)
        with statement_timeout(limit):  # the servers' connections, not the filling's
            app, bare, pool = serve(stack, db, "rollcall.wsgi:app", args.concurrency)
        setup = Setup(pool, app, bare, args.requests, args.concurrency, args.time_limit, rng)
        idle_load = machine_busy(2.0)
        note(f"PostgreSQL database {make_url(db.url).database}, {os.cpu_count()} cores")
        for n, users in enumerate(args.sizes):
            started = time.monotonic()
            if n == 0:
                seconds = import_users(setup, directory, users)
                how = f"imported through SCIM POST in {seconds:.1f}s"
            else:
                fill(directory, users, analyze=False)
                how = f"filled by COPY in {time.monotonic() - started:.1f}s"
            held = statistics_held(db)
            notes.append(f"{users:,} users {how}; {held}")
            note(notes[-1])
            sizes[users] = measure_size(setup, directory, users, args)
            if not args.no_explain:
                plans += [f"\n==== {users:,} users"]
                with statement_timeout(limit):
                    plans += explain(
                        db, directory.token, sizes[users].pages, args.statement_timeout
                    )
            notes.append(f"after the pages at {users:,}: {statistics_held(db)}")
    print()
    print(
        f"{os.cpu_count()} cores; gunicorn 2 sync workers per server; {args.concurrency} client "
        f"processes; machine busy before the run: {idle_load:.0%}; statement_timeout "
        f"{args.statement_timeout:.0f}s"
    )
    print(f"code: {code}")
    for line in notes:
        print(line)
    print_table([row for size in sizes.values() for row in size.rows])
    for users, size in sizes.items():
        for line in size.unmeasured:
            print(f"  at {users:,} users, {line}")
    print()
    print(f"{'read every page':<34} {'users':>8} {'pages':>6} {'seconds':>8} {'slowest ms':>10}")
    for users, size in sizes.items():
        for w in size.walks:
            print(f"{w.label:<34} {users:>8,} {w.pages:>6} {w.seconds:>8.1f} {w.slowest:>10.0f}")
    for line in plans:
        print(line)


if __name__ == "__main__":
    main()
