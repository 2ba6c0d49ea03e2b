"""SSO session timeouts, signing-key rotation seen by relying parties, and the logout worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt as pyjwt
import requests
from sqlalchemy import update

from store import signing_keys, sso_sessions
from store.db import now
from store.models.sign_in import SsoSession
from tests.oidc import Browser, signed_in, tokens_for
from tests.serving import run


def age_sessions(provider: Any, **values: Any) -> None:
    with provider.db.transaction() as tx:
        tx.execute(update(SsoSession).values(**values))


def test_an_idle_session_ends(provider: Any) -> None:
    browser = signed_in(provider)
    assert "Your applications" in browser.get("/").text
    age_sessions(provider, last_seen_at=now() - sso_sessions.IDLE - timedelta(seconds=1))
    assert "Your applications" not in browser.get("/").text


def test_a_session_ends_at_its_maximum_even_when_used(provider: Any) -> None:
    browser = signed_in(provider)
    age_sessions(provider, expires_at=now() - timedelta(seconds=1))
    assert "Your applications" not in browser.get("/").text


def test_use_keeps_a_session_alive(provider: Any) -> None:
    browser = signed_in(provider)
    age_sessions(provider, last_seen_at=now() - sso_sessions.IDLE + timedelta(minutes=2))
    assert "Your applications" in browser.get("/").text  # touched now
    with provider.db.transaction(write=False) as tx:
        seen = tx.query(SsoSession).one().last_seen_at
    assert now() - seen < timedelta(minutes=1)


def test_login_hint_fills_in_the_username(provider: Any) -> None:
    rp = provider.first_party
    page = Browser(provider.base).follow(
        Browser(provider.base).get(rp.authorize_url(login_hint="ada@example.com"))
    )
    assert 'value="ada@example.com"' in page.text


def test_rotation_publishes_the_new_key_first_and_keeps_the_old_one(
    provider: Any, operator: Any
) -> None:
    before = tokens_for(provider, "openid")
    old_kid = pyjwt.get_unverified_header(before["id_token"])["kid"]
    with provider.db.transaction() as tx:
        new = signing_keys.rotate(tx, operator, delay=timedelta(hours=1))
    published = {k["kid"] for k in requests.get(f"{provider.base}/oauth/jwks").json()["keys"]}
    assert {old_kid, new.kid} <= published
    still_old = tokens_for(provider, "openid")  # the new key does not sign before its time
    assert pyjwt.get_unverified_header(still_old["id_token"])["kid"] == old_kid

    with provider.db.transaction() as tx:  # its time has come
        tx.get(type(new), new.kid).signs_from = now() - timedelta(seconds=1)
        for key in signing_keys.published(tx):
            if key.kid == old_kid:
                key.retired_at = now() - timedelta(seconds=1)
    signing_keys.forget()  # the hour went by in the database only, not on this process's clock
    after = tokens_for(provider, "openid")
    assert pyjwt.get_unverified_header(after["id_token"])["kid"] == new.kid
    published = {k["kid"] for k in requests.get(f"{provider.base}/oauth/jwks").json()["keys"]}
    assert old_kid in published  # tokens it signed are still verifiable


def test_logout_send_delivers_nothing_twice(provider: Any) -> None:
    result = run(provider.db.url, "logout", "send", "--once")
    assert result.returncode == 0, result.stderr
    assert "delivered 0 logout notice(s)" in result.stdout
