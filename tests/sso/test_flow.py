"""The authorization code flow with PKCE, end to end over HTTP, with two relying-party libraries
that are not the one the server is built on for that side: Authlib's *client* and
requests-oauthlib (oauthlib), with ID tokens verified by PyJWT against the published JWKS."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import requests
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from requests_oauthlib import OAuth2Session as OauthlibSession

from tests.oidc import Browser, pkce_pair, query


def verify_id_token(provider: Any, token: str, audience: str) -> dict[str, Any]:
    """Check an ID token the way an independent relying party does (PyJWT + JWKS)."""
    keys = pyjwt.PyJWKClient(f"{provider.base}/oauth/jwks")
    signing_key = keys.get_signing_key_from_jwt(token)
    return pyjwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=audience,
        issuer=provider.base,
        options={"require": ["iss", "sub", "aud", "exp", "iat"]},
    )


def test_discovery_describes_the_provider(provider: Any) -> None:
    document = requests.get(f"{provider.base}/.well-known/openid-configuration").json()
    assert document["issuer"] == provider.base
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["response_types_supported"] == ["code"]
    assert "community" in document["scopes_supported"]
    assert document["backchannel_logout_supported"] is True
    assert document["end_session_endpoint"] == f"{provider.base}/oauth/logout"
    assert "urn:rollcall:acr:2fa" in document["acr_values_supported"]
    oauth = requests.get(f"{provider.base}/.well-known/oauth-authorization-server").json()
    assert oauth["token_endpoint"] == document["token_endpoint"]
    jwks = requests.get(document["jwks_uri"]).json()
    assert jwks["keys"] and all("d" not in key for key in jwks["keys"])


def test_authlib_client_signs_in_with_pkce(provider: Any) -> None:
    rp = provider.first_party
    session = AuthlibSession(
        rp.client_id,
        rp.client_secret,
        scope="openid profile email community",
        redirect_uri=rp.redirect_uri,
        code_challenge_method="S256",
    )
    verifier, _ = pkce_pair()
    url, state = session.create_authorization_url(
        f"{provider.base}/oauth/authorize", code_verifier=verifier, nonce="n-0S6_WzA2Mj"
    )
    browser = Browser(provider.base)
    page = browser.follow(browser.get(url))
    assert "Sign in" in page.text
    callback = browser.follow(browser.sign_in("ada", page=page), until=rp.redirect_uri)
    location = callback.headers["Location"]
    assert location.startswith(rp.redirect_uri) and query(location)["state"] == state

    token = session.fetch_token(
        f"{provider.base}/oauth/token", authorization_response=location, code_verifier=verifier
    )
    claims = verify_id_token(provider, token["id_token"], rp.client_id)
    assert claims["nonce"] == "n-0S6_WzA2Mj"
    assert claims["sub"] == str(provider.ada.id)
    assert claims["preferred_username"] == "ada"
    assert claims["email"] == "ada@example.com" and claims["email_verified"] is True
    assert claims["account"]["name"] == provider.account.name
    assert claims["profile"] == "main" and "my_account" in claims["permissions"]
    assert claims["contact_roles"] == ["IT Receiver"]
    assert "icd10" in claims["applications"]
    assert claims["sid"] and claims["auth_time"] <= claims["iat"]
    assert "at_hash" in claims
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:rollcall:acr:1fa"

    for method in ("GET", "POST"):
        info = rp.userinfo(token["access_token"], method)
        assert info.status_code == 200
        assert info.json()["sub"] == claims["sub"]
        assert info.json()["account"]["name"] == provider.account.name

    access = pyjwt.decode(token["access_token"], options={"verify_signature": False})
    header = pyjwt.get_unverified_header(token["access_token"])
    assert header["typ"] == "at+jwt" and access["client_id"] == rp.client_id


def test_requests_oauthlib_signs_in_with_pkce(provider: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the test server is plain http
    rp = provider.first_party
    session = OauthlibSession(
        rp.client_id, redirect_uri=rp.redirect_uri, scope=["openid", "email"], pkce="S256"
    )
    url, _ = session.authorization_url(f"{provider.base}/oauth/authorize", nonce="abc")
    browser = Browser(provider.base)
    browser.sign_in("ada")
    callback = browser.follow(browser.get(url), until=rp.redirect_uri)
    location = callback.headers["Location"]
    token = session.fetch_token(
        f"{provider.base}/oauth/token",
        authorization_response=location,
        client_secret=rp.client_secret,
        include_client_id=True,
    )
    claims = verify_id_token(provider, token["id_token"], rp.client_id)
    assert claims["nonce"] == "abc" and claims["email"] == "ada@example.com"
    assert "account" not in claims  # the community scope was not asked for


def test_a_second_application_opens_without_signing_in_again(provider: Any) -> None:
    browser = Browser(provider.base)
    browser.sign_in("ada")
    for rp in (provider.first_party, provider.community):
        verifier, challenge = pkce_pair()
        url = rp.authorize_url(code_challenge=challenge, code_challenge_method="S256")
        response = browser.follow(browser.get(url), until=rp.redirect_uri)
        if rp is provider.community:  # a third-party application asks for consent once
            response = browser.follow(
                browser.submit(response, url, decision="allow"), rp.redirect_uri
            )
        code = query(response.headers["Location"])["code"]
        assert rp.exchange(code, verifier).status_code == 200


def test_public_client_uses_pkce_without_a_secret(provider: Any) -> None:
    rp = provider.community
    verifier, challenge = pkce_pair()
    browser = Browser(provider.base)
    browser.sign_in("bob")
    url = rp.authorize_url(code_challenge=challenge, code_challenge_method="S256")
    consent = browser.follow(browser.get(url))
    assert "Allow" in consent.text and consent.status_code == 200
    response = browser.follow(browser.submit(consent, url, decision="allow"), rp.redirect_uri)
    token = rp.exchange(query(response.headers["Location"])["code"], verifier)
    assert token.status_code == 200, token.text
    claims = verify_id_token(provider, token.json()["id_token"], rp.client_id)
    assert claims["sub"] == str(provider.bob.id)
