"""A user's and a group's life through the SCIM door, beside the create rate of the same run.

Why: after the first import an identity provider mostly changes what it created: it deactivates
people who leave (Okta and Entra ID each with their own PATCH), replaces a user with PUT, deletes,
creates groups and adds and removes members. Each is set beside the create rate measured in the
same run (and the bare endpoint's), since issue #17 asks each to reach at least the create rate.
`--workers 2,5` runs everything once per gunicorn worker count (5 = 2 x cores + 1 here), both
servers alike. Nothing is asserted; the bench prints figures.

How: scim_bench's servers, client and database (PostgreSQL, filled by COPY, then VACUUM ANALYZE),
with one group per client connection. Every deactivation, PUT and DELETE is sent to a user no
other request touches; connection k changes group k only, as scim_bench's member PATCH does. Each
operation is measured `--rounds` times (the operations in turn, round after round) and the
table shows the median of each figure; the rates of the single rounds are printed beside it.

    .venv/bin/python bench/lifecycle_bench.py [--quick] [--workers 2,5] [--rounds 3]
        [--requests 2000] [--users 10000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import signal
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

from scim_bench import (
    BARE,
    CREATE,
    GET,
    PATCH_SCHEMA,
    SCIM,
    USER_SCHEMA,
    Call,
    Directory,
    Operation,
    Row,
    Setup,
    bench_database,
    code_version,
    exit_on_term,
    expect,
    fill,
    machine_busy,
    measure,
    note,
    plan_get,
    plan_member_add,
    serve,
    set_up,
)
from sqlalchemy.engine import make_url

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

# The bodies identity providers send to deactivate a user.
OKTA_DEACTIVATE = {"op": "replace", "value": {"active": False}}
ENTRA_DEACTIVATE = {"op": "Replace", "path": "active", "value": "False"}


def patch_body(*operations: dict[str, object]) -> bytes:
    return json.dumps({"schemas": [PATCH_SCHEMA], "Operations": list(operations)}).encode()


CallFor = Callable[[Directory, int], Call]


@dataclass
class Stock:
    """Users filled by COPY: the first `kept` are only read and joined to groups; the rest are
    handed out once each, to be deactivated, replaced or deleted."""

    directory: Directory
    kept: int
    handed_out: int = 0
    groups_created: int = 0
    next_removal: list[int] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.readers = dataclasses.replace(
            self.directory,
            user_ids=self.directory.user_ids[: self.kept],
            user_names=self.directory.user_names[: self.kept],
        )
        self.next_removal = list(range(len(self.directory.group_ids)))

    def fresh(self, count: int) -> list[int]:
        """Indexes of users nobody has changed yet."""
        start = self.kept + self.handed_out
        if start + count > len(self.directory.user_ids):
            raise RuntimeError("not enough users filled: raise --spare")
        self.handed_out += count
        return list(range(start, start + count))

    def deal_fresh(self, count: int, ways: int, call: CallFor) -> list[list[Call]]:
        calls = [call(self.directory, i) for i in self.fresh(count)]
        return [calls[k::ways] for k in range(ways)]

    # The plans, as scim_bench.measure calls them.

    def deactivate_okta(
        self, _d: Directory, count: int, ways: int, _rng: random.Random
    ) -> list[list[Call]]:
        return self.deal_fresh(count, ways, deactivation(OKTA_DEACTIVATE))

    def deactivate_entra(
        self, _d: Directory, count: int, ways: int, _rng: random.Random
    ) -> list[list[Call]]:
        return self.deal_fresh(count, ways, deactivation(ENTRA_DEACTIVATE))

    def replace(
        self, _d: Directory, count: int, ways: int, _rng: random.Random
    ) -> list[list[Call]]:
        return self.deal_fresh(count, ways, replacement)

    def delete(self, _d: Directory, count: int, ways: int, _rng: random.Random) -> list[list[Call]]:
        return self.deal_fresh(count, ways, deletion)

    def get(self, _d: Directory, count: int, ways: int, rng: random.Random) -> list[list[Call]]:
        return plan_get(self.readers, count, ways, rng)

    def create_group(
        self, _d: Directory, count: int, ways: int, _rng: random.Random
    ) -> list[list[Call]]:
        first = self.groups_created
        self.groups_created += count
        calls = [
            Call(
                "POST",
                f"{SCIM}/Groups",
                json.dumps({"schemas": [GROUP_SCHEMA], "displayName": f"Pushed {n}"}).encode(),
                201,
            )
            for n in range(first, first + count)
        ]
        return [calls[k::ways] for k in range(ways)]

    def add_member(
        self, _d: Directory, count: int, ways: int, rng: random.Random
    ) -> list[list[Call]]:
        return plan_member_add(self.readers, count, ways, rng)

    def remove_member(
        self, _d: Directory, count: int, ways: int, _rng: random.Random
    ) -> list[list[Call]]:
        """Connection k removes from group k the users COPY put in it (user i is in group i mod
        groups), Okta's way: `members[value eq "id"]`."""
        groups = len(self.directory.group_ids)
        slices: list[list[Call]] = [[] for _ in range(ways)]
        for n in range(count):
            k = n % ways
            group = k % groups
            position = self.next_removal[group]
            if position >= self.kept:
                raise RuntimeError("no members left to remove: raise --users")
            self.next_removal[group] = position + groups
            user_id = self.directory.user_ids[position]
            path = f'members[value eq "{user_id}"]'
            body = patch_body({"op": "remove", "path": path})
            group_id = self.directory.group_ids[group]
            slices[k].append(Call("PATCH", f"{SCIM}/Groups/{group_id}", body, 204))
        return slices


