"""Rollcall served by gunicorn (`rollcall serve --workers 1`), as in production: no answer is
gunicorn's HTML page. A GET whose filter is too long for a request line gets a SCIM error that
says to POST it; a database outage gets each door's 503, also from a connection that dropped."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.outage import Proxy
from tests.serving import served

pytestmark = pytest.mark.slow  # gunicorn started as a process

SCIM = "application/scim+json"


def terms(count: int) -> str:
    return " or ".join(f'userName eq "someone.{n:04d}@example.com"' for n in range(count))


@pytest.fixture
def gunicorn(proxy: Proxy, tmp_path: Any) -> Any:
    with served(proxy.url, tmp_path, "--workers", "1") as base:
        yield base


@pytest.fixture
def token(enterprise: Any, make_token: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(enterprise.account)}"}


def test_a_filter_too_long_for_a_request_line_is_told_to_use_search(
    gunicorn: str, token: dict[str, str]
) -> None:
    users = f"{gunicorn}/scim/v2/Users"
    longest = requests.get(users, params={"filter": terms(500)}, headers=token, timeout=30)
    assert len(longest.request.url or "") > 8190
    assert longest.status_code == 414 and longest.headers["Content-Type"] == SCIM
    assert "POST /scim/v2/Users/.search" in longest.json()["detail"]
    # Past gunicorn's default limit (4094 bytes) but not past Rollcall's: SCIM's own answer.
    long = requests.get(users, params={"filter": terms(150)}, headers=token, timeout=30)
    assert 4094 < len(long.request.url or "") < 8190
    assert long.status_code == 400 and long.json()["scimType"] == "tooMany"


def asks(base: str, user_id: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(door, method, URL, options) of requests reaching the database by each way in."""
    user = f"{base}/scim/v2/Users/{user_id}"
    title = {"Operations": [{"op": "replace", "path": "title", "value": "Dr"}]}
    machine = {"grant_type": "client_credentials", "scope": "scim"}
    return [
        ("scim", "GET", user, {}),  # plain: the dispatcher's
        ("scim", "GET", f"{base}/scim/v2/Groups", {}),  # Flask's, with its read session
        ("scim", "POST", f"{base}/scim/v2/Users", {"json": {"userName": "new.user"}}),
        ("scim", "PATCH", user, {"json": title}),
        ("oauth", "POST", f"{base}/oauth/token", {"data": machine, "auth": ("acme", "s")}),
        ("oauth", "GET", f"{base}/oauth/userinfo", {"headers": {"Authorization": "Bearer x"}}),
        ("oauth", "GET", f"{base}/oauth/jwks", {}),
        ("page", "GET", f"{base}/profile", {"cookies": {"rollcall_sso": "x"}}),
    ]


def ask(token: dict[str, str], door: str, method: str, url: str, options: dict[str, Any]) -> Any:
    options = {"headers": token if door == "scim" else {}} | options
    return requests.request(method, url, timeout=30, allow_redirects=False, **options)


def assert_unavailable(door: str, answer: requests.Response) -> None:
    assert answer.status_code == 503, (answer.url, answer.text)
    assert answer.headers["Retry-After"] == "5"
    if door == "scim":
        assert answer.headers["Content-Type"] == SCIM and answer.json()["status"] == "503"
    elif door == "oauth":
        assert answer.json()["error"] == "temporarily_unavailable"
    else:
        assert "Try again in a moment" in answer.text


def test_an_outage_is_answered_503_by_each_door(
    gunicorn: str, proxy: Proxy, token: dict[str, str], enterprise: Any
) -> None:
    requests_made = asks(gunicorn, enterprise.main.id)
    proxy.cut()
    for door, *request in requests_made:
        assert_unavailable(door, ask(token, door, *request))
    # Connections the database dropped (a restart): each request meeting one is refused with
    # its door's 503, never with gunicorn's page for an error after the answer was made.
    proxy.restore()
    for door, *request in requests_made:
        ask(token, door, *request)  # connections pooled again
    proxy.drop()
    for door, *request in requests_made:
        answer = ask(token, door, *request)
        if answer.status_code >= 500:
            assert_unavailable(door, answer)
