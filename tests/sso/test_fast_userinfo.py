"""Plain userinfo requests answered before Flask (sso.fast_userinfo) get exactly Flask's answer:
the same status, headers and bytes; every other request is left to Flask."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from rollcall.app import create_app
from rollcall.settings import Settings
from sso.fast_userinfo import FastUserinfo
from tests.oidc import tokens_for
from tests.wsgi_layers import answered, layer


def environ(token: str | None, method: str = "GET", query: str = "", **headers: str) -> dict:
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return EnvironBuilder(
        path="/oauth/userinfo", method=method, query_string=query, headers=headers
    ).get_environ()


def fast_and_full(app: Any, env: dict[str, Any]) -> tuple[Any, Any]:
    """What the fast path answers (None: it passes), and what the app without it answers."""
    fast_userinfo: FastUserinfo = layer(app, FastUserinfo)
    response = fast_userinfo.answer(dict(env))
    fast = None if response is None else answered(response, env)
    return fast, answered(fast_userinfo.app, env)


@pytest.mark.parametrize("environment", ["development", "production"])
def test_userinfo_answers_as_flask_does(provider, db, environment):
    served = create_app(Settings(database_url=db.url, environment=environment), db)
    for scope in ("openid", "openid profile", "openid email phone", "openid profile email phone"):
        token = tokens_for(provider, scope)["access_token"]
        fast, full = fast_and_full(served, environ(token))
        assert fast == full
        assert fast[0] == "200 OK" and ("Cache-Control", "no-store") in fast[1]
        assert b'"sub":' in fast[2]


@pytest.mark.parametrize(
    "case",
    [
        "community scope",
        "revoked",
        "client credentials",
        "unknown",
        "no token",
        "post",
        "cross-origin",
        "query string",
    ],
)
def test_everything_else_is_left_to_flask(case, app, provider):
    token = tokens_for(
        provider, "openid profile community" if case == "community scope" else "openid"
    )
    access = token["access_token"]
    if case == "revoked":
        assert provider.first_party.revoke(access).status_code == 200
    if case == "client credentials":
        machine = provider.machine.token(grant_type="client_credentials", scope="scim")
        access = machine.json()["access_token"]
    env = {
        "community scope": lambda: environ(access),
        "revoked": lambda: environ(access),
        "client credentials": lambda: environ(access),
        "unknown": lambda: environ("not-a-token"),
        "no token": lambda: environ(None),
        "post": lambda: environ(access, method="POST"),
        "cross-origin": lambda: environ(access, Origin="https://app.example"),
        "query string": lambda: environ(access, query="x=1"),
    }[case]()
    fast, full = fast_and_full(app, env)
    assert fast is None
    assert answered(app, env) == full  # what the client gets through the whole app
    expected = {"revoked": "401", "client credentials": "401", "unknown": "401", "no token": "401"}
    assert full[0].split()[0] == expected.get(case, "200")
