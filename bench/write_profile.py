"""What one SCIM write costs in-process: statements, round trips, locks and CPU per request.

Why: under gunicorn deactivating, replacing and deleting a user run at a fraction of the create
rate (lifecycle_bench.py). Sent straight to Rollcall's WSGI app in this process, each request's
statements can be counted and its CPU profiled without gunicorn, the client or other load in the
figures.

How: a PostgreSQL database of its own (dropped at the end), migrated, an account with a
provisioning token and `--users` users filled by COPY (scim_bench.fill, then VACUUM ANALYZE).
Rollcall's app (rollcall.app.create_app, with its layers that answer some requests before Flask)
is called through Flask's test client. Every statement reaches PostgreSQL through psycopg's
Cursor.execute, including those run on the driver without SQLAlchemy (store.statements.fetch, run,
insert_together), and BEGIN, COMMIT and ROLLBACK through its connection's command path; both are
wrapped here to count them. For each operation `--requests` requests are timed (CPU and wall
time, medians), the statements of one of them listed, and with `--profile OP` that operation is
run again under cProfile, timed by CPU (waits for PostgreSQL left out).

    .venv/bin/python bench/write_profile.py [--users 10000] [--requests 200] [--profile deactivate]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from scim_bench import (
    PATCH_SCHEMA,
    SCIM,
    USER_SCHEMA,
    Directory,
    bench_database,
    code_version,
    fill,
    note,
    set_up,
)

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


# Every statement and command psycopg sends, while the block runs.


@dataclass
class Sent:
    statements: list[str] = field(default_factory=list)
    on: bool = False


@contextmanager
def counting() -> Iterator[Sent]:
    """psycopg's Cursor.execute and executemany (every statement, through SQLAlchemy or not) and
    its connection's commands (BEGIN, COMMIT, ROLLBACK), recorded while `on` is set."""
    import psycopg
    from psycopg._connection_base import BaseConnection

    sent = Sent()
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany
    command = BaseConnection._exec_command

    def as_text(query: Any) -> str:
        if isinstance(query, bytes | bytearray | memoryview):
            return bytes(query).decode()
        return query if isinstance(query, str) else repr(query)

    # A statement is recorded once it has run, after the BEGIN psycopg sends ahead of it.
    def counted_execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return execute(self, query, *args, **kwargs)
        finally:
            if sent.on:
                sent.statements.append(as_text(query))

    def counted_executemany(self: Any, query: Any, params: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return executemany(self, query, params, *args, **kwargs)
        finally:
            if sent.on:
                sent.statements.append(f"[executemany] {as_text(query)}")

    def counted_command(self: Any, cmd: Any, *args: Any, **kwargs: Any) -> Any:
        if sent.on:
            sent.statements.append(as_text(cmd))
        return command(self, cmd, *args, **kwargs)

    psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
    psycopg.Cursor.executemany = counted_executemany  # type: ignore[method-assign]
    BaseConnection._exec_command = counted_command  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        psycopg.Cursor.execute = execute  # type: ignore[method-assign]
        psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]
        BaseConnection._exec_command = command  # type: ignore[method-assign]


def summary(statement: str) -> str:
    """A statement in a line: its verb and table, and the lock it takes."""
    flat = " ".join(statement.split())
    upper = flat.upper()
    lock = " FOR UPDATE" if "FOR UPDATE" in upper else ""
    lock = " FOR NO KEY UPDATE" if "FOR NO KEY UPDATE" in upper else lock
    return (
        f"{flat[:150]}{'...' if len(flat) > 150 else ''}{'  <-- ' + lock.strip() if lock else ''}"
    )


# The requests.


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None
    status: int


Maker = Callable[[int], Request]


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def makers(d: Directory, kept: int) -> dict[str, Maker]:
    """Request n of each operation; users from `kept` on are each changed by one request."""
    per_op = (len(d.user_ids) - kept) // 5
    groups = len(d.group_ids)

    def user(op: int, n: int) -> str:
        return str(d.user_ids[kept + op * per_op + n])

    def create(n: int) -> Request:
        body = {
            "schemas": [USER_SCHEMA],
            "userName": f"Created.{n:07d}@example.com",
            "name": {"givenName": "Created", "familyName": str(n)},
            "emails": [{"value": f"created.{n}@example.com", "type": "work", "primary": True}],
            "active": True,
        }
        return Request("POST", f"{SCIM}/Users", body, 201)

    def okta(n: int) -> Request:
        body = patch_body({"op": "replace", "value": {"active": False}})
        return Request("PATCH", f"{SCIM}/Users/{user(0, n)}", body, 200)

    def entra(n: int) -> Request:
        body = patch_body({"op": "Replace", "path": "active", "value": "False"})
        return Request("PATCH", f"{SCIM}/Users/{user(1, n)}", body, 200)

    def put(n: int) -> Request:
        i = kept + 2 * per_op + n
        name = d.user_names[i]
        body = {
            "schemas": [USER_SCHEMA],
            "userName": name,
            "name": {"givenName": "Bench", "familyName": f"Replaced {i}"},
            "displayName": f"Bench Replaced {i}",
            "title": f"Title {i}",
            "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
            "active": True,
        }
        return Request("PUT", f"{SCIM}/Users/{user(2, n)}", body, 200)

    def delete(n: int) -> Request:
        return Request("DELETE", f"{SCIM}/Users/{user(3, n)}", None, 204)

    def title(n: int) -> Request:
        body = patch_body({"op": "replace", "path": "title", "value": f"Title {n}"})
        return Request("PATCH", f"{SCIM}/Users/{user(4, n)}", body, 200)

    def get(n: int) -> Request:
        return Request("GET", f"{SCIM}/Users/{d.user_ids[n % kept]}", None, 200)

    def create_group(n: int) -> Request:
        body = {"schemas": [GROUP_SCHEMA], "displayName": f"Pushed {n}"}
        return Request("POST", f"{SCIM}/Groups", body, 201)

    def add_member(n: int) -> Request:
        # user i is in group i mod groups (scim_bench.fill): user groups*n + 1 is not in group 0
        member = d.user_ids[groups * n + 1]
        body = patch_body({"op": "add", "path": "members", "value": [{"value": str(member)}]})
        return Request("PATCH", f"{SCIM}/Groups/{d.group_ids[0]}", body, 204)

    def remove_member(n: int) -> Request:
        member = d.user_ids[groups * n + 1]  # in group 1
        body = patch_body({"op": "remove", "path": f'members[value eq "{member}"]'})
        return Request("PATCH", f"{SCIM}/Groups/{d.group_ids[1]}", body, 204)

    return {
        "create": create,
        "get": get,
        "deactivate": okta,
        "deactivate-entra": entra,
        "put": put,
        "delete": delete,
        "patch-title": title,
        "create-group": create_group,
        "add-member": add_member,
        "remove-member": remove_member,
    }