def deactivation(operation: dict[str, object]) -> CallFor:
    def call(d: Directory, i: int) -> Call:
        return Call("PATCH", f"{SCIM}/Users/{d.user_ids[i]}", patch_body(operation))

    return call


def replacement(d: Directory, i: int) -> Call:
    """The whole user as Okta sends it on a profile change: the same userName and email, a new
    display name and title."""
    name = d.user_names[i]
    body = {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "externalId": f"00u{i:017d}",
        "name": {"givenName": "Bench", "familyName": f"Replaced {i}"},
        "displayName": f"Bench Replaced {i}",
        "title": f"Title {i}",
        "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
        "active": True,
    }
    return Call("PUT", f"{SCIM}/Users/{d.user_ids[i]}", json.dumps(body).encode())


def deletion(d: Directory, i: int) -> Call:
    return Call("DELETE", f"{SCIM}/Users/{d.user_ids[i]}", None, 204)


def operations(stock: Stock) -> list[Operation]:
    return [
        BARE,
        CREATE,
        Operation(GET.label, stock.get, GET.check),
        Operation("deactivate (Okta PATCH)", stock.deactivate_okta, expect(200)),
        Operation("deactivate (Entra PATCH)", stock.deactivate_entra, expect(200)),
        Operation("PUT user (whole user)", stock.replace, expect(200)),
        Operation("DELETE user", stock.delete, expect(204)),
        Operation("create group", stock.create_group, expect(201)),
        Operation("PATCH group (add 1 member)", stock.add_member, expect(204)),
        Operation("PATCH group (remove 1 member)", stock.remove_member, expect(204)),
    ]


CHANGES_USERS = 4  # deactivate twice, PUT, DELETE: each takes fresh users


# Medians of the rounds.


def median_row(rows: list[Row]) -> Row:
    def mid(name: str) -> float:
        return statistics.median(getattr(r, name) for r in rows)

    first = rows[0]
    return Row(
        first.label,
        first.users,
        int(mid("requests")),
        sum(r.errors for r in rows),
        mid("rps"),
        mid("p50"),
        mid("p99"),
        mid("client_cpu"),
        mid("server_ms"),
        mid("machine_busy"),
        next((r.first_error for r in rows if r.first_error), None),
    )


def print_table(workers: int, rounds: dict[str, list[Row]]) -> None:
    medians = {label: median_row(rows) for label, rows in rounds.items()}
    create, bare = medians[CREATE.label].rps, medians[BARE.label].rps
    print()
    print(f"gunicorn {workers} sync workers; medians of {len(rounds[BARE.label])} rounds")
    print(
        f"{'operation':<32} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'server ms/req':>13} "
        f"{'busy':>5} {'x create':>8} {'% bare':>6} {'errors':>6}  req/s by round"
    )
    for label, row in medians.items():
        by_round = " ".join(f"{r.rps:.0f}" for r in rounds[label])
        print(
            f"{label:<32} {row.rps:>7.0f} {row.p50:>7.1f} {row.p99:>7.1f} {row.server_ms:>13.2f} "
            f"{row.machine_busy:>5.0%} {row.rps / create:>7.2f}x {row.rps / bare:>6.0%} "
            f"{row.errors:>6}  {by_round}"
        )
    for label, row in medians.items():
        if row.first_error:
            print(f"  first error of {label}: {row.first_error}")


# The run.


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="users only read and grouped")
    parser.add_argument("--requests", type=int, default=2000, help="measured per operation")
    parser.add_argument("--rounds", type=int, default=3, help="measurements of each operation")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[2],
        help="gunicorn worker counts to compare, e.g. 2,5",
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2,000 users, 300 requests, 2 rounds"
    )
    args = parser.parse_args()
    if args.quick:
        args.users, args.requests, args.rounds, args.time_limit = 2000, 300, 2, 20.0
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, exit_on_term)
    rng = random.Random(args.seed)
    code = code_version()
    warm = max(5 * args.concurrency, args.requests // 10) + 1  # as scim_bench.measure warms up
    spare = CHANGES_USERS * (args.requests + warm) * args.rounds * len(args.workers)
    results: dict[int, dict[str, list[Row]]] = {}
    with ExitStack() as outer:
        db = outer.enter_context(bench_database())
        directory = set_up(db, args.concurrency)
        started = time.monotonic()
        fill(directory, args.users + spare)
        note(f"{args.users + spare:,} users added by COPY in {time.monotonic() - started:.1f}s")
        stock = Stock(directory, args.users)
        idle_load = machine_busy(2.0)
        for workers in args.workers:
            with ExitStack() as stack:
                app, bare, pool = serve(
                    stack, db, "rollcall.wsgi:app", args.concurrency, workers=workers
                )
                setup = Setup(
                    pool, app, bare, args.requests, args.concurrency, args.time_limit, rng
                )
                note(
                    f"PostgreSQL database {make_url(db.url).database}, gunicorn {workers} sync "
                    f"workers per server, {args.concurrency} client processes, "
                    f"{os.cpu_count()} cores"
                )
                rounds: dict[str, list[Row]] = {}
                for n in range(args.rounds):
                    for op in operations(stock):
                        row = measure(setup, directory, op, args.users)
                        rounds.setdefault(op.label, []).append(row)
                        note(
                            f"  [{workers}w round {n + 1}] {row.label:<32} {row.rps:7.0f} req/s  "
                            f"p50 {row.p50:6.1f} ms  p99 {row.p99:6.1f} ms  errors {row.errors}"
                        )
                results[workers] = rounds
    print()
    print(
        f"{os.cpu_count()} cores; {args.concurrency} client processes; "
        f"{args.users:,} users kept (+{spare:,} to change); machine busy before the run: "
        f"{idle_load:.0%}"
    )
    print(f"code: {code}")
    for workers, rounds in results.items():
        print_table(workers, rounds)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
