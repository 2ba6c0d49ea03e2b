"""OpenID Connect round trips, token and userinfo requests, and sign-ins per second under gunicorn.

Why: every linked application signs its people in through Rollcall, many times a day each, so the
code flow of someone already signed in, the token endpoint and userinfo must be cheap, and a
sign-in costs what its Argon2 hash costs. As in `scim_bench.py`, whose servers, client processes
and measuring this bench shares, each figure is set beside a bare Flask endpoint served the same way
(gunicorn, two sync workers) in the same run; the target is that token and userinfo requests reach
40% of its requests per second. Nothing is asserted; the bench prints figures.

What one measured unit is:
- code round trip: GET /oauth/authorize with an SSO session cookie (no password) and PKCE, the
  redirect's code exchanged at /oauth/token with the verifier: two requests, an ID token at the end;
- token: a client-credentials grant of a confidential client (HTTP Basic): a machine's opaque
  access token, its hash kept (the code exchange, with its two signatures, is in the round trip);
- userinfo: GET /oauth/userinfo with a user's access token;
- sign-in: GET /signin (session and CSRF cookie), then POST of username and password: one
  Argon2 verification with the parameters in use.

The app is `rollcall.wsgi`'s with the pages' rate limiter switched off (a bench signs one person
in hundreds of times a minute from one address); everything else is as served.

    .venv/bin/python bench/oidc_bench.py [--quick] [--requests 2000] [--concurrency 8]
        [--time-limit 60]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import random
import re
import secrets
import signal
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from multiprocessing.pool import Pool
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Flask
from scim_bench import (
    HOST,
    WORKERS,
    Outcome,
    Row,
    Server,
    Usage,
    bench_database,
    code_version,
    exit_on_term,
    machine_busy,
    note,
    print_table,
    run_jobs,
    send,
    serve,
    summarize,
    timed,
)
from sqlalchemy.engine import make_url

from store import accounts, clients, migrate, new_users, sso_sessions
from store.actors import Actor
from store.db import Database

PASSWORD = "bench-password-of-enough-length"
REDIRECT = "https://app.example.test/callback"
CLIENT_ID, CLIENT_SECRET = "bench-app", "bench-app-secret-not-for-real-use"
MACHINE_ID, MACHINE_SECRET = "bench-machine", "bench-machine-secret-not-for-real-use"
SCOPE = "openid profile email"
SSO_COOKIE = "rollcall_sso"  # sso.session.COOKIE, without importing the views into the client


def bench_app() -> Flask:
    """Rollcall as served, without the pages' rate limiter (gunicorn calls this factory)."""
    from rollcall.app import create_app
    from rollcall.web.limits import limiter

    app = create_app()
    limiter.enabled = False
    return app


# The client side: raw HTTP/1.1 over a new connection per request, as in scim_bench.


