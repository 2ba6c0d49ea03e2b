"""Signing in with a passkey over HTTP, as the sign-in pages' script does: as a second factor
after the password (the session goes on, proven twice) and on its own (passwordless)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from store import passkeys, sso_sessions
from store.actors import Actor, Door
from store.db import Database, now
from store.models.directory import User
from store.passkey_ceremonies import RelyingParty
from store.signin import LOCK_AFTER
from tests.authenticator import SoftAuthenticator
from tests.pages import Console

RP = RelyingParty.of("http://localhost/")  # the test client's requests come to http://localhost/
SCRIPT_TOKEN = re.compile(r'(?:data-csrf|name="csrf_token"[^>]*value)="([^"]+)"')


@pytest.fixture
def me(make_user: Callable[..., User]) -> User:
    return make_user(None, "sam.second", email_verified=True)


@pytest.fixture
def device(db: Database, me: User) -> SoftAuthenticator:
    """A security key of `me`'s, added on the profile page."""
    key = SoftAuthenticator(RP.origin, attachment="cross-platform", transports=("usb",))
    with db.transaction() as tx:
        options = passkeys.begin_registration(tx, RP, me, signed_in_at=now())
    with db.transaction() as tx:
        actor = Actor.for_user(me, Door.PORTAL)
        passkeys.finish_registration(tx, RP, actor, me, key.create(options))
    return key


def script_token(client: Any, path: str) -> str:
    found = SCRIPT_TOKEN.search(client.get(path).get_data(as_text=True))
    assert found, f"no script token on {path}"
    return found.group(1)


def post_json(client: Any, path: str, body: dict[str, Any], token: str) -> Any:
    return client.post(path, json=body, headers={"X-CSRFToken": token})


def session_of(db: Database, client: Any) -> Any:
    cookie = client.get_cookie("rollcall_sso")
    with db.transaction(write=False) as tx:
        return sso_sessions.find(tx, cookie.value if cookie else None)


def second_factor(client: Any, device: SoftAuthenticator, **answer: Any) -> Any:
    token = script_token(client, "/signin/passkey?next=/profile")
    options = post_json(client, "/signin/passkey/options", {}, token)
    assert options.status_code == 200, options.json
    credential = device.get(options.json, **answer)
    return post_json(
        client, "/signin/passkey", {"credential": credential, "next": "/profile"}, token
    )


def test_a_security_key_after_the_password_makes_the_session_multi_factor(
    app: Any, db: Database, me: User, device: SoftAuthenticator
) -> None:
    browser = Console(app, db, me)  # signed in with a password
    before = session_of(db, browser.client)
    assert sso_sessions.proof_of(before).amr == ("pwd",)
    answer = second_factor(browser.client, device)
    assert answer.status_code == 200, answer.json
    assert answer.json == {"redirect": "/profile"}
    after = session_of(db, browser.client)
    assert after.id == before.id  # the same session, renewed
    proof = sso_sessions.proof_of(after)
    assert proof.amr == ("pwd", "hwk", "mfa")
    assert proof.acr == "urn:rollcall:acr:2fa"


def test_a_refused_answer_changes_nothing_and_counts(
    app: Any, db: Database, me: User, device: SoftAuthenticator
) -> None:
    browser = Console(app, db, me)
    forged = SoftAuthenticator(RP.origin, credential_id=device.credential_id)
    answer = second_factor(browser.client, forged)
    assert answer.status_code == 403
    assert "not accepted" in answer.json["error"]
    assert sso_sessions.proof_of(session_of(db, browser.client)).amr == ("pwd",)
    with db.transaction(write=False) as tx:
        assert tx.get(User, me.id).failed_logins == 1


def test_the_step_needs_a_session(app: Any, device: SoftAuthenticator) -> None:
    client = app.test_client()
    page = client.get("/signin/passkey?next=/profile")
    assert page.status_code == 302 and page.headers["Location"].startswith("/signin?")
    answer = client.post("/signin/passkey/options", json={})
    assert answer.status_code == 403
    assert answer.json == {"error": "Your sign-in has ended. Sign in again."}


def test_a_passkey_alone_signs_in(app: Any, db: Database, me: User) -> None:
    passkey = SoftAuthenticator(RP.origin)  # a platform passkey: swk
    with db.transaction() as tx:
        options = passkeys.begin_registration(tx, RP, me, signed_in_at=now())
    with db.transaction() as tx:
        passkeys.finish_registration(
            tx, RP, Actor.for_user(me, Door.PORTAL), me, passkey.create(options)
        )
    client = app.test_client()
    token = script_token(client, "/signin?next=/profile")
    options = post_json(client, "/signin/passkey/passwordless/options", {}, token)
    assert options.status_code == 200
    credential = passkey.get(options.json)
    answer = post_json(
        client,
        "/signin/passkey/passwordless",
        {"credential": credential, "next": "https://evil.test/"},
        token,
    )
    assert answer.status_code == 200, answer.json
    assert answer.json == {"redirect": "/"}  # never off the site
    session = session_of(db, client)
    assert session.user_id == me.id
    assert sso_sessions.proof_of(session).amr == ("swk", "user", "mfa")
    replay = post_json(client, "/signin/passkey/passwordless", {"credential": credential}, token)
    assert replay.status_code == 400
    assert "expired or was already used" in replay.json["error"]


def test_a_locked_person_is_not_signed_in_by_a_passkey(
    app: Any, db: Database, me: User, device: SoftAuthenticator
) -> None:
    browser = Console(app, db, me)
    forged = SoftAuthenticator(RP.origin, credential_id=device.credential_id)
    for _ in range(LOCK_AFTER):
        assert second_factor(browser.client, forged).status_code == 403
    assert second_factor(browser.client, device).status_code == 403


def test_the_step_says_so_when_the_person_has_no_key(app: Any, db: Database, me: User) -> None:
    page = Console(app, db, me).get("/signin/passkey?next=/").get_data(as_text=True)
    assert "You have no passkey or security key yet." in page
    assert "data-passkey-get" not in page


def test_a_key_is_the_second_factor_of_a_password_sign_in(
    app: Any, db: Database, make_user: Callable[..., User]
) -> None:
    """A person with a key gives it after the password, before any session exists: the sign-in
    waits at the second-factor page, which offers the key, and ends multi-factor."""
    kim = make_user(None, "kim.key", email_verified=True, password="Kim-password-2026")
    key = SoftAuthenticator(RP.origin)
    with db.transaction() as tx:
        options = passkeys.begin_registration(tx, RP, kim, signed_in_at=now())
    with db.transaction() as tx:
        passkeys.finish_registration(
            tx, RP, Actor.for_user(kim, Door.PORTAL), kim, key.create(options)
        )
    client = app.test_client()
    token = script_token(client, "/signin")
    answer = client.post(
        "/signin",
        data={"csrf_token": token, "login": "kim.key", "password": "Kim-password-2026"},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/signin/second-factor")
    assert session_of(db, client) is None  # no session before the second factor
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Passkey or security key" in page
    token = SCRIPT_TOKEN.search(page).group(1)
    options = post_json(client, "/signin/passkey/options", {}, token)
    assert options.status_code == 200, options.json
    done = post_json(
        client, "/signin/passkey", {"credential": key.get(options.json), "next": "/"}, token
    )
    assert done.status_code == 200 and done.json == {"redirect": "/"}
    assert sso_sessions.proof_of(session_of(db, client)).amr == ("pwd", "swk", "mfa")
