"""Input no database stores, and redirects no header can carry, answered as the OpenID Provider's
errors (OAuth JSON, or its error page), never as a server fault, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
import requests

from tests.oidc import PASSWORD

BASIC_NUL = "Basic " + base64.b64encode(b"client\x00:secret").decode()


def csrf(page: requests.Response) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def test_a_next_with_control_characters_goes_home_after_sign_in(provider: Any) -> None:
    """`/signin?next=/%0d%0aX:y` would break the Location header: it is not followed."""
    session = requests.Session()
    page = session.get(f"{provider.base}/signin?next=/%0d%0aX:y")
    assert page.status_code == 200
    signed_in = session.post(
        f"{provider.base}/signin?next=/%0d%0aX:y",
        data={"csrf_token": csrf(page), "login": "ada", "password": PASSWORD},
        allow_redirects=False,
    )
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"] in ("/", f"{provider.base}/")
    assert "X" not in signed_in.headers


def test_a_nul_in_the_sign_in_form_is_a_page_saying_so(provider: Any) -> None:
    session = requests.Session()
    page = session.get(f"{provider.base}/signin")
    refused = session.post(
        f"{provider.base}/signin",
        data={"csrf_token": csrf(page), "login": "ada\x00", "password": PASSWORD},
    )
    assert refused.status_code == 400
    assert "cannot be read" in refused.text


@pytest.mark.parametrize(
    "send",
    [
        lambda base, rp: requests.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "x"},
        ),
        lambda base, rp: requests.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": BASIC_NUL},
        ),
        lambda base, rp: requests.post(
            f"{base}/oauth/introspect", data={"token": "x"}, headers={"Authorization": BASIC_NUL}
        ),
        lambda base, rp: requests.post(
            f"{base}/oauth/revoke", data={"token": "x\x00", "client_id": rp.client_id}
        ),
    ],
    ids=["token-client-id", "token-basic", "introspect-basic", "revoke-token"],
)
def test_a_nul_at_an_oauth_endpoint_is_invalid_request(provider: Any, send: Any) -> None:
    answer = send(provider.base, provider.first_party)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize("params", [{"client_id": "a\x00"}, {"nonce": "n\x00"}])
def test_a_nul_in_an_authorization_request_is_an_error_page(provider: Any, params: Any) -> None:
    rp = provider.first_party
    url = rp.authorize_url(**{k: v for k, v in params.items() if k != "client_id"})
    if "client_id" in params:
        url = url.replace(f"client_id={rp.client_id}", "client_id=a%00")
    answer = requests.get(url, allow_redirects=False)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/html")
