"""SCIM requests per second and latency on PostgreSQL under gunicorn, beside a bare Flask ceiling.

Why: identity providers push whole directories through the SCIM door, so it has to keep up, and
it has to stay as fast with 100,000 users in an account as with 1,000. Raw figures depend on the
machine, so each is set beside a bare Flask endpoint served the same way (gunicorn, two sync
workers) in the same run: that endpoint is the ceiling of this machine, and the ratios printed at
the end are what the targets are judged by. Nothing is asserted; the bench prints figures.

How: a PostgreSQL database of its own (dropped at the end), migrated, with an enterprise account,
a provisioning token and one group per client connection; users are added by bulk SQL (COPY), not
through the API. Rollcall (`rollcall.wsgi:app`) and the bare app run under gunicorn on 127.0.0.1,
and each operation gets a warm-up, then a fixed number of requests (and a time limit) from
`--concurrency` client processes, each sending its requests one after another, one connection per
request (gunicorn's sync workers close it after every response anyway, for both apps alike).
Processes, so that the client's GIL is not the limit, and raw sockets with the requests encoded
in advance, so that the client, which shares the cores with the servers, costs them little; the
cores the client used are printed, and so are the CPU milliseconds the server spent per request,
which other load on the machine skews less than requests per second.

    .venv/bin/python bench/scim_bench.py [--quick] [--users-small 1000] [--users-large 100000]
        [--requests 2000] [--concurrency 8] [--time-limit 60]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url

from store import accounts, credentials, groups, migrate
from store.actors import Actor
from store.db import Database, now, scratch_database
from store.engine import normalize_url
from store.models.directory import User, fold

HOST = "127.0.0.1"  # the only address this bench ever sends a request to
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REPO = Path(__file__).resolve().parent.parent
WORKERS = 2
SCIM = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PAGE = 100

bare_app = Flask("bare")


@bare_app.get("/ping")
def ping() -> Response:
    """The ceiling: Flask under gunicorn answering a small JSON body, nothing else."""
    return jsonify(status="ok")


@bare_app.route("/<path:_anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def anything(_anything: str) -> Response:
    """The same for any method and path: replaying a run of SCIM requests against it shows what
    the client and gunicorn cost by themselves."""
    return jsonify(status="ok")


# The client: each process sends its share of the requests over one connection.


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: bytes | None = None
    expect: int = 200


@dataclass(frozen=True)
class Job:
    port: int
    token: str
    calls: list[Call]
    start_at: float
    deadline: float


@dataclass(frozen=True)
class Outcome:
    latencies: list[float]
    errors: int
    first_error: str | None
    began: float
    ended: float
    cpu: float


def headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/scim+json",
        "Accept": "application/scim+json",
    }


def encode(call: Call, token: str, port: int) -> bytes:
    """The bytes of one request, made before the clock starts.

    Each request opens its own connection and asks to close it: gunicorn's sync workers close it
    after every response anyway, for both apps alike.
    """
    body = call.body or b""
    lines = [
        f"{call.method} {call.path} HTTP/1.1",
        f"Host: {HOST}:{port}",
        *(f"{name}: {value}" for name, value in headers(token).items()),
        "Connection: close",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def send(port: int, request: bytes) -> bytes:
    """Send a request and read the response to the end of the connection.

    A raw socket costs the client a fraction of what http.client does, so the client process,
    which shares the machine with the servers, takes as little CPU from them as it can.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect((HOST, port))
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """Status and body of the response to a request."""
    head, _, body = send(port, request).partition(b"\r\n\r\n")
    return int(head[9:12]), body


def run_job(job: Job) -> Outcome:
    """Send the calls one after another from `start_at`, until done or past the deadline."""
    requests = [(call, encode(call, job.token, job.port)) for call in job.calls]

    def one(item: tuple[Call, bytes]) -> str | None:
        call, request = item
        status, body = exchange(job.port, request)
        if status != call.expect:
            return f"{call.method} {call.path} -> {status} {body[:200]!r}"
        return None

    return timed(requests, one, job.start_at, job.deadline)


