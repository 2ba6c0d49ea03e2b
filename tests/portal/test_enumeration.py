"""The pages tell no one who has an account (issue #19 items 6, 8 and 10): registration and
recovery answer alike, after the same work and in the same time, whether the person exists;
the one thing registration says is that a username is taken (SECURITY.md says why)."""

from __future__ import annotations

import re
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from rollcall import senders
from rollcall.app import create_app
from rollcall.settings import Settings, password_hashing
from store import outbox, passwords
from store.db import Database
from store.models.directory import User

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PASSWORD = "meadow lantern violet 9"
FULLWIDTH_AMANDA = "\uff41\uff4d\uff41\uff4e\uff44\uff41"


@pytest.fixture(autouse=True)
def _mails_sent_before_cleanup() -> Iterator[None]:
    yield
    senders.wait()


def _quiet_app(db: Database) -> Any:
    """The app as in production: mails are sent by the worker, not by the process answering."""
    return create_app(Settings(database_url=db.url, mail_inline=False), db)


class Form:
    """A browser filling in one page's form again and again, each time from its own address (so
    the rate limits of the pages do not count them together)."""

    def __init__(self, app: Any, path: str) -> None:
        self.client = app.test_client()
        self.path = path
        self.token = CSRF.search(self.client.get(path).text).group(1)  # type: ignore[union-attr]
        self.sent = 0

    def post(self, **fields: str) -> Any:
        self.sent += 1
        address = f"10.{self.sent // 250}.{self.sent % 250}.9"
        return self.client.post(
            self.path,
            data={"csrf_token": self.token, **fields},
            environ_base={"REMOTE_ADDR": address},
        )

    def timed(self, **fields: str) -> float:
        started = time.perf_counter()
        response = self.post(**fields)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        return elapsed


def _registration(email: str, user_name: str | None = None) -> dict[str, str]:
    return {
        "choice": "guest",
        "given_name": "Reg",
        "family_name": "Istrant",
        "email": email,
        "user_name": user_name or f"reg.{uuid.uuid4().hex[:10]}",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }


@contextmanager
def _standard_hashing() -> Iterator[float]:
    """Argon2id at its production cost for the block (the suite hashes cheaply); yields the time
    one hash takes."""
    passwords.use_cost("standard")
    try:
        spent = []
        for _ in range(3):
            started = time.perf_counter()
            passwords.hash_password(PASSWORD)
            spent.append(time.perf_counter() - started)
        yield statistics.median(spent)
    finally:
        passwords.use_cost(password_hashing())


def test_registering_a_known_address_takes_as_long_as_a_new_one(
    db: Database, make_user: Callable[..., User]
) -> None:
    """The probe: /register answered a known address in ~28 ms and a new one in ~500 ms (only a
    new user's password was hashed). Timed over many tries, interleaved, at the production cost
    of Argon2id; the medians may differ by far less than one hash."""
    make_user(None, "already.here", emails=[{"value": "here@example.com", "primary": True}])
    form = Form(_quiet_app(db), "/register")
    known, new = [], []
    with _standard_hashing() as one_hash:
        for i in range(9):
            known.append(form.timed(**_registration("here@example.com")))
            new.append(form.timed(**_registration(f"new.{i}@example.com")))
    difference = abs(statistics.median(new) - statistics.median(known))
    assert difference < one_hash / 2, (one_hash, known, new)


class Statements:
    """The SQL one thread runs (the request's, not the mail sender's), without parameters."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        self.thread = threading.get_ident()
        self.seen: list[str] = []

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == self.thread:
            self.seen.append(statement)

    @contextmanager
    def during(self) -> Iterator[list[str]]:
        self.seen = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        try:
            yield self.seen
        finally:
            event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.mark.parametrize(
    ("path", "field", "known", "unknown"),
    [
        ("/forgot-password", "login", "known.user", "nobody.at.all"),
        ("/forgot-password", "login", "known@example.com", "nobody@example.com"),
        ("/forgot-username", "email", "known@example.com", "nobody@example.com"),
        ("/verify/resend", "login", "known.user", "nobody.at.all"),
    ],
)
def test_recovery_does_the_same_work_for_known_and_unknown_accounts(
    db: Database, make_user: Callable[..., User], path: str, field: str, known: str, unknown: str
) -> None:
    """The probe: /forgot-password was slower for a known username (it issued a link and queued
    a mail before answering). The request now runs the very same statements either way; who is
    named is worked out after the response. (tests/portal/test_pages.py times it too.)"""
    make_user(None, "known.user", emails=[{"value": "known@example.com", "primary": True}])
    form = Form(_quiet_app(db), path)
    statements = Statements(db)
    with statements.during() as for_known:
        assert form.post(**{field: known}).status_code == 200
    after_known = queued(db)
    with statements.during() as for_unknown:
        assert form.post(**{field: unknown}).status_code == 200
    assert for_known == for_unknown  # (PostgreSQL writes the queued request on the driver)
    queued_known, queued_unknown = after_known, queued(db)[len(after_known) :]
    assert [m.kind for m in queued_known] == [m.kind for m in queued_unknown] == [outbox.RECOVERY]
    assert sorted(queued_known[0].payload) == sorted(queued_unknown[0].payload)


def queued(db: Database) -> list[Any]:
    """Every message waiting in the outbox, oldest first."""
    with db.transaction(write=False) as tx:
        found = list(outbox.pending(tx))
        tx.expunge_all()
        return found


def test_registration_says_only_that_a_username_is_taken(
    app: Any, db: Database, make_user: Callable[..., User]
) -> None:
    """Item 8: a taken username is said (a person must be able to pick another); whether the
    address has an account is not, with a taken username or a free one."""
    make_user(None, "taken.name", emails=[{"value": "owner@example.com", "primary": True}])
    form = Form(app, "/register")

    def page(response: Any, *echoed: str) -> str:
        text = response.text
        for value in echoed:
            text = text.replace(value, "ECHOED")
        return CSRF.sub("", text)

    free_known = form.post(**_registration("owner@example.com", "free.name.1"))
    free_new = form.post(**_registration("someone@example.com", "free.name.2"))
    assert free_known.status_code == free_new.status_code == 200
    assert page(free_known, "owner@example.com") == page(free_new, "someone@example.com")

    taken_known = form.post(**_registration("owner@example.com", "taken.name"))
    taken_new = form.post(**_registration("someone.else@example.com", "Taken.Name"))
    assert taken_known.status_code == taken_new.status_code == 400
    assert "is taken" in taken_known.text
    assert page(taken_known, "owner@example.com", "taken.name") == page(
        taken_new, "someone.else@example.com", "Taken.Name"
    )


@pytest.mark.parametrize("user_name", [FULLWIDTH_AMANDA, FULLWIDTH_AMANDA.upper(), "AMANDA"])
def test_a_username_in_another_unicode_form_is_taken(
    app: Any, db: Database, make_user: Callable[..., User], user_name: str
) -> None:
    """Item 10's probe: amanda in fullwidth letters registered beside `amanda`."""
    make_user(None, "amanda")
    response = Form(app, "/register").post(**_registration("fresh@example.com", user_name))
    assert response.status_code == 400 and "is taken" in response.text


@pytest.mark.parametrize("email", ["two words@example.com", "a@@example.com", "x@nodot"])
def test_registration_refuses_what_only_looks_like_an_address(app: Any, email: str) -> None:
    response = Form(app, "/register").post(**_registration(email))
    assert response.status_code == 400 and "is not an email address" in response.text
