"""Refresh tokens (rotation, reuse detection), client credentials, revocation and introspection."""

from __future__ import annotations

import time
from typing import Any

import jwt as pyjwt
import requests

from sso import claims
from store import clients, outbox, registration, users
from tests.oidc import RelyingParty, code_for, signed_in, tokens_for


def test_refresh_rotates_and_a_reused_token_revokes_the_family(provider: Any) -> None:
    rp = provider.first_party
    first = tokens_for(provider)
    second = rp.refresh(first["refresh_token"])
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["id_token"] and rp.userinfo(second["access_token"]).status_code == 200

    reused = rp.refresh(first["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # The stolen token's whole family is gone: the newest refresh and access tokens too.
    assert rp.refresh(second["refresh_token"]).status_code == 400
    assert rp.introspect(second["access_token"])["active"] is False


def test_a_refresh_after_access_was_removed_is_an_invalid_grant(
    provider: Any, operator: Any
) -> None:
    """RFC 6749 §5.2: the grant is no longer valid, so the client signs the person in again
    (Authlib's own answer, invalid_request, would tell it that its request was malformed)."""
    rp = provider.first_party
    tokens = tokens_for(provider)
    with provider.db.transaction() as tx:
        users.revoke_application(tx, operator, provider.ada.id, "icd10")
    refused = rp.refresh(tokens["refresh_token"])
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
    assert "access" in refused.json()["error_description"]


def test_no_refresh_token_without_offline_access(provider: Any) -> None:
    tokens = tokens_for(provider, "openid email")
    assert "refresh_token" not in tokens


def test_refresh_token_belongs_to_its_client(provider: Any) -> None:
    tokens = tokens_for(provider)
    other = provider.community.refresh(tokens["refresh_token"])
    assert other.status_code == 400  # unauthorized_client or invalid_grant, never tokens
    assert "access_token" not in other.json()


def test_revoking_a_refresh_token_revokes_its_access_tokens(provider: Any) -> None:
    rp = provider.first_party
    tokens = tokens_for(provider)
    assert rp.revoke(tokens["refresh_token"], "refresh_token").status_code == 200
    assert rp.introspect(tokens["access_token"])["active"] is False
    assert rp.refresh(tokens["refresh_token"]).status_code == 400
    assert rp.revoke("never-issued").status_code == 200  # RFC 7009 §2.2


def test_introspection_describes_a_live_token(provider: Any) -> None:
    rp = provider.first_party
    tokens = tokens_for(provider, "openid email offline_access")
    found = rp.introspect(tokens["access_token"])
    assert found["active"] is True
    assert found["client_id"] == rp.client_id and found["sub"] == str(provider.ada.id)
    assert found["username"] == "ada" and "email" in found["scope"].split()
    assert found["token_type"] == "Bearer"
    refresh = rp.introspect(tokens["refresh_token"])
    assert refresh["active"] is True
    assert "token_type" not in refresh  # RFC 7662 §2.2: only types of RFC 6749 §7.1
    assert rp.introspect("garbage")["active"] is False


def test_a_token_request_without_grant_type_is_an_invalid_request(provider: Any) -> None:
    """RFC 6749 §5.2: a required parameter is missing (not an unsupported grant type)."""
    rp = provider.first_party
    answer = requests.post(
        f"{provider.base}/oauth/token",
        data={"code": "x"},
        auth=(rp.client_id, rp.client_secret),
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_introspection_needs_client_authentication(provider: Any) -> None:
    tokens = tokens_for(provider)
    anonymous = requests.post(
        f"{provider.base}/oauth/introspect", data={"token": tokens["access_token"]}, timeout=10
    )
    assert anonymous.status_code == 401
    public = requests.post(
        f"{provider.base}/oauth/introspect",
        data={"token": tokens["access_token"], "client_id": provider.community.client_id},
        timeout=10,
    )
    assert public.status_code == 401


def test_introspection_is_for_the_token_audience_and_resource_servers(
    provider: Any, operator: Any
) -> None:
    """The probe: any confidential client could introspect anyone's token and learn whose it
    is. Now only the client a token was issued to, and clients registered as resource servers
    (for access tokens), are told; anyone else hears what a dead token says."""
    tokens = tokens_for(provider, "openid email offline_access")
    with provider.db.transaction() as tx:
        api, api_secret = clients.create_client(
            tx, operator, name="Claims API", resource_server=True
        )
    resource_server = RelyingParty(provider.base, api.client_id, api_secret, "")
    stranger = provider.machine  # confidential, but the token was not issued to it

    assert stranger.introspect(tokens["access_token"]) == {"active": False}
    assert stranger.introspect(tokens["refresh_token"]) == {"active": False}
    described = resource_server.introspect(tokens["access_token"])
    assert described["active"] is True and described["username"] == "ada"
    assert described["aud"] == provider.first_party.client_id
    assert resource_server.introspect(tokens["refresh_token"]) == {"active": False}
    assert provider.first_party.introspect(tokens["refresh_token"])["active"] is True


def test_client_credentials_give_a_scim_token_for_the_bound_account(provider: Any) -> None:
    machine = provider.machine
    response = machine.token(grant_type="client_credentials", scope="scim")
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["scope"] == "scim" and "refresh_token" not in token
    assert token["token_type"] == "Bearer" and token["expires_in"] == 600
    assert token["access_token"].count(".") == 0  # opaque: read by Rollcall's SCIM API alone
    described = machine.introspect(token["access_token"])
    assert described["active"] and described["client_id"] == machine.client_id
    assert described["sub"] == machine.client_id and described["scope"] == "scim"
    assert described["account_id"] == str(provider.account.id)


def test_a_client_without_an_account_gets_no_scim_scope(provider: Any) -> None:
    rp = provider.first_party  # signs people in; registered without scim and without account
    response = rp.token(grant_type="client_credentials", scope="scim")
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_scope")


def test_client_credentials_refuse_scopes_the_client_was_not_given(provider: Any) -> None:
    response = provider.machine.token(grant_type="client_credentials", scope="scim openid")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_userinfo_says_what_the_claims_of_the_whole_user_say(provider: Any, operator: Any) -> None:
    """Userinfo reads the standard claims in one statement; they match the full user's claims."""
    changes = {
        "emails": [
            {"value": "ada.old@example.com", "type": "home"},
            {"value": "ada.work@example.com", "type": "work", "primary": True},
        ],
        "phone_numbers": [
            {"value": "+1 555 0100", "type": "work"},
            {"value": "+1 555 0199", "type": "mobile", "primary": True},
        ],
        "display_name": "Countess Lovelace",
        "locale": "en-GB",
    }
    with provider.db.transaction() as tx:
        users.update_user(tx, operator, provider.ada.id, changes)
        [confirm] = [m for m in outbox.pending(tx) if m.payload["template"] == "confirm_new_email"]
    with provider.db.transaction() as tx:  # Ada follows the link to her new address
        registration.verify_email(tx, confirm.payload["link"].removeprefix("/verify/"))
    for scope in ("openid", "openid profile", "openid email phone", "openid profile email phone"):
        info = provider.first_party.userinfo(tokens_for(provider, scope)["access_token"])
        assert info.status_code == 200, info.text
        with provider.db.transaction(write=False) as tx:
            user = users.active_user(tx, provider.ada.id, details=True)
            expected = claims.claims_for(tx, user, set(scope.split()))
        assert info.json() == expected
    assert expected["email"] == "ada.work@example.com"
    assert expected["phone_number"] == "+1 555 0199"  # the primary one, as for the email
    assert expected["name"] == "Countess Lovelace" and expected["locale"] == "en-GB"


def test_a_refreshed_id_token_keeps_the_original_sign_in(provider: Any) -> None:
    """OIDC Core §12.2: same iss, sub, aud, azp and auth_time, a new iat, and no nonce (the
    refresh is not an authentication request, so it has none to echo)."""
    rp = provider.first_party
    browser = signed_in(provider)
    code, verifier = code_for(provider, browser, rp, "openid offline_access", nonce="n-123")
    first = rp.exchange(code, verifier).json()
    time.sleep(1.1)  # iat counts seconds
    second = rp.refresh(first["refresh_token"]).json()
    original = pyjwt.decode(first["id_token"], options={"verify_signature": False})
    renewed = pyjwt.decode(second["id_token"], options={"verify_signature": False})
    assert original["nonce"] == "n-123" and "nonce" not in renewed
    for claim in ("iss", "sub", "aud", "azp", "auth_time"):
        assert renewed.get(claim) == original.get(claim), claim
    assert renewed["iat"] > original["iat"]


def test_an_unknown_token_type_hint_is_only_a_hint(provider: Any) -> None:
    """RFC 7009 §2.1 and RFC 7662 §2.1: the server looks the token up whatever the hint says."""
    rp = provider.first_party
    tokens = tokens_for(provider)
    introspected = requests.post(
        f"{rp.base}/oauth/introspect",
        data={"token": tokens["access_token"], "token_type_hint": "foo"},
        auth=(rp.client_id, rp.client_secret),
        timeout=10,
    )
    assert introspected.status_code == 200 and introspected.json()["active"] is True
    revoked = rp.revoke(tokens["refresh_token"], hint="foo")
    assert revoked.status_code == 200
    assert rp.refresh(tokens["refresh_token"]).status_code == 400
    missing = requests.post(
        f"{rp.base}/oauth/introspect", auth=(rp.client_id, rp.client_secret), timeout=10
    )
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