def timed(
    items: list[Any], one: Callable[[Any], str | None], start_at: float, deadline: float
) -> Outcome:
    """Do `one` for each item in turn from `start_at`, until done or past the deadline, timing each;
    `one` returns what went wrong, or None."""
    latencies: list[float] = []
    errors, first_error = 0, None
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu, began = time.process_time(), time.monotonic()
    for item in items:
        sent = time.monotonic()
        if sent > deadline:
            break
        try:
            problem = one(item)
        except (OSError, ValueError) as exc:
            problem = repr(exc)
        latencies.append(time.monotonic() - sent)
        if problem:
            errors += 1
            first_error = first_error or problem
    ended = time.monotonic()
    return Outcome(latencies, errors, first_error, began, ended, time.process_time() - cpu)


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@dataclass(frozen=True)
class Usage:
    """What the machine and the server spent while the client ran."""

    busy: float  # share of all cores busy
    server_seconds: float  # CPU seconds of the gunicorn master and workers


def run_slices(
    pool: Pool, server: Server, token: str, slices: list[list[Call]], limit: float
) -> tuple[list[Outcome], Usage]:
    """Run one list of calls per client process, all starting at the same moment."""
    start_at = time.monotonic() + 0.2
    jobs = [Job(server.port, token, calls, start_at, start_at + limit) for calls in slices]
    return run_jobs(pool, server, run_job, jobs, start_at)


def run_jobs(
    pool: Pool, server: Server, worker: Callable[[Any], Outcome], jobs: list[Any], start_at: float
) -> tuple[list[Outcome], Usage]:
    """One job per client process, each starting at `start_at`: their outcomes, and what the
    machine and the server spent meanwhile."""
    pending = pool.map_async(worker, jobs, chunksize=1)
    time.sleep(max(0.0, start_at - time.monotonic()))
    machine, served = cpu_times(), process_cpu(server.pid)
    outcomes = pending.get()
    machine_after, served_after = cpu_times(), process_cpu(server.pid)
    return outcomes, Usage(busy_share(machine, machine_after), served_after - served)


def probe(port: int, token: str, call: Call) -> tuple[int, Any]:
    """One request from this process, to check that an operation does what it is meant to."""
    status, body = exchange(port, encode(call, token, port))
    return status, json.loads(body) if body else None


# The database: made for this run, filled by COPY, dropped at the end.


def admin_url() -> str:
    url = os.environ.get("ROLLCALL_DATABASE_URL", "")
    return normalize_url(url) if url.startswith("postgres") else ADMIN_URL


@contextmanager
def bench_database() -> Iterator[Database]:
    with scratch_database(admin_url(), "rollcall_bench") as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


@dataclass
class Directory:
    """The bench account and what the request plans draw from."""

    db: Database
    account_id: uuid.UUID
    token: str
    group_ids: list[uuid.UUID]
    user_ids: list[uuid.UUID] = field(default_factory=list)
    user_names: list[str] = field(default_factory=list)
    created: int = 0  # users created through SCIM so far (their names must not repeat)
    next_member: list[int] = field(default_factory=list)  # per group: next user to add


def set_up(db: Database, groups_wanted: int) -> Directory:
    operator = Actor.system()
    migrate.upgrade(db)
    with db.transaction() as tx:
        account = accounts.create_account(tx, operator, name="Bench", kind="enterprise")
        _, token = credentials.create_credential(tx, operator, account_id=account.id, name="bench")
        group_ids = [
            groups.create_group(tx, operator, account_id=account.id, display_name=f"Bench {k}").id
            for k in range(groups_wanted)
        ]
    return Directory(
        db, account.id, token, group_ids, next_member=[k + 1 for k in range(groups_wanted)]
    )


def users_in_account(directory: Directory) -> int:
    with directory.db.transaction(write=False) as tx:
        query = (
            select(func.count()).select_from(User).where(User.account_id == directory.account_id)
        )
        return tx.scalar(query) or 0


USER_COLUMNS = (
    "id, account_id, user_name, user_name_ci, given_name, family_name, addresses, "
    "other_attributes, active, profile, is_support, no_longer_at_account, "
    "preferred_contact_method, managed_by, email_verified, failed_logins, version, "
    "created_at, modified_at"
)


