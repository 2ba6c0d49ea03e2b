"""The plain user reads answered before Flask (scim.fast_reads) answer exactly as the Flask views
do: the same status, headers and bytes; every other request is left to Flask."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import select

from rollcall.app import create_app
from rollcall.settings import Settings
from scim.fast_reads import FastReads
from store.models import ProvisioningCredential
from tests.scim.resources import ENTERPRISE
from tests.wsgi_layers import answered, environ, layer


def lookup(user_name: str) -> str:
    return "/scim/v2/Users?filter=" + quote(f'userName eq "{user_name}"')


def fast_and_full(app: Any, env: dict[str, Any]) -> tuple[Any, Any]:
    """What the fast path answers (None: it passes), and what Flask alone answers."""
    fast_reads: FastReads = layer(app, FastReads)
    response = fast_reads.answer(dict(env))
    fast = None if response is None else answered(response, env)
    return fast, answered(fast_reads.app, env)


def test_the_app_puts_the_fast_paths_in_front_of_flask(app):
    layers, found = [], app.wsgi_app
    while hasattr(found, "app"):
        layers.append(type(found).__name__)
        found = found.app
    assert layers == ["FastToken", "FastUserinfo", "FastCreate", "FastReads"]
    assert found == Flask.wsgi_app.__get__(app)  # then Flask itself


def test_get_by_id_answers_as_flask_does(served, scim, rich):
    env = environ(f"/scim/v2/Users/{rich}", scim.token)
    fast, full = fast_and_full(served, env)
    assert fast == full
    status, headers, body = fast
    assert status == "200 OK"
    assert ("Content-Type", "application/scim+json") in headers
    assert b'"userName":"Rich.Person"' in body and ENTERPRISE.encode() in body


def test_user_name_lookup_answers_as_flask_does(served, scim, rich):
    for user_name in ("rich.person", "nobody.here"):
        fast, full = fast_and_full(served, environ(lookup(user_name), scim.token))
        assert fast == full
        assert fast[0] == "200 OK"
    assert (
        b'"totalResults":1'
        in fast_and_full(served, environ(lookup("RICH.PERSON"), scim.token))[0][2]
    )


def test_a_lookup_reads_its_query_as_flask_does(app, scim, rich):
    """The first of repeated parameters, '+' as a space, escapes that are not UTF-8."""
    rich_one, other = quote('userName eq "Rich.Person"'), quote('userName eq "nobody"')
    for query in (
        f"filter={rich_one}&filter={other}",
        f"filter={other}&filter={rich_one}",
        "filter=userName+eq+%22Rich.Person%22&count=1",
        "filter=userName%20eq%20%22Rich.Person%ff%22",
    ):
        fast, full = fast_and_full(app, environ(f"/scim/v2/Users?{query}", scim.token))
        assert fast == full, query
        assert fast[0] == "200 OK"


def test_a_support_token_reads_any_account_as_flask_does(app, scim, rich, make_token):
    support = make_token(None, "support")
    for path in (f"/scim/v2/Users/{rich}", lookup("Rich.Person")):
        fast, full = fast_and_full(app, environ(path, support))
        assert fast == full and fast[0] == "200 OK"


def test_the_host_asked_for_is_the_base_of_locations(app, scim, rich):
    env = environ(f"/scim/v2/Users/{rich}", scim.token, Host="idp.example.org:8443")
    fast, full = fast_and_full(app, env)
    assert fast == full
    assert f"http://idp.example.org:8443/scim/v2/Users/{rich}".encode() in fast[2]


def test_a_configured_base_url_locates_resources_whatever_the_host(db, scim, rich):
    served = create_app(Settings(database_url=db.url, base_url="https://id.example.com"), db)
    for path in (f"/scim/v2/Users/{rich}", lookup("Rich.Person")):
        env = environ(path, scim.token, Host="attacker.example")
        fast, full = fast_and_full(served, env)
        assert fast == full
        assert f"https://id.example.com/scim/v2/Users/{rich}".encode() in fast[2]
        assert b"attacker.example" not in fast[2]


def test_a_read_records_when_the_token_was_last_used(app, db, scim, rich):
    with db.transaction() as tx:
        credential = tx.scalars(select(ProvisioningCredential)).one()
        credential.last_used_at = None
    assert layer(app, FastReads).answer(environ(f"/scim/v2/Users/{rich}", scim.token)) is not None
    with db.transaction() as tx:
        assert tx.scalars(select(ProvisioningCredential)).one().last_used_at is not None


@pytest.mark.parametrize(
    "case",
    [
        "unknown token",
        "access token",
        "no token",
        "basic credentials",
        "other account",
        "not an id",
        "unknown id",
        "projection",
        "if-none-match",
        "sorted lookup",
        "other filter",
        "deeper path",
        "post",
    ],
)
def test_everything_else_is_left_to_flask(
    case,
    app,
    scim,
    rich,
    make_account,
    make_token,
    make_user,
):
    user = f"/scim/v2/Users/{rich}"
    other = make_account(name="Other Co")
    stranger = make_user(other, "stranger")
    env = {
        "unknown token": lambda: environ(user, "rc_not-a-token"),
        "access token": lambda: environ(user, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"),
        "no token": lambda: environ(user, None),
        "basic credentials": lambda: environ(user, None, Authorization="Basic b2t0YTpzZWNyZXQ="),
        "other account": lambda: environ(f"/scim/v2/Users/{stranger.id}", scim.token),
        "not an id": lambda: environ("/scim/v2/Users/not-an-id", scim.token),
        "unknown id": lambda: environ(f"/scim/v2/Users/{uuid.uuid4()}", scim.token),
        "projection": lambda: environ(user + "?attributes=userName", scim.token),
        "if-none-match": lambda: environ(user, scim.token, **{"If-None-Match": 'W/"1"'}),
        "sorted lookup": lambda: environ(lookup("Rich.Person") + "&sortBy=userName", scim.token),
        "other filter": lambda: environ(
            "/scim/v2/Users?filter=" + quote('userName sw "Rich"'), scim.token
        ),
        "deeper path": lambda: environ(user + "/extra", scim.token),
        "post": lambda: environ("/scim/v2/Users", scim.token, method="POST"),
    }[case]()
    fast, full = fast_and_full(app, env)
    assert fast is None
    # ...and what the client gets through the whole app is Flask's answer.
    assert answered(app, env) == full
    expected = {
        "unknown token": "401",
        "access token": "401",
        "no token": "401",
        "basic credentials": "401",
        "other account": "404",
        "not an id": "404",
        "unknown id": "404",
        "post": "400",
    }
    assert full[0].split()[0] == expected.get(case, full[0].split()[0])
    assert full[0].startswith(("200", "304", "400", "401", "404"))
