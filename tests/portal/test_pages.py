"""The self-service pages over HTTP: no enumeration (same answer, similar time), links refused
with a clear page when expired, used or unknown, CSRF on every form, rate limits, headers."""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from rollcall import senders, upstream
from rollcall.app import create_app
from rollcall.settings import Settings
from store import links
from store.db import Database, now
from store.models.directory import User
from store.models.logs import OutboxMessage
from store.models.sign_in import UserLink
from tests.pages import Console


@pytest.fixture(autouse=True)
def _mails_sent_before_cleanup(db: Database) -> Iterator[None]:
    """Pages send mail from a thread after answering; let it finish before the tables empty."""
    yield
    senders.wait()


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def post_form(client: Any, path: str, data: dict[str, str], ip: str = "127.0.0.1") -> Any:
    """GET the page for its CSRF token, then POST the form as a browser would."""
    page = client.get(path, environ_base={"REMOTE_ADDR": ip})
    token = CSRF.search(page.text)
    assert token, f"{path} has no CSRF token"
    return client.post(
        path, data={"csrf_token": token.group(1), **data}, environ_base={"REMOTE_ADDR": ip}
    )


def mails(db: Database) -> int:
    """Mails queued, once the senders have answered what the pages asked (after responding)."""
    senders.wait()
    with db.transaction(write=False) as tx:
        return tx.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "email")
        )


def _body(response: Any, *echoed: str) -> str:
    text = response.text
    for value in echoed:
        text = text.replace(value, "ADDRESS")
    return CSRF.sub("", text)


@pytest.mark.parametrize(
    ("path", "field", "known", "unknown"),
    [
        ("/forgot-username", "email", "known@example.com", "nobody@example.com"),
        ("/forgot-password", "login", "known.user", "nobody.at.all"),
        ("/forgot-password", "login", "known@example.com", "nobody@example.com"),
        ("/verify/resend", "login", "known.user", "nobody.at.all"),
    ],
)
def test_recovery_answers_the_same_for_known_and_unknown_accounts(
    app: Any,
    db: Database,
    make_user: Callable[..., User],
    path: str,
    field: str,
    known: str,
    unknown: str,
) -> None:
    make_user(None, "known.user", emails=[{"value": "known@example.com", "primary": True}])
    client = app.test_client()
    before = mails(db)
    for_known = post_form(client, path, {field: known})
    assert mails(db) == before + 1  # the known account is mailed...
    for_unknown = post_form(client, path, {field: unknown})
    assert mails(db) == before + 1  # ...the unknown one is not
    assert for_known.status_code == for_unknown.status_code == 200
    assert _body(for_known, known) == _body(for_unknown, unknown)


