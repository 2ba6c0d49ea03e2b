"""Consent, RP-initiated logout and back-channel logout."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import jwt as pyjwt
import pytest
import requests

from sso import backchannel
from store import clients, users
from tests.live import logout_receiver
from tests.oidc import Browser, pkce_pair, query, signed_in


def test_third_party_consent_is_asked_once_per_scope_set(provider: Any) -> None:
    rp = provider.community
    browser = signed_in(provider, "bob")
    _, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}

    silent = browser.get(rp.authorize_url("openid", prompt="none", **pkce))
    assert query(silent.headers["Location"])["error"] == "consent_required"

    url = rp.authorize_url("openid", state="s", **pkce)
    consent = browser.get(url)
    assert consent.status_code == 200 and "Allow Community site" in consent.text
    denied = browser.submit(consent, url, decision="deny")
    assert query(denied.headers["Location"])["error"] == "access_denied"

    allowed = browser.submit(browser.get(url), url, decision="allow")
    assert "code" in query(allowed.headers["Location"])
    again = browser.get(rp.authorize_url("openid", **pkce))
    assert "code" in query(again.headers["Location"])  # remembered
    wider = browser.get(rp.authorize_url("openid email", **pkce))
    assert wider.status_code == 200 and "see your email address" in wider.text
    forced = browser.get(rp.authorize_url("openid", prompt="consent", **pkce))
    assert forced.status_code == 200 and "Allow" in forced.text


def test_consent_form_needs_its_csrf_token(provider: Any) -> None:
    rp = provider.community
    browser = signed_in(provider, "bob")
    _, challenge = pkce_pair()
    url = rp.authorize_url("openid", code_challenge=challenge, code_challenge_method="S256")
    forged = browser.post(url, {"decision": "allow"})
    assert "Location" not in forged.headers or "code=" not in forged.headers["Location"]


def id_token_for(provider: Any, browser: Browser) -> str:
    rp = provider.first_party
    verifier, challenge = pkce_pair()
    url = rp.authorize_url(code_challenge=challenge, code_challenge_method="S256")
    back = browser.follow(browser.get(url), until=rp.redirect_uri)
    return rp.exchange(query(back.headers["Location"])["code"], verifier).json()["id_token"]


def test_rp_initiated_logout_with_id_token_hint(provider: Any) -> None:
    browser = signed_in(provider)
    id_token = id_token_for(provider, browser)
    target = f"{provider.base}/bye/icd10"
    response = browser.get(
        f"/oauth/logout?id_token_hint={id_token}&post_logout_redirect_uri={target}&state=abc"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{target}?state=abc"
    assert "Your applications" not in browser.get("/").text


def test_a_hint_of_someone_else_asks_before_signing_out(provider: Any) -> None:
    """Anybody may hold somebody's ID token: it confirms nothing about this browser's person
    (RP-Initiated Logout §2), so a link carrying one cannot sign them out unasked."""
    adas = id_token_for(provider, signed_in(provider))
    browser = signed_in(provider, "bob")
    target = f"{provider.base}/bye/icd10"
    url = f"/oauth/logout?id_token_hint={adas}&post_logout_redirect_uri={target}&state=s"
    page = browser.get(url)
    assert page.status_code == 200 and "Sign out" in page.text
    assert "Your applications" in browser.get("/").text
    confirmed = browser.submit(page, url)
    assert confirmed.headers["Location"] == f"{target}?state=s"
    assert "Your applications" not in browser.get("/").text


def test_a_hint_from_an_earlier_session_asks_before_signing_out(provider: Any) -> None:
    """An ID token of the person's earlier session (its sid) is no proof that this session's
    application asks: any old token of theirs would sign them out by a link (RP-Initiated
    Logout §2: such a hint is suspect)."""
    browser = signed_in(provider)
    earlier = id_token_for(provider, browser)
    browser.get(f"/oauth/logout?id_token_hint={earlier}")  # signed out of that session
    browser = signed_in(provider)
    page = browser.get(f"/oauth/logout?id_token_hint={earlier}")
    assert page.status_code == 200 and "Sign out" in page.text
    assert "Your applications" in browser.get("/").text
    refreshed = provider.first_party.refresh(tokens_with_refresh(provider, browser))
    offline = refreshed.json()["id_token"]  # a refreshed ID token names no session
    assert "sid" not in pyjwt.decode(offline, options={"verify_signature": False})
    page = browser.get(f"/oauth/logout?id_token_hint={offline}")
    assert page.status_code == 200 and "Sign out" in page.text
    assert "Your applications" in browser.get("/").text
    current = id_token_for(provider, browser)
    assert browser.get(f"/oauth/logout?id_token_hint={current}").status_code == 200
    assert "Your applications" not in browser.get("/").text


def tokens_with_refresh(provider: Any, browser: Browser) -> str:
    """A refresh token of the first-party application, for the person signed in at `browser`."""
    rp = provider.first_party
    verifier, challenge = pkce_pair()
    url = rp.authorize_url(
        "openid offline_access", code_challenge=challenge, code_challenge_method="S256"
    )
    back = browser.follow(browser.get(url), until=rp.redirect_uri)
    return rp.exchange(query(back.headers["Location"])["code"], verifier).json()["refresh_token"]


def test_a_hint_must_be_an_id_token_of_the_client_named(provider: Any) -> None:
    browser = signed_in(provider)
    rp = provider.first_party
    verifier, challenge = pkce_pair()
    url = rp.authorize_url(code_challenge=challenge, code_challenge_method="S256")
    back = browser.follow(browser.get(url), until=rp.redirect_uri)
    tokens = rp.exchange(query(back.headers["Location"])["code"], verifier).json()
    other = provider.community.client_id
    mismatched = browser.get(f"/oauth/logout?id_token_hint={tokens['id_token']}&client_id={other}")
    assert mismatched.status_code == 400 and "client_id" in mismatched.text
    access = browser.get(f"/oauth/logout?id_token_hint={tokens['access_token']}")
    assert access.status_code == 400
    assert "Your applications" in browser.get("/").text


def test_logout_refuses_an_unregistered_redirect(provider: Any) -> None:
    browser = signed_in(provider)
    id_token = id_token_for(provider, browser)
    response = browser.get(
        f"/oauth/logout?id_token_hint={id_token}&post_logout_redirect_uri=https://evil.example/"
    )
    assert response.status_code == 400 and "Location" not in response.headers
    assert "sign-out request cannot be completed" in response.text
    assert "Your applications" in browser.get("/").text  # still signed in


def test_logout_without_a_hint_asks_first(provider: Any) -> None:
    browser = signed_in(provider)
    page = browser.get("/oauth/logout")
    assert page.status_code == 200 and "Sign out" in page.text
    assert "Your applications" in browser.get("/").text
    done = browser.submit(page, "/oauth/logout")
    assert "signed out" in done.text and "Your applications" not in browser.get("/").text


@pytest.fixture
def receiver() -> Iterator[tuple[str, queue.Queue[str]]]:
    """An application's back-channel logout endpoint: records the logout tokens it receives."""
    with logout_receiver() as received:
        yield received