def fill(directory: Directory, target: int, analyze: bool = True) -> int:
    """Add users until the account holds `target`; each is in one bench group. Returns how many.
    Without `analyze` the tables are left as a fresh import leaves them: no statistics."""
    missing = target - users_in_account(directory)
    if missing <= 0:
        return 0
    first = len(directory.user_ids)
    new_ids = [uuid.uuid4() for _ in range(missing)]
    new_names = [f"Bench.User.{first + i:06d}" for i in range(missing)]
    start = now() - timedelta(days=30)
    raw = directory.db.engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            with cur.copy(f"COPY users ({USER_COLUMNS}) FROM STDIN") as copy:
                for i, (user_id, name) in enumerate(zip(new_ids, new_names, strict=True)):
                    at = start + timedelta(milliseconds=first + i)
                    copy.write_row(user_row(directory.account_id, user_id, name, first + i, at))
            with cur.copy(
                'COPY user_emails (user_id, position, value, value_ci, type, "primary") FROM STDIN'
            ) as copy:
                for user_id, name in zip(new_ids, new_names, strict=True):
                    email = f"{name}@example.com"
                    copy.write_row((user_id, 0, email, fold(email), "work", True))
            with cur.copy("COPY memberships (group_id, user_id, created_at) FROM STDIN") as copy:
                for i, user_id in enumerate(new_ids):
                    group = directory.group_ids[(first + i) % len(directory.group_ids)]
                    copy.write_row((group, user_id, start))
        raw.commit()
    finally:
        raw.close()
    directory.user_ids += new_ids
    directory.user_names += new_names
    if analyze:
        vacuum(directory.db.engine)
    return missing


def user_row(
    account_id: uuid.UUID, user_id: uuid.UUID, name: str, index: int, at: datetime
) -> tuple[Any, ...]:
    """A user as the SCIM door would have stored it (pushed by an identity provider)."""
    return (
        *(user_id, account_id, name, fold(name), "Bench", str(index), "[]", "{}"),
        *(True, "client", False, False, "email", "identity_provider", True, 0, 1, at, at),
    )


