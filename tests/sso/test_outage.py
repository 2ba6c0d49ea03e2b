"""A database outage at the OpenID Provider: its endpoints answer OAuth's error JSON with 503 and
`Retry-After`, its pages (sign-in, the authorization endpoint) the site's page saying to try
again; none answers a 500. On PostgreSQL: the tests cut a proxy to it."""

from __future__ import annotations

from typing import Any

import pytest

from store import clients
from store.actors import Actor


@pytest.fixture
def machine(db: Any, operator: Actor, enterprise: Any) -> tuple[str, str]:
    """A client with client credentials (id, secret), registered while the database is up."""
    with db.transaction() as tx:
        client, secret = clients.create_client(
            tx, operator, name="Acme provisioning", scopes=["scim"], account=enterprise.account
        )
    return client.client_id, secret


def assert_oauth_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert "cannot reach its database" in response.get_json()["error_description"]


def assert_page_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "5"
    assert "Try again in a moment" in response.get_data(as_text=True)


def test_the_oauth_endpoints_answer_a_503_to_retry(
    app_via_proxy: Any, proxy: Any, machine: tuple[str, str]
) -> None:
    client = app_via_proxy.test_client()
    proxy.cut()
    token = {"grant_type": "client_credentials", "scope": "scim"}
    assert_oauth_unavailable(client.post("/oauth/token", data=token, auth=machine))
    browser_app = {"Origin": "https://spa.example.com"}  # its origin cannot be checked either
    assert_oauth_unavailable(
        client.post("/oauth/token", data=token, auth=machine, headers=browser_app)
    )
    assert_oauth_unavailable(client.get("/oauth/jwks"))
    bearer = {"Authorization": "Bearer some-access-token"}
    assert_oauth_unavailable(client.get("/oauth/userinfo", headers=bearer))
    assert_oauth_unavailable(client.post("/oauth/revoke", data={"token": "x"}, auth=machine))
    assert_oauth_unavailable(client.post("/oauth/introspect", data={"token": "x"}, auth=machine))
    proxy.restore()
    for _ in range(4):  # each pooled connection the cut ended fails one request
        issued = client.post("/oauth/token", data=token, auth=machine)
        if issued.status_code != 503:
            break
    assert issued.status_code == 200, issued.get_data(as_text=True)


def test_the_sign_in_pages_answer_the_sites_page(
    app_via_proxy: Any, proxy: Any, machine: tuple[str, str]
) -> None:
    client = app_via_proxy.test_client()
    client.set_cookie("rollcall_sso", "a-session-token")  # whose, only the database knows
    proxy.cut()
    assert_page_unavailable(client.get("/signin"))
    assert_page_unavailable(client.get("/"))
    authorize = "/oauth/authorize?response_type=code&client_id=c&redirect_uri=https://a.test/cb"
    assert_page_unavailable(client.get(authorize))
