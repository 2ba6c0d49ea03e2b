"""What identity providers see when things break under them: acknowledged writes kept, answers in
SCIM's format, and how long until creates succeed again.

How: a PostgreSQL database of its own (dropped at the end) reached through a TCP proxy
(tests/outage.py) that can cut every connection; Rollcall under gunicorn (2 sync workers);
`--writers` threads each creating users (POST /Users, one connection per request) for the whole
run. Three faults, one after another, each followed by `--settle` seconds of plain running:
kill -9 of one gunicorn worker, every database backend of Rollcall terminated
(pg_terminate_backend), and a database outage of `--outage` seconds (every connection cut and
new ones refused). For each fault window it prints requests sent, acknowledged (201),
acknowledged but missing from the database at the end (lost: must be 0), answers that are not
SCIM JSON (must be 0), requests with no answer at all (a killed worker's), the statuses seen,
and the seconds from the end of the fault to the first acknowledged create. Nothing is asserted.

    .venv/bin/python bench/fault_bench.py [--writers 8] [--outage 10] [--settle 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scim_bench import (
    REPO,
    SCIM,
    USER_SCHEMA,
    Call,
    bench_database,
    code_version,
    encode,
    free_port,
    gunicorn,
    note,
    send,
    set_up,
)
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(REPO))
from store.db import Database
from store.models.directory import User
from tests.outage import Proxy


@dataclass(frozen=True)
class Answer:
    at: float
    user_name: str
    status: int | None  # None: no answer (the connection closed or was refused)
    scim: bool  # the body is SCIM JSON (an Error or a User)
    user_id: str | None


@dataclass
class Writers:
    port: int
    token: str
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, writer: int) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            user_name = f"fault.{writer}.{n}@example.com"
            body = json.dumps({"schemas": [USER_SCHEMA], "userName": user_name}).encode()
            request = encode(Call("POST", f"{SCIM}/Users", body, 201), self.token, self.port)
            answer = _answer(self.port, request, user_name)
            with self.lock:
                self.answers.append(answer)
            if answer.status is None or answer.status >= 500:
                time.sleep(0.05)  # as a client backs off


def _answer(port: int, request: bytes, user_name: str) -> Answer:
    at = time.monotonic()
    try:
        head, _, body = send(port, request).partition(b"\r\n\r\n")
        status = int(head[9:12])
    except (OSError, ValueError):
        return Answer(at, user_name, None, False, None)
    try:
        document = json.loads(body)
        scim = isinstance(document, dict) and bool(document.get("schemas"))
    except ValueError:
        document, scim = {}, False
    user_id = document.get("id") if status == 201 and scim else None
    return Answer(at, user_name, status, scim, user_id)


@dataclass(frozen=True)
class Window:
    fault: str
    began: float
    fault_ended: float
    ended: float


def workers_of(master: int) -> list[int]:
    """The pids of a gunicorn master's workers (its children)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            children.append(int(stat.parent.name))
    return children


def terminate_backends(admin: Database, database: str) -> int:
    with admin.engine.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :db AND pid <> pg_backend_pid()"
            ),
            {"db": database},
        ).scalar()
        conn.commit()
    return int(ended or 0)


def report(windows: list[Window], answers: list[Answer], stored: set[str]) -> None:
    print(
        f"{'fault':<28} {'sent':>6} {'acked':>6} {'lost':>5} {'non-SCIM':>8} {'no answer':>9} "
        f"{'recovered s':>11}  statuses"
    )
    for w in windows:
        inside = [a for a in answers if w.began <= a.at < w.ended]
        acked = [a for a in inside if a.status == 201]
        lost = [a for a in acked if a.user_id not in stored]
        non_scim = [a for a in inside if a.status is not None and not a.scim]
        silent = [a for a in inside if a.status is None]
        first_ok = min((a.at for a in acked if a.at >= w.fault_ended), default=None)
        recovered = f"{first_ok - w.fault_ended:.1f}" if first_ok is not None else "never"
        statuses = Counter(str(a.status) for a in inside)
        print(
            f"{w.fault:<28} {len(inside):>6} {len(acked):>6} {len(lost):>5} {len(non_scim):>8} "
            f"{len(silent):>9} {recovered:>11}  {dict(sorted(statuses.items()))}"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds the database is away")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after each fault")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    code = code_version()
    with bench_database() as db, ExitStack() as stack:
        directory = set_up(db, 0)
        proxy = stack.enter_context(Proxy(db.url))
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fault_")))
        env = os.environ | {"ROLLCALL_DATABASE_URL": proxy.url, "ROLLCALL_LOG_LEVEL": "WARNING"}
        server = stack.enter_context(
            gunicorn("rollcall.wsgi:app", free_port(), "/healthz", env, logs / "app.log")
        )
        writers = Writers(server.port, directory.token)
        threads = [
            threading.Thread(target=writers.run, args=(n,), daemon=True)
            for n in range(args.writers)
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.settle)
        windows = []

        def fault(name: str, act: Any, lasts: float = 0.0, end: Any = None) -> None:
            began = time.monotonic()
            note(f"fault: {name}")
            act()
            time.sleep(lasts)
            if end is not None:
                end()
            ended = time.monotonic()
            time.sleep(args.settle)
            windows.append(Window(name, began, ended, time.monotonic()))

        victim = workers_of(server.pid)[0]
        fault("kill -9 of a worker", lambda: os.kill(victim, signal.SIGKILL))
        database = make_url(db.url).database or ""
        fault("backends terminated", lambda: terminate_backends(db, database))
        fault(f"{args.outage:g} s database outage", proxy.cut, args.outage, proxy.restore)
        writers.stop.set()
        for thread in threads:
            thread.join()
        with db.transaction(write=False) as tx:
            stored = {str(i) for i in tx.scalars(select(User.id))}
    print(
        f"code: {code}; gunicorn 2 sync workers, {args.writers} writers creating users, "
        f"PostgreSQL through a proxy; {len(writers.answers)} requests in all"
    )
    report(windows, writers.answers, stored)


if __name__ == "__main__":
    main()