def test_recovery_takes_similar_time_for_known_and_unknown_accounts(
    db: Database, make_user: Callable[..., User]
) -> None:
    rounds = 15
    for i in range(rounds):
        make_user(None, f"timed.{i}", emails=[{"value": f"timed.{i}@example.com"}])
    # As in production: the mail worker sends, not the process answering.
    app = create_app(Settings(database_url=db.url, mail_inline=False), db)
    client = app.test_client()
    page = client.get("/forgot-password")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    def timed(login: str, ip: str) -> float:
        started = time.perf_counter()
        response = client.post(
            "/forgot-password",
            data={"csrf_token": token, "login": login},
            environ_base={"REMOTE_ADDR": ip},
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200
        return elapsed

    known, unknown = [], []
    for i in range(rounds):  # interleaved, so drift in the machine's speed hits both alike
        known.append(timed(f"timed.{i}@example.com", f"10.0.1.{i}"))
        unknown.append(timed(f"missing.{i}@example.com", f"10.0.2.{i}"))
    fast, slow = sorted([statistics.median(known), statistics.median(unknown)])
    assert slow < 2 * fast + 0.01, (known, unknown)


def test_expired_used_and_unknown_links_are_refused_with_a_clear_page(
    app: Any, db: Database, make_user: Callable[..., User]
) -> None:
    user = make_user(None, "link.user")
    with db.transaction() as tx:
        expired = links.issue(tx, user, links.RESET_PASSWORD)
    with db.transaction() as tx:
        tx.execute(update(UserLink).values(expires_at=now() - timedelta(minutes=1)))
        fresh = links.issue(tx, user, links.VERIFY_EMAIL, {"email": user.primary_email})
    client = app.test_client()

    response = client.get(f"/reset/{expired}")
    assert response.status_code == 410
    assert "This link has expired" in response.text

    response = client.get("/reset/not-a-token-we-ever-sent")
    assert response.status_code == 404
    assert "not valid" in response.text

    assert post_form(client, f"/verify/{fresh}", {}).status_code == 200
    response = client.get(f"/verify/{fresh}")
    assert response.status_code == 410
    assert "already used" in response.text
    with db.transaction(write=False) as tx:
        stored = tx.scalars(select(UserLink.token_hash)).all()
    assert fresh not in stored and links.digest(fresh) in stored  # only hashes are kept


def test_every_form_needs_its_csrf_token(app: Any, db: Database) -> None:
    client = app.test_client()
    for path, data in [
        ("/forgot-password", {"login": "someone"}),
        ("/forgot-username", {"email": "someone@example.com"}),
        ("/verify/resend", {"login": "someone"}),
        ("/register", {"choice": "guest", "email": "x@example.com"}),
    ]:
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "This page was out of date" in response.text, path
    assert mails(db) == 0


def test_recovery_is_rate_limited_per_account_and_per_address(
    app: Any, make_user: Callable[..., User]
) -> None:
    make_user(None, "much.wanted")
    client = app.test_client()
    answers = [
        post_form(client, "/forgot-password", {"login": "much.wanted"}, ip=f"10.0.3.{i}")
        for i in range(6)
    ]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert "Too many attempts" in answers[-1].text
    answers = [
        post_form(client, "/forgot-username", {"email": f"n{i}@example.com"}, ip="10.0.4.1")
        for i in range(21)
    ]
    assert answers[-1].status_code == 429 and answers[-2].status_code == 200


def test_pages_carry_security_headers(app: Any, db: Database) -> None:
    response = app.test_client().get("/register")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in response.headers  # development
    assert "<script>" not in response.text and " style=" not in response.text

    production = create_app(
        Settings(database_url=db.url, environment="production", secret_key="s" * 40), db
    )
    try:
        response = production.test_client().get("/register")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        assert production.test_client().get("/dev/mail").status_code == 404
    finally:  # the process's setting, which the production app turned off for the next tests
        upstream.allow_private_providers(Settings(database_url=db.url).providers_may_be_private)


def test_dev_mail_shows_the_verification_link_in_development(app: Any) -> None:
    client = app.test_client()
    password = "meadow lantern violet 9"
    response = post_form(
        client,
        "/register",
        {
            "choice": "guest",
            "given_name": "Dee",
            "family_name": "Dev",
            "email": "dee@example.com",
            "user_name": "dee.dev",
            "password": password,
            "confirm": password,
        },
    )
    assert response.status_code == 200 and "Check your email" in response.text
    page = client.get("/dev/mail")
    assert "Enable your Success Community account" in page.text
    assert re.search(r'<a href="http://localhost/verify/[\w-]+">', page.text)


def test_profile_needs_a_signed_in_user(app: Any) -> None:
    response = app.test_client().get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=")


def test_a_person_managed_elsewhere_sees_their_details_without_a_form_to_change_them(
    app: Any, db: Any, make_account: Any, make_user: Any
) -> None:
    """An Office user's name, phone and address are NextGen Office's: the profile shows them
    and says where to change them, instead of a form every save of which is refused."""
    office = make_account(kind="office")
    member = make_user(office, "office.person", given_name="Omar", password="a long pass phrase")
    page = Console(app, db, member).get("/profile").get_data(as_text=True)
    assert "Omar" in page and "change them there" in page and "NextGen Office" in page
    assert 'name="basic-given_name"' not in page and 'name="email-new_email"' not in page
    local = make_user(
        make_account(kind="enterprise"), "local.person", password="a long pass phrase"
    )
    mine = Console(app, db, local).get("/profile").get_data(as_text=True)
    assert 'name="basic-given_name"' in mine and 'name="email-new_email"' in mine


def test_only_people_with_the_client_support_center_hear_of_its_password(
    app: Any, db: Any, make_user: Any, support: Any
) -> None:
    """A guest has no Client Support Center password: the profile and the change's message
    say nothing of one (a browser probe found them confusing); a person with access is told
    the two passwords stay apart (FAQ 4)."""
    from store import csc

    phrase, new = "a long pass phrase", "another long pass phrase"
    guest = make_user(None, "gus.guest", password=phrase)
    member = make_user(None, "cara.csc", password=phrase)
    with db.transaction() as tx:
        asked = csc.request_access(tx, tx.get(User, member.id), organization="Clinic")
        tx.flush()
        csc.decide(tx, support, asked.id, approve=True)
    for person, told in ((guest, False), (member, True)):
        console = Console(app, db, person)
        page = console.get("/profile").get_data(as_text=True)
        assert ("does not change your Client Support Center password" in page) is told
        changed = console.post_form(
            "/profile/password",
            "password",
            "/profile",
            current_password=phrase,
            password=new,
            confirm=new,
        )
        assert changed.status_code == 302
        said = console.get("/profile").get_data(as_text=True)
        assert "Your password is changed" in said
        assert ("Client Support Center password did not change" in said) is told
