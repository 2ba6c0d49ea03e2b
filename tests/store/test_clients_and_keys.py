"""OAuth clients (the linked applications) and the signing keys, ahead of the OIDC provider."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from store import clients, signing_keys
from store.db import now
from store.errors import Forbidden, InvalidInput
from store.models.sign_in import OAuthClient, SigningKey
from tests.serving import run


def test_a_confidential_client_keeps_only_a_digest_of_its_secret(db, operator):
    with db.transaction() as tx:
        client, secret = clients.create_client(
            tx,
            operator,
            name="ICD-10",
            redirect_uris=["https://icd10.example/cb"],
            scopes=["openid", "community", "offline_access"],
            first_party=True,
        )
    assert secret and len(secret) >= 40
    with db.transaction(write=False) as tx:
        stored = tx.scalar(select(OAuthClient))
        assert secret not in (stored.secret_hash, stored.client_id)
        found = clients.find_client(tx, client.client_id)
    assert clients.check_secret(found, secret)
    assert not clients.check_secret(found, secret + "x")
    assert found.grant_types == ["authorization_code", "refresh_token"]
    assert found.token_endpoint_auth_method == "client_secret_basic"


def test_a_public_client_has_no_secret_and_cannot_check_one(db, operator):
    with db.transaction() as tx:
        client, secret = clients.create_client(
            tx, operator, name="SPA", public=True, redirect_uris=["http://127.0.0.1:5001/cb"]
        )
    assert secret is None and client.public
    assert not clients.check_secret(client, "")


@pytest.mark.parametrize(
    ("redirect", "reason"),
    [
        ("http://app.example/cb", "https"),
        ("https://app.example/cb#frag", "fragment"),
        ("/relative/cb", "absolute"),
        ("javascript:alert(1)", "absolute"),
    ],
)
def test_redirect_uris_must_be_exact_safe_absolute_uris(db, operator, redirect, reason):
    with db.transaction() as tx, pytest.raises(InvalidInput, match=reason):
        clients.create_client(tx, operator, name="Bad", redirect_uris=[redirect])


def test_the_scim_scope_needs_a_confidential_client_bound_to_an_account(db, operator, make_account):
    with db.transaction() as tx, pytest.raises(InvalidInput, match="bound to an account"):
        clients.create_client(tx, operator, name="Sync", scopes=["scim"])
    account = make_account()
    with db.transaction() as tx:
        client, secret = clients.create_client(
            tx, operator, name="Sync", scopes=["scim"], account=account
        )
    assert client.grant_types == ["client_credentials"] and secret


def test_only_support_registers_clients(db, enterprise):
    with db.transaction() as tx, pytest.raises(Forbidden):
        clients.create_client(
            tx, enterprise.actor, name="Mine", redirect_uris=["https://x.example/cb"]
        )


def test_rotation_publishes_the_new_key_before_it_signs(db, operator):
    with db.transaction() as tx:
        first = signing_keys.ensure_current(tx, operator)
        assert signing_keys.ensure_current(tx, operator).kid == first.kid
    with db.transaction() as tx:
        new = signing_keys.rotate(tx, operator, delay=timedelta(hours=1))
    with db.transaction(write=False) as tx:
        assert signing_keys.current(tx).kid == first.kid
        assert signing_keys.current(tx, at=now() + timedelta(hours=2)).kid == new.kid
        published = [k["kid"] for k in signing_keys.jwks(tx)["keys"]]
        old = tx.get(SigningKey, first.kid)
    assert published == [first.kid, new.kid]
    assert old.published_until == new.signs_from + signing_keys.MAX_SIGNED_LIFETIME
    with db.transaction(write=False) as tx:
        assert all("d" not in k for k in signing_keys.jwks(tx)["keys"])
        assert signing_keys.private_key(old).kid == first.kid


def test_a_process_signs_with_the_upcoming_key_from_its_moment(db, operator):
    """The key a process remembers is good only until an upcoming key's signs_from, even when
    another process (here: a row written directly) scheduled that key."""
    with db.transaction() as tx:
        first = signing_keys.ensure_current(tx, operator)
        upcoming = signing_keys.generate(signs_from=now() + timedelta(seconds=1))
        tx.add(upcoming)
        tx.get(SigningKey, first.kid).retired_at = upcoming.signs_from
    with db.transaction() as tx:
        assert signing_keys.signing_key(tx, operator).kid == first.kid
    time.sleep(1.1)
    with db.transaction() as tx:
        assert signing_keys.signing_key(tx, operator).kid == upcoming.kid


def test_cli_registers_a_client_and_rotates_keys(db, database_url):
    result = run(
        database_url,
        "client",
        "create",
        "--name",
        "NG Share",
        "--redirect-uri",
        "https://share.example/cb",
        "--scope",
        "openid",
        "--scope",
        "community",
        "--first-party",
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert set(lines) == {"client_id", "client_secret"}
    refused = run(
        database_url, "client", "create", "--name", "X", "--redirect-uri", "http://evil.example/cb"
    )
    assert refused.returncode == 1 and "https" in refused.stderr
    rotated = run(database_url, "keys", "rotate", "--delay-minutes", "0")
    assert rotated.returncode == 0 and rotated.stdout.startswith("new key ")
    listed = run(database_url, "keys", "list")
    assert rotated.stdout.split()[2] in listed.stdout


def test_cli_registers_a_resource_server(db, database_url):
    """An API that introspects access tokens: confidential, and needs no redirect URI."""
    result = run(database_url, "client", "create", "--name", "Claims API", "--resource-server")
    assert result.returncode == 0, result.stderr
    assert "client_secret: " in result.stdout
    assert "confidential, resource server" in run(database_url, "client", "list").stdout
    public = run(database_url, "client", "create", "--name", "Y", "--resource-server", "--public")
    assert public.returncode == 1 and "must be confidential" in public.stderr
