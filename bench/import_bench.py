"""An Okta-style first import through the SCIM door, beside the same requests to a bare endpoint.

Why: when an application is first assigned, an identity provider pushes the whole directory at
once, and that is when an administrator watches the clock. Okta pushes users one by one, each
looked up by userName first, then the groups, then their members, over a few parallel
connections; people who left are deactivated afterwards.

How: a PostgreSQL database of its own for each round (dropped at the end), migrated, an account
and a provisioning token, no users and no statistics (as a new customer's). Rollcall and the bare
endpoint of scim_bench (which answers any method and path) are served by gunicorn with two sync
workers; `--concurrency` client processes send the phases in turn:

1. users: for each user `GET /Users?filter=userName eq "x"` (none found), then POST;
2. groups: one POST per group;
3. members: every user in two groups, added by PATCH `add members` in batches of up to
   `--batch` users (100 by default; Okta sends several members per PATCH), each group's PATCHes
   from one connection, in order;
4. deactivations: PATCH `{"op":"replace","value":{"active":false}}` (Okta's) of `--deactivate`
   users.

The client knows the ids of what it created as Okta does (from the responses); here they are read
from the database between phases, outside the clock. The same requests then go to the bare
endpoint. Each phase's total time and slowest request are printed, per round and as the median of
the rounds. Nothing is asserted.

    .venv/bin/python bench/import_bench.py [--quick] [--users 10000] [--groups 50]
        [--batch 100] [--deactivate 500] [--concurrency 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from urllib.parse import quote

from scim_bench import (
    PATCH_SCHEMA,
    SCIM,
    USER_SCHEMA,
    WORKERS,
    Call,
    Outcome,
    Server,
    Usage,
    bench_database,
    code_version,
    exit_on_term,
    machine_busy,
    note,
    run_slices,
    serve,
    set_up,
)
from sqlalchemy import select

from store.models.directory import Group, User

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PHASES = ("users (GET filter + POST)", "groups (POST)", "members (PATCH add)", "deactivate")


@dataclass(frozen=True)
class Phase:
    label: str
    requests: int
    seconds: float  # from the first request sent to the last answer
    slowest: float  # ms
    p50: float
    p99: float
    errors: int
    server_ms: float  # CPU of the gunicorn processes per request
    busy: float
    first_error: str | None


def phase_of(label: str, outcomes: list[Outcome], usage: Usage) -> Phase:
    latencies = sorted(x for o in outcomes for x in o.latencies)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    seconds = max(o.ended for o in outcomes) - min(o.began for o in outcomes)
    errors = [o.first_error for o in outcomes if o.first_error]
    return Phase(
        label,
        len(latencies),
        seconds,
        latencies[-1] * 1000,
        cuts[49] * 1000,
        cuts[98] * 1000,
        sum(o.errors for o in outcomes),
        usage.server_seconds * 1000 / max(len(latencies), 1),
        usage.busy,
        errors[0] if errors else None,
    )


# What Okta sends.


def user_name(i: int) -> str:
    return f"okta.user.{i:06d}@example.com"


def user_calls(users: int, ways: int) -> list[list[Call]]:
    """Connection k pushes users k, k+ways, ...: a lookup, then the creation."""
    slices: list[list[Call]] = [[] for _ in range(ways)]
    for i in range(users):
        name = user_name(i)
        lookup = (
            f"{SCIM}/Users?filter=" + quote(f'userName eq "{name}"') + "&startIndex=1&count=100"
        )
        body = {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": name,
            "externalId": f"00u{i:017d}",
            "name": {"givenName": "Okta", "familyName": f"User {i}"},
            "displayName": f"Okta User {i}",
            "emails": [{"primary": True, "value": name, "type": "work"}],
            "active": True,
            ENTERPRISE: {"department": f"Department {i % 20}"},
        }
        slices[i % ways] += [
            Call("GET", lookup),
            Call("POST", f"{SCIM}/Users", json.dumps(body).encode(), 201),
        ]
    return slices


def group_calls(groups: int, ways: int) -> list[list[Call]]:
    calls = [
        Call(
            "POST",
            f"{SCIM}/Groups",
            json.dumps(
                {"schemas": [GROUP_SCHEMA], "displayName": f"Okta Group {g:03d}", "members": []}
            ).encode(),
            201,
        )
        for g in range(groups)
    ]
    return [calls[k::ways] for k in range(ways)]


def member_calls(
    user_ids: list[str], group_ids: list[str], batch: int, ways: int
) -> list[list[Call]]:
    """User i joins groups i mod G and (i + G/2) mod G; group g's PATCHes go in order over
    connection g mod ways."""
    count = len(group_ids)
    members: list[list[str]] = [[] for _ in group_ids]
    for i, user_id in enumerate(user_ids):
        members[i % count].append(user_id)
        members[(i + count // 2) % count].append(user_id)
    slices: list[list[Call]] = [[] for _ in range(ways)]
    for g, (group_id, ids) in enumerate(zip(group_ids, members, strict=True)):
        for start in range(0, len(ids), batch):
            value = [{"value": user_id} for user_id in ids[start : start + batch]]
            body = {
                "schemas": [PATCH_SCHEMA],
                "Operations": [{"op": "add", "path": "members", "value": value}],
            }
            slices[g % ways].append(
                Call("PATCH", f"{SCIM}/Groups/{group_id}", json.dumps(body).encode(), 204)
            )
    return slices


def deactivation_calls(user_ids: list[str], ways: int) -> list[list[Call]]:
    body = {
        "schemas": [PATCH_SCHEMA],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    calls = [
        Call("PATCH", f"{SCIM}/Users/{user_id}", json.dumps(body).encode()) for user_id in user_ids
    ]
    return [calls[k::ways] for k in range(ways)]


# One round: a database of its own, the four phases against Rollcall, then the bare endpoint.


@dataclass(frozen=True)
class Round:
    rollcall: list[Phase]
    bare: list[Phase]
    idle: float


def run_round(args: argparse.Namespace) -> Round:
    with ExitStack() as stack:
        db = stack.enter_context(bench_database())
        directory = set_up(db, 0)
        app, bare, pool = serve(stack, db, "rollcall.wsgi:app", args.concurrency)
        idle = machine_busy(2.0)
        ways, token = args.concurrency, directory.token

        def ids_of(model: type[User] | type[Group], order: object) -> list[str]:
            """What the bench created (not the account's own contact-role groups)."""
            query = select(model.id).where(model.account_id == directory.account_id)
            if model is Group:
                query = query.where(Group.is_contact_role.is_(False))
            with db.transaction(write=False) as tx:
                return [str(i) for i in tx.scalars(query.order_by(order))]

        def run(server: Server, label: str, slices: list[list[Call]]) -> Phase:
            outcomes, usage = run_slices(pool, server, token, slices, args.time_limit)
            phase = phase_of(label, outcomes, usage)
            where = "bare" if server is bare else "Rollcall"
            note(
                f"  {where:<8} {label:<28} {phase.requests:>6} requests in {phase.seconds:6.1f}s,"
                f" slowest {phase.slowest:7.1f} ms, errors {phase.errors}"
            )
            return phase

        sent: list[list[list[Call]]] = []
        rollcall: list[Phase] = []
        phases: list[Callable[[], list[list[Call]]]] = [
            lambda: user_calls(args.users, ways),
            lambda: group_calls(args.groups, ways),
            lambda: member_calls(
                ids_of(User, User.user_name),
                ids_of(Group, Group.display_name),
                args.batch,
                ways,
            ),
            lambda: deactivation_calls(ids_of(User, User.user_name)[: args.deactivate], ways),
        ]
        for label, plan in zip(PHASES, phases, strict=True):
            slices = plan()
            sent.append(slices)
            rollcall.append(run(app, label, slices))
        as_bare = [[[replace(c, expect=200) for c in s] for s in slices] for slices in sent]
        bare_phases = [
            run(bare, label, slices) for label, slices in zip(PHASES, as_bare, strict=True)
        ]
        return Round(rollcall, bare_phases, idle)


# Output.


def print_rounds(rounds: list[Round]) -> None:
    print(
        f"{'phase':<28} {'requests':>8} {'total s':>8} {'slowest ms':>10} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'server ms/req':>13} {'busy':>5} {'bare s':>7} {'bare slowest':>12} "
        f"{'errors':>6}  total s by round"
    )
    for n, label in enumerate(PHASES):
        ours = [r.rollcall[n] for r in rounds]
        theirs = [r.bare[n] for r in rounds]

        def mid(phases: list[Phase], name: str) -> float:
            return statistics.median(getattr(p, name) for p in phases)

        by_round = " ".join(f"{p.seconds:.1f}" for p in ours)
        print(
            f"{label:<28} {ours[0].requests:>8,} {mid(ours, 'seconds'):>8.1f} "
            f"{mid(ours, 'slowest'):>10.1f} {mid(ours, 'p50'):>7.1f} {mid(ours, 'p99'):>7.1f} "
            f"{mid(ours, 'server_ms'):>13.2f} {mid(ours, 'busy'):>5.0%} "
            f"{mid(theirs, 'seconds'):>7.1f} {mid(theirs, 'slowest'):>12.1f} "
            f"{sum(p.errors for p in ours):>6}  {by_round}"
        )
    total = statistics.median(sum(p.seconds for p in r.rollcall) for r in rounds)
    total_bare = statistics.median(sum(p.seconds for p in r.bare) for r in rounds)
    print(
        f"{'whole import':<28} {'':>8} {total:>8.1f} {'':>10} {'':>7} {'':>7} {'':>13} "
        f"{'':>5} {total_bare:>7.1f}"
    )
    for r in rounds:
        for p in r.rollcall + r.bare:
            if p.first_error:
                print(f"  first error of {p.label}: {p.first_error}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--batch", type=int, default=100, help="members added per PATCH")
    parser.add_argument("--deactivate", type=int, default=500, help="users deactivated at the end")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--rounds", type=int, default=2, help="imports, each into a new database")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per phase")
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1,000 users, 100 deactivations"
    )
    args = parser.parse_args()
    if args.quick:
        args.users, args.deactivate = 1000, 100
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, exit_on_term)
    code = code_version()
    rounds = []
    for n in range(args.rounds):
        note(f"round {n + 1} of {args.rounds}")
        rounds.append(run_round(args))
    print()
    print(
        f"{os.cpu_count()} cores; gunicorn {WORKERS} sync workers per server; "
        f"{args.concurrency} client processes; {args.users:,} users, {args.groups} groups, "
        f"each user in 2 groups by PATCH of up to {args.batch} members, {args.deactivate} "
        f"deactivations; machine busy before each round: "
        + ", ".join(f"{r.idle:.0%}" for r in rounds)
    )
    print(f"code: {code}")
    print(f"medians of {len(rounds)} rounds")
    print_rounds(rounds)


if __name__ == "__main__":
    main()
