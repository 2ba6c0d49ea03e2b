"""The Active Users page of Manage Users with 100,000 users in one account, on PostgreSQL.

Why: the guide's console pages through every user of an account ("1 - 25 of 1220 · Page 1 of
49"), and large accounts must page, sort and search as quickly as small ones; the target is a p50
under 50 ms for a search and for a deep page.

How: a PostgreSQL database of its own (`store.db.scratch_database`, dropped at the end), migrated,
with an enterprise account filled by bulk SQL (COPY): names drawn from common first and last
names, one email each, a last sign-in on most, a tenth inactive; then VACUUM ANALYZE, as
autovacuum would have done by then (`--no-analyze`: none, as right after a first import). The
page is requested through the whole Flask application (session cookie, store query, template)
with its test client, so the figures are the server's time per page without the network. Each
case gets a warm-up, then `--requests` timed requests; p50 and p99 are printed, with the plan of
the deep page's index read. Nothing is asserted.

    .venv/bin/python bench/console_bench.py [--users 100000] [--requests 200] [--no-analyze]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import text

from rollcall.app import create_app
from rollcall.settings import Settings
from store import accounts, migrate, new_users, sso_sessions
from store.actors import Actor
from store.db import Database, now, scratch_database
from store.engine import normalize_url
from store.models.directory import fold

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Dorothy",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Edward",
    "Rebecca",
    "Jason",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Kathleen",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
]
USER_COLUMNS = (
    "id, account_id, user_name, user_name_ci, given_name, family_name, given_name_ci, "
    "family_name_ci, primary_email_ci, addresses, other_attributes, active, profile, is_support, "
    "no_longer_at_account, preferred_contact_method, email_verified, failed_logins, version, "
    "last_login_at, created_at, modified_at"
)


def admin_url() -> str:
    url = os.environ.get("ROLLCALL_DATABASE_URL", "")
    return normalize_url(url) if url.startswith("postgres") else ADMIN_URL


@contextmanager
def bench_database() -> Iterator[Database]:
    with scratch_database(admin_url(), "rollcall_console_bench") as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


def fill(
    db: Database, account_id: uuid.UUID, count: int, rng: random.Random, analyze: bool
) -> None:
    start = now()
    raw = db.engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            emails = []
            with cur.copy(f"COPY users ({USER_COLUMNS}) FROM STDIN") as copy:
                for i in range(count):
                    given, family = rng.choice(FIRST), rng.choice(LAST)
                    name = f"{given}.{family}.{i:06d}".lower()
                    email = f"{name}@example.com"
                    user_id = uuid.uuid4()
                    signed_in = (
                        None
                        if rng.random() < 0.2
                        else start - timedelta(minutes=rng.randrange(10**6))
                    )
                    active = rng.random() >= 0.1
                    created = start - timedelta(days=400, seconds=-i)
                    copy.write_row(
                        (
                            *(user_id, account_id, name, fold(name), given, family),
                            *(fold(given), fold(family), fold(email), "[]", "{}", active),
                            *("client", False),
                            *(False, "email", True, 0, 1, signed_in, created, created),
                        )
                    )
                    emails.append((user_id, email))
            with cur.copy(
                'COPY user_emails (user_id, position, value, value_ci, type, "primary") FROM STDIN'
            ) as copy:
                for user_id, email in emails:
                    copy.write_row((user_id, 0, email, fold(email), "work", True))
        raw.commit()
    finally:
        raw.close()
    if not analyze:
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("users", "user_emails"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))


def timed(client, path: str, requests: int) -> tuple[float, float, str]:
    for _ in range(max(5, requests // 10)):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(path)
        response.get_data()
        samples.append((time.perf_counter() - began) * 1000)
    body = response.get_data(as_text=True)
    shown = body.split('class="count" role="status">', 1)[-1].split("<", 1)[0]
    cuts = statistics.quantiles(samples, n=100)
    return statistics.median(samples), cuts[98], shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="leave the tables as a first import leaves them: no statistics (no VACUUM ANALYZE)",
    )
    options = parser.parse_args()
    rng = random.Random(7)
    operator = Actor.system()
    with bench_database() as db:
        migrate.upgrade(db)
        with db.transaction() as tx:
            account = accounts.create_account(tx, operator, name="Bench Health", kind="enterprise")
            main_contact = new_users.create_user(
                tx, operator, account_id=account.id, user_name="bench.main", profile="main"
            )
            _, cookie = sso_sessions.start(tx, main_contact)
        began = time.perf_counter()
        fill(db, account.id, options.users - 1, rng, analyze=not options.no_analyze)
        print(f"filled {options.users:,} users in {time.perf_counter() - began:.1f} s")
        app = create_app(Settings(database_url=db.url, log_level="WARNING"), db)
        client = app.test_client()
        client.set_cookie("rollcall_sso", cookie)
        base = f"/accounts/{account.id}/users"
        with db.transaction(write=False) as tx:
            total = tx.scalar(
                text("SELECT count(*) FROM users WHERE account_id = :a AND active"),
                {"a": account.id},
            )
        middle, last = (total // 25) // 2 + 1, -(-total // 25)
        cases = [
            ("first page (first name)", base),
            ("search a last name: 'garcia'", f"{base}?q=garcia"),
            ("search a person: 'mary gar'", f"{base}?q=mary+gar"),
            ("search an email: 'linda.kim'", f"{base}?q=linda.kim"),
            (f"deep page, middle ({middle})", f"{base}?page={middle}"),
            (f"deep page, last ({last})", f"{base}?page={last}"),
            (f"deep page, last sign-in sort ({middle})", f"{base}?sort=last_login&page={middle}"),
            (
                f"deep page, last name desc ({middle})",
                f"{base}?sort=last_name&dir=desc&page={middle}",
            ),
            ("inactive users, first page", f"{base}?status=inactive"),
            ("email sort, first page", f"{base}?sort=email"),
            (f"deep page, email sort ({middle})", f"{base}?sort=email&page={middle}"),
        ]
        print(f"\nActive Users page, {options.users:,} users in one account", end="")
        print(f", {options.requests} requests each")
        print(f"{'case':<44} {'p50 ms':>8} {'p99 ms':>8}   shown")
        for label, path in cases:
            p50, p99, shown = timed(client, path, options.requests)
            print(f"{label:<44} {p50:8.1f} {p99:8.1f}   {shown}")
        with db.engine.connect() as conn:
            plan = conn.execute(
                text(
                    "EXPLAIN (ANALYZE, BUFFERS) SELECT user_name_ci FROM users "
                    "WHERE account_id = :a AND active = true "
                    "ORDER BY given_name_ci, family_name_ci, user_name_ci OFFSET :o LIMIT 25"
                ),
                {"a": account.id, "o": total // 2 - 25},
            ).scalars()
            print("\nplan of the middle page's index read:\n  " + "\n  ".join(plan))


if __name__ == "__main__":
    main()
