"""Client-credentials grants answered before Flask (sso.fast_token) get Flask's answer: the same
status, headers and JSON but for the new token itself, which works as Flask's does; every other
token request is left to Flask, with its body intact."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.test import EnvironBuilder

from rollcall.app import create_app
from rollcall.settings import Settings
from sso.fast_token import FastToken
from store.db import now
from store.models import OAuthClient
from tests.wsgi_layers import answered, layer

FORM = "application/x-www-form-urlencoded"

Environ = Callable[[], dict[str, Any]]


def request(
    credentials: tuple[str, str] | None,
    body: str | list[tuple[str, str]],
    content_type: str = FORM,
    query: str = "",
    **headers: str,
) -> Environ:
    """A token request, made afresh for each reader (the body is a stream read once)."""
    if credentials is not None:
        pair = ":".join(credentials).encode()
        headers.setdefault("Authorization", "Basic " + base64.b64encode(pair).decode())
    data = body if isinstance(body, str) else urlencode(body)

    def make() -> dict[str, Any]:
        return EnvironBuilder(
            path="/oauth/token",
            method="POST",
            query_string=query,
            headers=headers,
            data=data.encode(),
            content_type=content_type,
        ).get_environ()

    return make


def fast_and_full(app: Any, make: Environ) -> tuple[Any, Any]:
    """What the fast path answers (None: it passes), and what the app without it answers."""
    fast_token: FastToken = layer(app, FastToken)
    env = make()
    response = fast_token.answer(env)
    fast = None if response is None else answered(response, env)
    return fast, answered(fast_token.app, make())


def without_token(answer: tuple[str, list, bytes]) -> tuple[str, list, bytes, str | None]:
    """The answer with its new access token taken out (each grant makes a new one)."""
    status, headers, body = answer
    token = json.loads(body).get("access_token") if status.startswith("200") else None
    return status, headers, body.replace(token.encode(), b"T") if token else body, token


def machine(provider: Any) -> tuple[str, str]:
    return provider.machine.client_id, provider.machine.client_secret


def reaches_scim(app: Any, token: str) -> bool:
    env = EnvironBuilder(
        path="/scim/v2/Users", headers={"Authorization": f"Bearer {token}"}
    ).get_environ()
    found = answered(app, env)
    return found[0] == "200 OK"


@pytest.mark.parametrize("environment", ["development", "production"])
def test_a_plain_grant_answers_as_flask_does(provider, db, environment):
    served = create_app(Settings(database_url=db.url, environment=environment), db)
    bodies = (
        [("grant_type", "client_credentials"), ("scope", "scim")],
        [("scope", "scim"), ("grant_type", "client_credentials")],
        [("grant_type", "client_credentials")],
    )
    sent = [request(machine(provider), body) for body in bodies]
    with_charset = f"{FORM}; charset=UTF-8"
    sent.append(request(machine(provider), bodies[0], content_type=with_charset))
    for body, make in zip([*bodies, bodies[0]], sent, strict=True):
        fast, full = fast_and_full(served, make)
        assert fast is not None
        *fast_answer, fast_token = without_token(fast)
        *full_answer, full_token = without_token(full)
        assert fast_answer == full_answer
        assert fast[0] == "200 OK" and ("Pragma", "no-cache") in fast[1]
        assert fast_token != full_token and len(fast_token) == len(full_token)
        described = [provider.first_party.introspect(t) for t in (fast_token, full_token)]
        assert described[0]["active"] and described[0]["account_id"] == str(provider.account.id)
        for found in described:
            found.pop("iat"), found.pop("exp")
        assert described[0] == described[1]
        if dict(body).get("scope") == "scim":
            assert reaches_scim(served, fast_token) and reaches_scim(served, full_token)


def test_the_token_from_the_fast_path_is_revoked_with_the_rest(app, provider):
    fast, _ = fast_and_full(app, request(machine(provider), "grant_type=client_credentials"))
    token = json.loads(fast[2])["access_token"]
    assert provider.machine.revoke(token).status_code == 200
    assert provider.first_party.introspect(token) == {"active": False}


CASES: dict[str, tuple[Callable[[Any], Environ], str]] = {
    # what is sent, and the status Flask answers it with
    "wrong secret": (
        lambda p: request((p.machine.client_id, "wrong"), "grant_type=client_credentials"),
        "401",
    ),
    "unknown client": (
        lambda p: request(("nobody", "secret"), "grant_type=client_credentials"),
        "401",
    ),
    "no credentials": (lambda p: request(None, "grant_type=client_credentials"), "401"),
    "secret in the body": (
        lambda p: request(
            None,
            [
                ("grant_type", "client_credentials"),
                ("client_id", p.machine.client_id),
                ("client_secret", p.machine.client_secret),
            ],
        ),
        "200",
    ),
    "a scope not registered": (
        lambda p: request(machine(p), "grant_type=client_credentials&scope=scim+openid"),
        "400",
    ),
    "a client without the grant": (
        lambda p: request(
            (p.first_party.client_id, p.first_party.client_secret),
            "grant_type=client_credentials&scope=scim",
        ),
        "400",
    ),
    "revoked client": (lambda p: request(machine(p), "grant_type=client_credentials"), "401"),
    "another grant": (
        lambda p: request(machine(p), "grant_type=refresh_token&refresh_token=x"),
        "400",
    ),
    "another field": (lambda p: request(machine(p), "grant_type=client_credentials&x=1"), "200"),
    "a field twice": (
        lambda p: request(machine(p), "grant_type=client_credentials&scope=scim&scope=scim"),
        "200",
    ),
    "another charset": (
        lambda p: request(machine(p), "grant_type=client_credentials", f"{FORM}; charset=latin-1"),
        "200",
    ),
    "JSON": (
        lambda p: request(machine(p), '{"grant_type": "client_credentials"}', "application/json"),
        "400",
    ),
    "query string": (
        lambda p: request(machine(p), "grant_type=client_credentials", query="x=1"),
        "200",
    ),
    "cross-origin": (
        lambda p: request(
            machine(p), "grant_type=client_credentials", Origin="https://app.example"
        ),
        "200",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_everything_else_is_left_to_flask(case, app, db, provider):
    if case == "revoked client":
        with db.transaction() as tx:
            client = tx.query(OAuthClient).filter_by(client_id=provider.machine.client_id).one()
            client.revoked_at = now()
    sent, status = CASES[case]
    make = sent(provider)
    fast, full = fast_and_full(app, make)
    assert fast is None
    assert full[0].split()[0] == status, full  # Flask read the body the fast path put back
    through_the_app = answered(app, make())
    assert without_token(through_the_app)[:3] == without_token(full)[:3]


def test_a_request_without_a_length_is_left_unread(app, provider):
    make = request(machine(provider), "grant_type=client_credentials")

    def chunked() -> dict[str, Any]:
        env = make()
        del env["CONTENT_LENGTH"]
        env["wsgi.input_terminated"] = True
        return env

    fast, full = fast_and_full(app, chunked)
    assert fast is None
    assert full[0] == "200 OK"  # Flask read the whole body itself


@pytest.mark.parametrize("declared", ["+29", "2_9", " 29", "chunked"])
def test_a_length_not_plainly_given_is_left_unread(app, provider, declared):
    """Werkzeug reads `+29` as no length and a chunked body as none: Flask decides, not the
    fast path (rollcall.answers.read_body)."""
    make = request(machine(provider), "grant_type=client_credentials")

    def odd() -> dict[str, Any]:
        env = make()
        if declared == "chunked":
            env["HTTP_TRANSFER_ENCODING"] = "chunked"
        else:
            env["CONTENT_LENGTH"] = declared.replace("29", env["CONTENT_LENGTH"])
        return env

    fast, _full = fast_and_full(app, odd)
    assert fast is None