def vacuum(engine: Engine) -> None:
    """What autovacuum would have done by the time a real account had grown this big."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("users", "user_emails", "memberships", "groups"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


# The operations: each makes `count` calls split into one list per client connection.

Plan = Callable[[Directory, int, int, random.Random], list[list[Call]]]


def deal(calls: list[Call], ways: int) -> list[list[Call]]:
    return [calls[k::ways] for k in range(ways)]


def plan_bare(_d: Directory, count: int, ways: int, _rng: random.Random) -> list[list[Call]]:
    return deal([Call("GET", "/ping")] * count, ways)


def plan_create(d: Directory, count: int, ways: int, _rng: random.Random) -> list[list[Call]]:
    calls = []
    for n in range(d.created, d.created + count):
        body = {
            "schemas": [USER_SCHEMA],
            "userName": f"Created.{n:07d}@example.com",
            "name": {"givenName": "Created", "familyName": str(n)},
            "emails": [{"value": f"created.{n}@example.com", "type": "work", "primary": True}],
            "active": True,
        }
        calls.append(Call("POST", f"{SCIM}/Users", json.dumps(body).encode(), 201))
    d.created += count
    return deal(calls, ways)


def plan_get(d: Directory, count: int, ways: int, rng: random.Random) -> list[list[Call]]:
    picks = rng.choices(d.user_ids, k=count)
    return deal([Call("GET", f"{SCIM}/Users/{u}") for u in picks], ways)


def plan_filter(d: Directory, count: int, ways: int, rng: random.Random) -> list[list[Call]]:
    picks = rng.choices(d.user_names, k=count)
    paths = [f"{SCIM}/Users?filter=" + quote(f'userName eq "{name}"') for name in picks]
    return deal([Call("GET", path) for path in paths], ways)


def plan_list(d: Directory, count: int, ways: int, rng: random.Random) -> list[list[Call]]:
    """Pages between 80% and 90% of the way down the list."""
    size = len(d.user_ids)
    low, high = int(size * 0.8), max(int(size * 0.9), int(size * 0.8) + 1)
    starts = [rng.randrange(low, high) for _ in range(count)]
    return deal([Call("GET", f"{SCIM}/Users?startIndex={s}&count={PAGE}") for s in starts], ways)


def plan_patch(d: Directory, count: int, ways: int, rng: random.Random) -> list[list[Call]]:
    """Connection k patches only users k, k+ways, ...: no two requests race for one user."""
    slices: list[list[Call]] = [[] for _ in range(ways)]
    for n in range(count):
        k = n % ways
        user_id = d.user_ids[rng.randrange(k, len(d.user_ids), ways)]
        operation = {"op": "replace", "path": "title", "value": f"Title {n}"}
        body = json.dumps({"schemas": [PATCH_SCHEMA], "Operations": [operation]}).encode()
        slices[k].append(Call("PATCH", f"{SCIM}/Users/{user_id}", body))
    return slices


def plan_member_add(d: Directory, count: int, ways: int, _rng: random.Random) -> list[list[Call]]:
    """Connection k adds users to group k that are not in it yet (one group per connection)."""
    slices: list[list[Call]] = [[] for _ in range(ways)]
    for n in range(count):
        k = n % ways
        group_id = d.group_ids[k % len(d.group_ids)]
        user_id = d.user_ids[next_candidate(d, k % len(d.group_ids))]
        operation = {"op": "add", "path": "members", "value": [{"value": str(user_id)}]}
        body = json.dumps({"schemas": [PATCH_SCHEMA], "Operations": [operation]}).encode()
        slices[k].append(Call("PATCH", f"{SCIM}/Groups/{group_id}", body, 204))
    return slices


def next_candidate(d: Directory, group: int) -> int:
    """The next user outside group `group` (users join group index % groups when filled)."""
    ways = len(d.group_ids)
    position = d.next_member[group]
    if position % ways == group:
        position += 1
    d.next_member[group] = position + 1
    return position % len(d.user_ids)  # past the end it wraps: a re-add, which changes nothing


Check = Callable[[int, Any], bool]


def expect(status: int) -> Check:
    return lambda got, _body: got == status


def found_one(status: int, body: Any) -> bool:
    return status == 200 and body.get("totalResults") == 1


def full_page(status: int, body: Any) -> bool:
    return status == 200 and body.get("itemsPerPage") == PAGE


@dataclass(frozen=True)
class Operation:
    label: str
    plan: Plan
    check: Check
    bare: bool = False


BARE = Operation("bare Flask /ping (ceiling)", plan_bare, expect(200), bare=True)
GET = Operation("GET user by id", plan_get, expect(200))
FILTER = Operation("filter userName eq", plan_filter, found_one)
LIST = Operation(f"list page (count={PAGE}, deep)", plan_list, full_page)
PATCH = Operation("PATCH user (replace title)", plan_patch, expect(200))
MEMBER_ADD = Operation("PATCH group (add 1 member)", plan_member_add, expect(204))
CREATE = Operation("create user (no password)", plan_create, expect(201))
OPERATIONS = (BARE, GET, FILTER, LIST, PATCH, MEMBER_ADD, CREATE)
OPERATION_NAMES = dict(
    zip(("get", "filter", "list", "patch", "member-add", "create"), OPERATIONS[1:], strict=True)
)


# Measuring.


@dataclass(frozen=True)
class Row:
    label: str
    users: int
    requests: int
    errors: int
    rps: float
    p50: float
    p99: float
    client_cpu: float  # cores the client processes used
    server_ms: float  # CPU milliseconds the gunicorn processes spent per request
    machine_busy: float  # share of all cores busy during the run
    first_error: str | None


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def busy_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    return (after[0] - before[0]) / max(after[1] - before[1], 1)


def machine_busy(seconds: float) -> float:
    """Share of the machine's CPU in use while this process sleeps (other work on it)."""
    before = cpu_times()
    time.sleep(seconds)
    return busy_share(before, cpu_times())


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and its children (a gunicorn master and its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def summarize(label: str, users: int, outcomes: list[Outcome], usage: Usage) -> Row:
    latencies = sorted(x for o in outcomes for x in o.latencies)
    wall = max(o.ended for o in outcomes) - min(o.began for o in outcomes)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    errors = [o.first_error for o in outcomes if o.first_error]
    return Row(
        label,
        users,
        len(latencies),
        sum(o.errors for o in outcomes),
        len(latencies) / wall if wall > 0 else 0.0,
        cuts[49] * 1000,
        cuts[98] * 1000,
        sum(o.cpu for o in outcomes) / wall if wall > 0 else 0.0,
        usage.server_seconds * 1000 / max(len(latencies), 1),
        usage.busy,
        errors[0] if errors else None,
    )


@dataclass(frozen=True)
class Setup:
    pool: Pool
    app: Server
    bare: Server
    requests: int
    concurrency: int
    time_limit: float
    rng: random.Random


def measure(setup: Setup, directory: Directory, op: Operation, users: int) -> Row:
    server = setup.bare if op.bare else setup.app
    ways, token = setup.concurrency, directory.token
    warm = op.plan(directory, max(5 * ways, setup.requests // 10) + 1, ways, setup.rng)
    status, body = probe(server.port, token, warm[0].pop(0))
    if not op.check(status, body):
        raise RuntimeError(f"{op.label}: unexpected answer {status} {str(body)[:300]}")
    run_slices(setup.pool, server, token, warm, setup.time_limit)
    slices = op.plan(directory, setup.requests, ways, setup.rng)
    outcomes, usage = run_slices(setup.pool, server, token, slices, setup.time_limit)
    return summarize(op.label, users, outcomes, usage)


# Servers.


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    app: str, port: int, ready_path: str, env: dict[str, str], log: Path, workers: int = WORKERS
) -> Iterator[Server]:
    """Serve `app` with gunicorn until the block ends (sync workers, as `rollcall serve` uses)."""
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers)]
    command += ["--bind", f"{HOST}:{port}", "--graceful-timeout", "5"]
    command += ["--pythonpath", str(Path(__file__).parent), app]
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_ready(process, port, ready_path, log)
        yield Server(port, process.pid)
    finally:
        stop(process)