@dataclass(frozen=True)
class Figures:
    name: str
    statements: float  # median per request, BEGIN/COMMIT included
    cpu_ms: float
    wall_ms: float
    sample: list[str]  # the statements of one request


def run(client: Any, token: str, make: Maker, numbers: range, sent: Sent) -> Figures:
    counts, cpus, walls, sample = [], [], [], []
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    for n in numbers:
        request = make(n)
        data = json.dumps(request.body).encode() if request.body is not None else None
        sent.statements.clear()
        sent.on = True
        cpu, wall = time.process_time(), time.perf_counter()
        response = client.open(request.path, method=request.method, data=data, headers=auth)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        sent.on = False
        if response.status_code != request.status:
            raise RuntimeError(f"{request.method} {request.path}: {response.data[:300]!r}")
        counts.append(len(sent.statements))
        if n == numbers[len(numbers) // 2]:
            sample = list(sent.statements)
    return Figures(
        "",
        statistics.median(counts),
        statistics.median(cpus) * 1000,
        statistics.median(walls) * 1000,
        sample,
    )


def profiled(client: Any, token: str, make: Maker, numbers: range, sent: Sent) -> str:
    profile = cProfile.Profile(time.process_time)  # CPU: waits for PostgreSQL are not counted
    profile.enable()
    run(client, token, make, numbers, sent)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(70)
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000, help="users only read")
    parser.add_argument("--requests", type=int, default=200, help="timed per operation")
    parser.add_argument(
        "--profile", default="", help="comma-separated operations to run again under cProfile"
    )
    parser.add_argument("--groups", type=int, default=8)
    args = parser.parse_args()
    # Members are added and removed among the users only read (makers.add_member).
    if args.groups * (2 * args.requests + 3) >= args.users:
        parser.error("--users must exceed --groups x (2 x --requests + 3)")
    return args


def main() -> None:
    args = parse_args()
    code = code_version()
    wanted = {name for name in args.profile.split(",") if name}
    figures, profiles = [], []
    with bench_database() as db:
        directory = set_up(db, args.groups)
        runs = 2 if wanted else 1
        fill(directory, args.users + 5 * (args.requests * runs + 3))
        os.environ["ROLLCALL_DATABASE_URL"] = db.url
        os.environ.setdefault("ROLLCALL_LOG_LEVEL", "WARNING")
        # Mail is sent by `rollcall mail send`, as in production, not by this process's threads.
        os.environ.setdefault("ROLLCALL_MAIL_INLINE", "false")
        from rollcall.app import create_app  # reads its settings from the environment

        app = create_app()
        client = app.test_client()
        try:
            with counting() as sent:
                ops = makers(directory, args.users)
                for name, make in ops.items():
                    run(client, directory.token, make, range(3), sent)  # warm: imports, caches
                    numbers = range(3, 3 + args.requests)
                    result = run(client, directory.token, make, numbers, sent)
                    figures.append(replace(result, name=name))
                    note(
                        f"{name:<18} {result.statements:4.0f} statements, "
                        f"{result.cpu_ms:.2f} ms CPU"
                    )
                    if name in wanted:
                        more = range(3 + args.requests, 3 + 2 * args.requests)
                        profiles.append((name, profiled(client, directory.token, make, more, sent)))
        finally:
            app.extensions["rollcall.database"].dispose()
    print(f"code: {code}; {args.users:,} users, in-process (Flask test client), PostgreSQL")
    print(f"{'operation':<18} {'statements':>10} {'CPU ms':>7} {'wall ms':>8}  (medians)")
    for f in figures:
        print(f"{f.name:<18} {f.statements:>10.0f} {f.cpu_ms:>7.2f} {f.wall_ms:>8.2f}")
    for f in figures:
        print(f"\n-- {f.name}: {len(f.sample)} statements")
        for statement in f.sample:
            print(f"   {summary(statement)}")
    for name, text in profiles:
        print(f"\n==== cProfile of {name} ({args.requests} requests)\n{text}")


if __name__ == "__main__":
    main()
