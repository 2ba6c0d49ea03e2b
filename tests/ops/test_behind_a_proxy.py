"""Behind a load balancer: with ROLLCALL_TRUSTED_PROXIES the issuer, cookies and rate limits see
the scheme, host and client address the proxy reports; without it those headers are ignored,
since anyone can send them."""

from __future__ import annotations

import pytest

from rollcall.app import create_app
from rollcall.settings import Settings, SettingsError
from store.db import Database

FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "id.example.com",
}


def client(db: Database, hops: int):
    return create_app(Settings(database_url=db.url, trusted_proxies=hops), db).test_client()


def test_the_issuer_follows_the_trusted_proxy(db: Database) -> None:
    behind = client(db, 1).get("/.well-known/openid-configuration", headers=FORWARDED).json
    assert behind["issuer"] == "https://id.example.com"
    assert behind["token_endpoint"] == "https://id.example.com/oauth/token"
    direct = client(db, 0).get("/.well-known/openid-configuration", headers=FORWARDED).json
    assert direct["issuer"] == "http://localhost"


def test_rate_limits_count_per_client_address(db: Database) -> None:
    """Sign-in allows 30 posts a minute per address: the proxy's clients are counted apart, not
    all as the proxy's one address."""
    app = client(db, 1)
    statuses = [
        app.post("/signin", data={"login": f"someone-{n}"}, headers=FORWARDED).status_code
        for n in range(31)
    ]
    assert statuses.count(429) == 1 and statuses[-1] == 429, statuses
    other = FORWARDED | {"X-Forwarded-For": "198.51.100.9"}
    assert app.post("/signin", data={"login": "someone"}, headers=other).status_code != 429


def test_the_sign_in_cookie_is_secure_when_the_proxy_speaks_https(
    db: Database, make_account, make_user
) -> None:
    """The person's address is the client's too: the list of signed-in browsers shows it."""
    make_user(make_account(), "proxied", password="Correct-Horse-Battery-9", email_verified=True)
    app = client(db, 1)
    page = app.get("/signin", headers=FORWARDED)
    token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    form = {"csrf_token": token, "login": "proxied", "password": "Correct-Horse-Battery-9"}
    signed_in = app.post("/signin", data=form, headers=FORWARDED)
    assert signed_in.status_code == 302
    assert "Secure" in signed_in.headers["Set-Cookie"]
    assert "203.0.113.7" in app.get("/profile/sessions", headers=FORWARDED).text


def test_the_number_of_proxies_is_checked() -> None:
    with pytest.raises(SettingsError, match="ROLLCALL_TRUSTED_PROXIES"):
        Settings.from_env({"ROLLCALL_TRUSTED_PROXIES": "many"})
    assert Settings.from_env({"ROLLCALL_TRUSTED_PROXIES": "2"}).trusted_proxies == 2