def wait_until_ready(process: subprocess.Popen[bytes], port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"gunicorn exited ({process.returncode}):\n{log.read_text()[-2000:]}"
            )
        try:
            if probe(port, "", Call("GET", path))[0] == 200:
                return
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn on port {port} did not answer {path}:\n{log.read_text()[-2000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the session gunicorn was started in
        process.wait()


def ignore_interrupts() -> None:
    """Ctrl-C is the parent's to handle: it stops the pool, the servers and drops the database."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def serve(
    stack: ExitStack, db: Database, app: str, clients: int, workers: int = WORKERS
) -> tuple[Server, Server, Pool]:
    """Rollcall (`app`, a gunicorn app spec) and the bare app served, each by `workers` workers,
    and the client processes; all stopped when the stack closes."""
    servers = serve_apps(stack, db, app, workers)
    pool = client_pool(clients)
    stack.callback(pool.join)
    stack.callback(pool.terminate)
    return *servers, pool


def serve_apps(
    stack: ExitStack, db: Database, app: str, workers: int = WORKERS
) -> tuple[Server, Server]:
    """Rollcall (`app`) and the bare app served until the stack closes."""
    logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_")))
    # Mail is left to the sender process, as in production (development sends it in the request).
    env = os.environ | {
        "ROLLCALL_DATABASE_URL": db.url,
        "ROLLCALL_LOG_LEVEL": "WARNING",
        "ROLLCALL_MAIL_INLINE": "false",
    }
    served = stack.enter_context(
        gunicorn(app, free_port(), "/healthz", env, logs / "app.log", workers)
    )
    bare = stack.enter_context(
        gunicorn("scim_bench:bare_app", free_port(), "/ping", env, logs / "bare.log", workers)
    )
    return served, bare


def client_pool(processes: int) -> Pool:
    pool = multiprocessing.get_context("spawn").Pool(processes, initializer=ignore_interrupts)
    pool.map(time.sleep, [0.1] * processes, chunksize=1)  # every process up and importing done
    return pool


# Output.


def print_table(rows: list[Row]) -> None:
    print(
        f"{'operation':<30} {'users':>8} {'requests':>8} {'errors':>6} {'req/s':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'client cores':>12} {'server ms/req':>13} {'busy':>5}"
    )
    for r in rows:
        print(
            f"{r.label:<30} {r.users:>8,} {r.requests:>8,} {r.errors:>6} {r.rps:>8.0f} "
            f"{r.p50:>8.1f} {r.p99:>8.1f} {r.client_cpu:>12.2f} {r.server_ms:>13.2f} "
            f"{r.machine_busy:>5.0%}"
        )
    for r in rows:
        if r.first_error:
            print(f"  first error of {r.label} at {r.users:,} users: {r.first_error}")


def print_ratios(rows: list[Row], small: int, large: int) -> None:
    by = {(r.label, r.users): r for r in rows}
    bare, get, flt, create = BARE.label, GET.label, FILTER.label, CREATE.label
    print()
    print(f"{'req/s as % of bare':<30} {f'{small:,} users':>14} {f'{large:,} users':>14}  target")
    for label, target in ((get, ">= 50%"), (flt, ">= 50%"), (create, ">= 25%")):
        if (label, small) not in by:
            continue
        shares = [by[label, n].rps / by[bare, n].rps for n in (small, large)]
        print(f"{label:<30} {shares[0]:>14.0%} {shares[1]:>14.0%}  {target}")
    print()
    print(f"{f'latency {large:,} vs {small:,} users':<30} {'p50':>14} {'p99':>14}  target")
    for label in (get, flt):
        if (label, small) not in by:
            continue
        p50 = by[label, large].p50 / by[label, small].p50
        p99 = by[label, large].p99 / by[label, small].p99
        print(f"{label:<30} {p50:>13.2f}x {p99:>13.2f}x  <= 1.5x")


# The run.


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users-small", type=int, default=1000)
    parser.add_argument("--users-large", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000, help="measured per operation")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--only",
        type=lambda text: {name.strip() for name in text.split(",")},
        default=set(OPERATION_NAMES),
        help=f"comma-separated operations to measure, of {','.join(OPERATION_NAMES)} "
        "(the bare endpoint always is)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1,000/5,000 users, 300 requests"
    )
    args = parser.parse_args()
    if args.quick:
        args.users_small, args.users_large, args.requests, args.time_limit = 1000, 5000, 300, 20.0
    return args


def code_version() -> str:
    """Which code is measured: the tree `store` is imported from, its commit, and if it is dirty."""
    tree = Path(migrate.__file__).resolve().parent.parent
    try:
        found = subprocess.run(
            ["git", "-C", str(tree), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return f"{tree} (not a git checkout)"
    return f"{tree} at {found.stdout.strip()}"


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_size(
    setup: Setup, directory: Directory, users: int, operations: list[Operation]
) -> list[Row]:
    started = time.monotonic()
    added = fill(directory, users)
    note(f"{users:,} users: added {added:,} by COPY in {time.monotonic() - started:.1f}s")
    rows = []
    for op in operations:
        rows.append(measure(setup, directory, op, users))
        r = rows[-1]
        note(f"  {r.label:<30} {r.rps:7.0f} req/s  p50 {r.p50:6.1f} ms  p99 {r.p99:6.1f} ms")
    return rows


def exit_on_term(_signum: int, _frame: object) -> None:
    sys.exit(143)  # unwinds the ExitStack: servers stopped, database dropped


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, exit_on_term)
    rng = random.Random(args.seed)
    code = code_version()  # before the servers import it
    operations = [BARE] + [op for name, op in OPERATION_NAMES.items() if name in args.only]
    with ExitStack() as stack:
        db = stack.enter_context(bench_database())
        directory = set_up(db, args.concurrency)
        app, bare, pool = serve(stack, db, "rollcall.wsgi:app", args.concurrency)
        setup = Setup(pool, app, bare, args.requests, args.concurrency, args.time_limit, rng)
        idle_load = machine_busy(2.0)
        note(
            f"PostgreSQL database {make_url(db.url).database}, gunicorn {WORKERS} sync workers per "
            f"server, {args.concurrency} client processes, {os.cpu_count()} cores"
        )
        rows = [
            row
            for users in (args.users_small, args.users_large)
            for row in run_size(setup, directory, users, operations)
        ]
    print()
    print(
        f"{os.cpu_count()} cores; gunicorn {WORKERS} sync workers per server; "
        f"{args.concurrency} client processes; machine busy before the run: {idle_load:.0%}"
    )
    print(f"code: {code}")
    print_table(rows)
    print_ratios(rows, args.users_small, args.users_large)


if __name__ == "__main__":
    main()
