"""The "Passkeys and security keys" page over HTTP, as its script and forms use it, with answers
made by the Python authenticator of tests/authenticator.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from store import passkeys
from store.db import Database, now
from store.models.directory import User
from store.models.sign_in import SsoSession
from tests.authenticator import SoftAuthenticator
from tests.pages import Console

PAGE = "/profile/security/passkeys"
ORIGIN = "http://localhost"  # the test client's requests come to http://localhost/
SCRIPT_TOKEN = re.compile(r'data-csrf="([^"]+)"')


@pytest.fixture
def me(make_user: Callable[..., User]) -> User:
    return make_user(None, "kim.key", email_verified=True)


@pytest.fixture
def browser(app: Any, db: Database, me: User) -> Console:
    return Console(app, db, me)


def script_token(browser: Console) -> str:
    found = SCRIPT_TOKEN.search(browser.get(PAGE).get_data(as_text=True))
    assert found
    return found.group(1)


def post_json(browser: Console, path: str, body: dict[str, Any], token: str) -> Any:
    return browser.client.post(path, json=body, headers={"X-CSRFToken": token})


def add(browser: Console, device: SoftAuthenticator, name: str = "") -> Any:
    token = script_token(browser)
    options = post_json(browser, f"{PAGE}/options", {}, token)
    assert options.status_code == 200, options.json
    credential = device.create(options.json)
    return post_json(browser, PAGE, {"credential": credential, "name": name}, token)


def test_a_key_is_added_listed_renamed_and_removed(browser: Console, db: Database, me: User):
    assert "None yet." in browser.get(PAGE).get_data(as_text=True)
    added = add(browser, SoftAuthenticator(ORIGIN), "Desk computer")
    assert added.status_code == 200
    assert added.json == {"redirect": PAGE}
    page = browser.get(PAGE).get_data(as_text=True)
    assert "Your passkey “Desk computer” is added." in page
    assert "<strong>Desk computer</strong>" in page
    with db.transaction(write=False) as tx:
        [key] = passkeys.list_for(tx, me)
    renamed = browser.post(f"{PAGE}/{key.id}/rename", {"name": "Home computer"}, form_page=PAGE)
    assert renamed.status_code == 302
    assert "<strong>Home computer</strong>" in browser.get(PAGE).get_data(as_text=True)
    removed = browser.post(f"{PAGE}/{key.id}/remove", form_page=PAGE)
    assert removed.status_code == 302
    assert "None yet." in browser.get(PAGE).get_data(as_text=True)


def test_the_profile_links_the_page(browser: Console) -> None:
    assert f'href="{PAGE}"' in browser.get("/profile").get_data(as_text=True)


def test_the_script_requests_need_the_csrf_token(browser: Console) -> None:
    answer = post_json(browser, f"{PAGE}/options", {}, "not-a-token")
    assert answer.status_code == 400
    assert answer.json == {"error": "This page has expired. Reload it and try again."}


def test_a_bad_answer_is_a_json_refusal(browser: Console) -> None:
    token = script_token(browser)
    answer = post_json(browser, PAGE, {"credential": {"id": "x"}}, token)
    assert answer.status_code == 400
    assert "could not be read" in answer.json["error"]
    answer = browser.client.post(PAGE, data="[", headers={"X-CSRFToken": token})
    assert answer.status_code == 400
    assert answer.json == {"error": "The request must be a JSON object."}


def test_an_answer_from_another_origin_is_refused(browser: Console) -> None:
    answer = add(browser, SoftAuthenticator("http://evil.test"))
    assert answer.status_code == 400
    assert "not accepted" in answer.json["error"]


def test_another_persons_key_cannot_be_renamed_or_removed(
    app: Any, db: Database, browser: Console, me: User, make_user: Callable[..., User]
) -> None:
    add(browser, SoftAuthenticator(ORIGIN))
    with db.transaction(write=False) as tx:
        [key] = passkeys.list_for(tx, me)
    other = Console(app, db, make_user(None, "other.person"))
    token = other.form_token("/profile")
    answer = other.client.post(f"{PAGE}/{key.id}/remove", data={"csrf_token": token})
    assert answer.status_code == 404
    assert "No such passkey or security key." in answer.get_data(as_text=True)
    answer = other.client.post(
        f"{PAGE}/{key.id}/rename", data={"csrf_token": token, "name": "Mine"}
    )
    assert answer.status_code == 404
    with db.transaction(write=False) as tx:
        assert passkeys.has_any(tx, me)


def test_a_key_is_added_only_after_a_recent_sign_in(
    app: Any, db: Database, me: User, browser: Console
) -> None:
    token = script_token(browser)
    with db.transaction() as tx:
        tx.execute(update(SsoSession).values(auth_time=now() - timedelta(minutes=20)))
    page = browser.get(PAGE).get_data(as_text=True)
    assert "Sign in again to add a key" in page
    assert 'href="/signin?next=%2Fprofile%2Fsecurity%2Fpasskeys&amp;fresh=1"' in page
    assert "data-passkey-add" not in page
    answer = post_json(browser, f"{PAGE}/options", {}, token)
    assert answer.status_code == 403
    assert "sign in again" in answer.json["error"]


def test_nobody_signed_in_gets_a_json_refusal_or_the_sign_in_page(app: Any) -> None:
    client = app.test_client()
    assert client.get(PAGE).status_code == 302
    answer = client.post(f"{PAGE}/options", json={})
    assert answer.status_code == 403
    assert answer.json == {"error": "Your session has ended. Sign in again."}


def test_a_name_that_is_empty_or_too_long_is_refused_on_the_page(
    browser: Console, db: Database, me: User
) -> None:
    add(browser, SoftAuthenticator(ORIGIN), "Tablet")
    with db.transaction(write=False) as tx:
        [key] = passkeys.list_for(tx, me)
    for name, message in (("", "This field is required."), ("x" * 101, "longer than 100")):
        answer = browser.post(f"{PAGE}/{key.id}/rename", {"name": name}, form_page=PAGE)
        assert answer.status_code == 400
        assert message in answer.get_data(as_text=True)
    assert "<strong>Tablet</strong>" in browser.get(PAGE).get_data(as_text=True)


def test_adding_a_key_ends_the_persons_other_sessions(
    app: Any, browser: Console, db: Database, me: User
) -> None:
    """As a new authenticator app does: a session signed in with a stolen password must not
    outlive the key added against it. The browser the key was added in goes on."""
    theirs = Console(app, db, me)
    assert theirs.get("/profile").status_code == 200
    assert add(browser, SoftAuthenticator(ORIGIN)).status_code == 200
    assert browser.get(PAGE).status_code == 200
    assert theirs.get("/profile").status_code == 302
    with db.transaction(write=False) as tx:
        live = tx.scalars(
            select(SsoSession.id).where(SsoSession.user_id == me.id, SsoSession.ended_at.is_(None))
        ).all()
    assert len(live) == 1