def test_back_channel_logout_reaches_each_application(
    provider: Any, receiver: Any, operator: Any
) -> None:
    uri, received = receiver
    with provider.db.transaction() as tx:
        row = clients.client_named(tx, provider.first_party.client_id)
        row.backchannel_logout_uri = uri
    browser = signed_in(provider)
    id_token = pyjwt.decode(id_token_for(provider, browser), options={"verify_signature": False})

    token = provider.machine.token(grant_type="client_credentials", scope="scim").json()
    deactivate = {  # as Okta sends it
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": False}}],
    }
    response = requests.patch(
        f"{provider.base}/scim/v2/Users/{provider.ada.id}",
        json=deactivate,
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert response.status_code in (200, 204)

    token = received.get(timeout=10)
    keys = pyjwt.PyJWKClient(f"{provider.base}/oauth/jwks")
    claims = pyjwt.decode(
        token,
        keys.get_signing_key_from_jwt(token).key,
        algorithms=["RS256"],
        audience=provider.first_party.client_id,
        issuer=provider.base,
    )
    assert pyjwt.get_unverified_header(token)["typ"] == "logout+jwt"
    assert claims["sid"] == id_token["sid"] and claims["sub"] == str(provider.ada.id)
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims


def test_sign_out_tells_the_applications_too(provider: Any, receiver: Any) -> None:
    uri, received = receiver
    with provider.db.transaction() as tx:
        clients.client_named(tx, provider.first_party.client_id).backchannel_logout_uri = uri
    browser = signed_in(provider)
    id_token_for(provider, browser)
    browser.submit(browser.get("/signout"), "/signout")
    assert received.get(timeout=10)


def test_the_logout_receiver_gets_nothing_for_a_session_it_was_not_in(
    provider: Any, receiver: Any
) -> None:
    uri, received = receiver
    with provider.db.transaction() as tx:
        clients.client_named(tx, provider.first_party.client_id).backchannel_logout_uri = uri
    browser = signed_in(provider)  # signed in, but never opened ICD-10
    browser.submit(browser.get("/signout"), "/signout")
    with pytest.raises(queue.Empty):
        received.get(timeout=1)


def test_the_worker_delivers_what_other_doors_queued(
    provider: Any, receiver: Any, operator: Any
) -> None:
    uri, received = receiver
    with provider.db.transaction() as tx:
        clients.client_named(tx, provider.first_party.client_id).backchannel_logout_uri = uri
    id_token_for(provider, signed_in(provider))
    with provider.db.transaction() as tx:  # the command line: no request to deliver after
        users.deactivate(tx, operator, provider.ada.id)
    assert backchannel.deliver_pending(provider.db, provider.base) == 1
    assert received.get(timeout=10)
    assert backchannel.deliver_pending(provider.db, provider.base) == 0