def http(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Reply:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    head, _, content = send(port, request).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found: dict[str, list[str]] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found.setdefault(name.strip().lower(), []).append(value.strip())
    return Reply(int(status_line[9:12]), found, content)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        return (self.headers.get(name.lower()) or [""])[0]


def form(values: dict[str, str]) -> bytes:
    return urlencode(values).encode()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


FORM = "application/x-www-form-urlencoded"


# One unit of each operation: returns None when it went as it should, else what went wrong.


def unit_bare(port: int, _item: str) -> str | None:
    reply = http(port, "GET", "/ping", {})
    return None if reply.status == 200 else f"/ping -> {reply.status}"


def unit_code_round_trip(port: int, sso_cookie: str) -> str | None:
    return code_flow(port, sso_cookie)[0]


def code_flow(port: int, sso_cookie: str) -> tuple[str | None, dict[str, str]]:
    """What an application does for someone already signed in to Rollcall: authorize with PKCE,
    then exchange the code. Returns what went wrong (None if nothing) and the tokens."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    }
    cookie = {"Cookie": f"{SSO_COOKIE}={sso_cookie}"}
    reply = http(port, "GET", "/oauth/authorize?" + urlencode(query), cookie)
    code = parse_qs(urlsplit(reply.header("location")).query).get("code", [""])[0]
    if reply.status != 302 or not code:
        where = reply.header("location")[:200]
        return f"authorize -> {reply.status} {where} {reply.body[:200]!r}", {}
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    headers = {"Authorization": basic(CLIENT_ID, CLIENT_SECRET), "Content-Type": FORM}
    reply = http(port, "POST", "/oauth/token", headers, form(exchange))
    if reply.status != 200 or b"id_token" not in reply.body:
        return f"token (code) -> {reply.status} {reply.body[:200]!r}", {}
    return None, json.loads(reply.body)


def unit_token(port: int, _item: str) -> str | None:
    headers = {"Authorization": basic(MACHINE_ID, MACHINE_SECRET), "Content-Type": FORM}
    body = form({"grant_type": "client_credentials", "scope": "scim"})
    reply = http(port, "POST", "/oauth/token", headers, body)
    if reply.status != 200 or b"access_token" not in reply.body:
        return f"token (client credentials) -> {reply.status} {reply.body[:200]!r}"
    return None


def unit_userinfo(port: int, access_token: str) -> str | None:
    reply = http(port, "GET", "/oauth/userinfo", {"Authorization": f"Bearer {access_token}"})
    if reply.status != 200 or b'"sub"' not in reply.body:
        return f"userinfo -> {reply.status} {reply.body[:200]!r}"
    return None


CSRF = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def unit_sign_in(port: int, user_name: str) -> str | None:
    page = http(port, "GET", "/signin", {})
    found = CSRF.search(page.body)
    if page.status != 200 or not found:
        return f"GET /signin -> {page.status}, no CSRF token"
    cookies = "; ".join(c.split(";", 1)[0] for c in page.headers.get("set-cookie", []))
    values = {
        "login": user_name,
        "password": PASSWORD,
        "next": "/",
        "csrf_token": html.unescape(found.group(1).decode()),
    }
    headers = {"Cookie": cookies, "Content-Type": FORM}
    reply = http(port, "POST", "/signin", headers, form(values))
    if reply.status != 302 or "rollcall_sso=" not in " ".join(reply.headers.get("set-cookie", [])):
        return f"POST /signin -> {reply.status} {reply.body[:200]!r}"
    return None


Unit = Callable[[int, str], "str | None"]


@dataclass(frozen=True)
class Job:
    port: int
    unit: Unit
    items: list[str]
    start_at: float
    deadline: float


def run_job(job: Job) -> Outcome:
    """Run the units one after another from `start_at`, until done or past the deadline."""
    return timed(job.items, lambda item: job.unit(job.port, item), job.start_at, job.deadline)


# The directory: one account, its people with passwords and SSO sessions, two clients.


@dataclass(frozen=True)
class Fixture:
    user_names: list[str]
    sso_cookies: list[str]


def set_up(db: Database, people: int) -> Fixture:
    operator = Actor.system()
    migrate.upgrade(db)
    with db.transaction() as tx:
        account = accounts.create_account(tx, operator, name="Bench", kind="enterprise")
        clients.create_client(
            tx,
            operator,
            name="Bench application",
            redirect_uris=[REDIRECT],
            access="everyone",
            first_party=True,
            client_id=CLIENT_ID,
            secret=CLIENT_SECRET,
        )
        clients.create_client(
            tx,
            operator,
            name="Bench machine",
            scopes=["scim"],
            account=account,
            client_id=MACHINE_ID,
            secret=MACHINE_SECRET,
        )
        names, cookies = [], []
        for n in range(people):
            name = f"bench.person.{n:03d}"
            user = new_users.create_user(
                tx,
                operator,
                account_id=account.id,
                user_name=name,
                given_name="Bench",
                family_name=f"Person {n}",
                emails=[{"value": f"{name}@example.com", "primary": True}],
                email_verified=True,
                password=PASSWORD,
            )
            names.append(name)
            cookies.append(sso_sessions.start(tx, user)[1])
    return Fixture(names, cookies)


def access_tokens(port: int, fixture: Fixture) -> list[str]:
    """Access tokens of the bench people, got through the code flow as an application gets them."""
    found = []
    for cookie in fixture.sso_cookies:
        problem, tokens = code_flow(port, cookie)
        if problem:
            raise RuntimeError(problem)
        found.append(tokens["access_token"])
    return found


# Measuring.


@dataclass(frozen=True)
class Operation:
    label: str
    unit: Unit
    items: Callable[[], list[str]]  # what the units are given, drawn round-robin
    bare: bool = False
    share: int = 1  # measured units are the run's request count divided by this


def measure(
    pool: Pool,
    server: Server,
    op: Operation,
    requests: int,
    ways: int,
    limit: float,
) -> Row:
    pick = op.items()
    count = max(requests // op.share, ways)
    warm = [pick[n % len(pick)] for n in range(max(ways, count // 10))]
    problem = op.unit(server.port, warm[0])
    if problem:
        raise RuntimeError(f"{op.label}: {problem}")
    run_units(pool, server, op.unit, [warm[k::ways] for k in range(ways)], limit)
    units = [pick[n % len(pick)] for n in range(count)]
    outcomes, usage = run_units(pool, server, op.unit, [units[k::ways] for k in range(ways)], limit)
    return summarize(op.label, len(pick), outcomes, usage)


def run_units(
    pool: Pool, server: Server, unit: Unit, slices: list[list[str]], limit: float
) -> tuple[list[Outcome], Usage]:
    start_at = time.monotonic() + 0.2
    jobs = [Job(server.port, unit, items, start_at, start_at + limit) for items in slices]
    return run_jobs(pool, server, run_job, jobs, start_at)


def print_ratios(rows: list[Row], bare_label: str) -> None:
    bare = next(r for r in rows if r.label == bare_label)
    print()
    print(f"{'per second as % of bare':<30} {'share':>8}  target")
    for row in rows:
        if row.label != bare_label:
            target = ">= 40%" if row.label.startswith(("token", "userinfo")) else ""
            print(f"{row.label:<30} {row.rps / bare.rps:>8.0%}  {target}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured per operation")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per operation")
    parser.add_argument("--people", type=int, default=32, help="people with SSO sessions")
    parser.add_argument("--quick", action="store_true", help="smoke run: 300 requests")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.time_limit = 300, 20.0
    return args


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, exit_on_term)
    random.seed(1)
    code = code_version()
    with ExitStack() as stack:
        db = stack.enter_context(bench_database())
        fixture = set_up(db, args.people)
        app, bare, pool = serve(stack, db, "oidc_bench:bench_app()", args.concurrency)
        tokens = access_tokens(app.port, fixture)
        operations = [
            Operation("bare Flask /ping (ceiling)", unit_bare, lambda: ["-"], bare=True),
            Operation("token (client credentials)", unit_token, lambda: ["-"]),
            Operation("userinfo", unit_userinfo, lambda: tokens),
            Operation(
                "code + PKCE round trip (SSO)", unit_code_round_trip, lambda: fixture.sso_cookies
            ),
            Operation("sign-in (Argon2)", unit_sign_in, lambda: fixture.user_names, share=10),
        ]
        idle_load = machine_busy(2.0)
        note(
            f"PostgreSQL database {make_url(db.url).database}, gunicorn {WORKERS} sync workers per "
            f"server, {args.concurrency} client processes, {os.cpu_count()} cores"
        )
        rows = []
        for op in operations:
            server = bare if op.bare else app
            row = measure(pool, server, op, args.requests, args.concurrency, args.time_limit)
            rows.append(row)
            note(
                f"  {row.label:<30} {row.rps:7.0f}/s  p50 {row.p50:6.1f} ms  p99 {row.p99:6.1f} ms"
            )
    print()
    print(
        f"{os.cpu_count()} cores; gunicorn {WORKERS} sync workers per server; "
        f"{args.concurrency} client processes; machine busy before the run: {idle_load:.0%}"
    )
    print(f"code: {code}")
    print_table(rows)
    print_ratios(rows, operations[0].label)


if __name__ == "__main__":
    main()
