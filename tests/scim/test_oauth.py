"""SCIM with OAuth access tokens from Rollcall's own token endpoint (SPEC §3 Credentials)."""

from __future__ import annotations

from typing import Any

import requests

from tests.oidc import tokens_for

SCIM = "/scim/v2"


def scim(provider: Any, token: str, method: str, path: str, body: Any = None) -> Any:
    return requests.request(
        method,
        f"{provider.base}{SCIM}{path}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
        json=body,
        timeout=10,
    )


def machine_token(provider: Any) -> str:
    response = provider.machine.token(grant_type="client_credentials", scope="scim")
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_client_credentials_token_manages_its_account(
    provider: Any, make_account: Any, make_user: Any
) -> None:
    token = machine_token(provider)
    listed = scim(provider, token, "GET", '/Users?filter=userName eq "ada"')
    assert listed.status_code == 200 and listed.json()["totalResults"] == 1
    stranger = make_user(make_account(), "stranger")
    assert scim(provider, token, "GET", f"/Users/{stranger.id}").status_code == 404
    created = scim(
        provider,
        token,
        "POST",
        "/Users",
        {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "via.oauth"},
    )
    assert created.status_code == 201, created.text


def test_revoked_client_token_is_refused_at_once(provider: Any) -> None:
    token = machine_token(provider)
    assert scim(provider, token, "GET", "/Users").status_code == 200
    provider.machine.revoke(token)
    refused = scim(provider, token, "GET", "/Users")
    assert refused.status_code == 401
    assert refused.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_a_persons_token_reads_me_and_nothing_else(provider: Any) -> None:
    token = tokens_for(provider, "openid profile")["access_token"]
    me = scim(provider, token, "GET", "/Me")
    assert me.status_code == 200, me.text
    assert me.json()["userName"] == "ada" and me.json()["id"] == str(provider.ada.id)
    assert scim(provider, token, "GET", "/Users").status_code == 403
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Countess"}],
    }
    assert scim(provider, token, "PATCH", "/Me", patch).status_code == 403  # needs scope scim
