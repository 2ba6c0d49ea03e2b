"""What the provider refuses, and how: error pages where the redirect URI is not trusted, OAuth
errors to the client where it is, and tokens that stop working the moment they should."""

from __future__ import annotations

import base64
import html
import re
import time
from typing import Any
from urllib.parse import parse_qsl, unquote

import jwt as pyjwt
import pytest
import requests

from store import clients
from tests.oidc import Browser, code_for, pkce_pair, query, signed_in, tokens_for


def test_wrong_redirect_uri_shows_an_error_page_and_does_not_redirect(provider: Any) -> None:
    browser = signed_in(provider)
    rp = provider.first_party
    for uri in ("https://evil.example/cb", rp.redirect_uri + "/extra", rp.redirect_uri + "?x=1"):
        response = browser.get(rp.authorize_url(redirect_uri=uri))
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "cannot be completed" in response.text


def test_unknown_client_shows_an_error_page(provider: Any) -> None:
    response = Browser(provider.base).get(
        provider.first_party.authorize_url(client_id="no-such-client")
    )
    assert response.status_code in (400, 401) and "Location" not in response.headers


def test_missing_redirect_uri_is_refused_without_redirect(provider: Any) -> None:
    browser = signed_in(provider)
    url = provider.first_party.authorize_url(redirect_uri="").replace("redirect_uri=&", "")
    response = browser.get(url)
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_code_is_single_use_and_a_replay_revokes_what_it_issued(provider: Any) -> None:
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp)
    first = rp.exchange(code, verifier)
    assert first.status_code == 200
    access = first.json()["access_token"]
    assert rp.introspect(access)["active"] is True
    replay = rp.exchange(code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert rp.introspect(access)["active"] is False
    assert rp.userinfo(access).status_code == 401


def test_a_replayed_code_also_revokes_what_its_refresh_tokens_issued(provider: Any) -> None:
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp, "openid offline_access")
    first = rp.exchange(code, verifier).json()
    refreshed = rp.refresh(first["refresh_token"]).json()
    assert rp.userinfo(refreshed["access_token"]).status_code == 200
    assert rp.exchange(code, verifier).status_code == 400
    assert rp.userinfo(refreshed["access_token"]).status_code == 401
    assert rp.refresh(refreshed["refresh_token"]).status_code == 400


def test_a_code_is_worthless_once_its_session_has_ended(provider: Any) -> None:
    rp = provider.first_party
    browser = signed_in(provider)
    code, verifier = code_for(provider, browser, rp)
    page = browser.get("/oauth/logout")
    browser.submit(page, "/oauth/logout")
    exchanged = rp.exchange(code, verifier)
    assert exchanged.status_code == 400 and exchanged.json()["error"] == "invalid_grant"


def test_scope_values_not_understood_are_ignored(provider: Any) -> None:
    """OIDC Core §3.1.2.1: `address` (and anything else unknown) is dropped, not refused."""
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp, "openid address email x-foo")
    tokens = rp.exchange(code, verifier).json()
    assert set(rp.introspect(tokens["access_token"])["scope"].split()) == {"openid", "email"}


def test_a_scope_asked_twice_is_granted_once(provider: Any) -> None:
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp, "openid openid email openid")
    tokens = rp.exchange(code, verifier).json()
    assert tokens["scope"].split() == ["openid", "email"]


def test_pkce_verifier_must_match(provider: Any) -> None:
    rp = provider.first_party
    code, _ = code_for(provider, signed_in(provider), rp)
    wrong, _ = pkce_pair()
    response = rp.exchange(code, wrong)
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    missing_code, _ = code_for(provider, signed_in(provider), rp)
    response = rp.exchange(missing_code)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_public_clients_must_send_an_s256_challenge(provider: Any) -> None:
    rp = provider.community
    browser = signed_in(provider)
    response = browser.get(rp.authorize_url(state="s1"))
    location = response.headers["Location"]
    assert location.startswith(rp.redirect_uri)
    assert query(location)["error"] == "invalid_request" and query(location)["state"] == "s1"
    plain = browser.get(rp.authorize_url(code_challenge="a" * 43, code_challenge_method="plain"))
    assert query(plain.headers["Location"])["error"] == "invalid_request"


def exchange_form(rp: Any, code: str, verifier: str) -> dict[str, Any]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }


def token_request(provider: Any, form: dict[str, Any], auth: tuple[str, str]) -> Any:
    return requests.post(f"{provider.base}/oauth/token", data=form, auth=auth, timeout=10)


def test_wrong_client_secret_is_invalid_client(provider: Any) -> None:
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp)
    response = token_request(provider, exchange_form(rp, code, verifier), (rp.client_id, "nope"))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert rp.exchange(code, verifier).status_code == 200  # the code survived the bad attempt


def test_a_parameter_sent_twice_is_refused_at_both_endpoints(provider: Any) -> None:
    """RFC 6749 §3.1 and §3.2: no parameter more than once; the first value never wins."""
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp)
    form = exchange_form(rp, code, verifier)
    form["redirect_uri"] = [rp.redirect_uri, "https://evil.example/cb"]
    response = token_request(provider, form, (rp.client_id, rp.client_secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "redirect_uri" in response.json()["error_description"]
    assert rp.exchange(code, verifier).status_code == 200  # the code survived the refusal

    twice = rp.authorize_url() + "&nonce=second"
    page = signed_in(provider).get(twice)
    assert page.status_code == 400 and "Location" not in page.headers
    assert "nonce" in html.unescape(page.text)


def test_a_client_authenticating_two_ways_at_once_is_refused(provider: Any) -> None:
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp)
    form = exchange_form(rp, code, verifier) | {
        "client_id": rp.client_id,
        "client_secret": rp.client_secret,
    }
    both = token_request(provider, form, (rp.client_id, rp.client_secret))
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    assert rp.exchange(code, verifier).status_code == 200  # one way is enough


def test_redirect_uri_at_the_token_endpoint_must_match(provider: Any) -> None:
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp)
    response = rp.token(
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri=rp.redirect_uri + "x",
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_revoked_token_is_refused_at_userinfo(provider: Any) -> None:
    rp = provider.first_party
    tokens = tokens_for(provider)
    assert rp.userinfo(tokens["access_token"]).status_code == 200
    assert rp.revoke(tokens["access_token"], "access_token").status_code == 200
    refused = rp.userinfo(tokens["access_token"])
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert rp.introspect(tokens["access_token"])["active"] is False


def test_userinfo_without_a_token_asks_for_one(provider: Any) -> None:
    response = requests.get(f"{provider.base}/oauth/userinfo", timeout=10)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_prompt_none_without_a_session_answers_login_required(provider: Any) -> None:
    rp = provider.first_party
    _, challenge = pkce_pair()
    response = Browser(provider.base).get(
        rp.authorize_url(prompt="none", state="xyz", code_challenge=challenge,
                         code_challenge_method="S256")
    )  # fmt: skip
    found = query(response.headers["Location"])
    assert response.headers["Location"].startswith(rp.redirect_uri)
    assert found["error"] == "login_required" and found["state"] == "xyz"
    assert "code" not in found
    assert found["iss"] == provider.base  # RFC 9207, on errors too


def test_refusals_of_a_valid_request_come_back_in_its_response_mode(provider: Any) -> None:
    """OAuth 2.0 Multiple Response Types §2: the error goes back as the success would have."""
    rp = provider.first_party
    _, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256", "state": "n1"}
    browser = Browser(provider.base)
    fragment = browser.get(rp.authorize_url(prompt="none", response_mode="fragment", **pkce))
    base, _, carried = fragment.headers["Location"].partition("#")
    found = dict(parse_qsl(carried))
    assert base == rp.redirect_uri and "?" not in base
    assert found["error"] == "login_required" and found["state"] == "n1"
    page = browser.get(rp.authorize_url(prompt="none", response_mode="form_post", **pkce))
    assert page.status_code == 200 and f'action="{rp.redirect_uri}"' in page.text
    posted = {name: html.unescape(value) for name, value in FORM_FIELD.findall(page.text)}
    assert posted["error"] == "login_required" and posted["state"] == "n1"
    assert posted["iss"] == provider.base
    # An unknown mode is refused in the default one, the query.
    refused = browser.get(rp.authorize_url(prompt="none", response_mode="web_message", **pkce))
    assert query(refused.headers["Location"])["error"] in ("login_required", "invalid_request")


def test_authorization_responses_name_the_issuer(provider: Any) -> None:
    rp = provider.first_party
    browser = signed_in(provider)
    _, challenge = pkce_pair()
    url = rp.authorize_url(code_challenge=challenge, code_challenge_method="S256")
    found = query(browser.follow(browser.get(url), until=rp.redirect_uri).headers["Location"])
    assert found["code"] and found["iss"] == provider.base
    document = requests.get(f"{provider.base}/.well-known/openid-configuration").json()
    assert document["authorization_response_iss_parameter_supported"] is True


def test_request_objects_are_refused_as_not_supported(provider: Any) -> None:
    """OIDC Core §6: a provider without request objects says so rather than ignoring them."""
    rp = provider.first_party
    browser = signed_in(provider)
    _, challenge = pkce_pair()
    cases = {
        "request": ("eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.", "request_not_supported"),
        "request_uri": ("https://rp.example/request.jwt", "request_uri_not_supported"),
    }
    for name, (value, error) in cases.items():
        url = rp.authorize_url(state="s1", code_challenge=challenge, code_challenge_method="S256",
                               **{name: value})  # fmt: skip
        response = browser.get(url)
        assert response.status_code == 302
        found = query(response.headers["Location"])
        assert response.headers["Location"].startswith(rp.redirect_uri)
        assert found["error"] == error and found["state"] == "s1" and "code" not in found


def test_prompt_none_with_a_session_signs_in_silently(provider: Any) -> None:
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp, prompt="none")
    assert rp.exchange(code, verifier).status_code == 200


def test_denied_application_shows_a_page_and_never_a_code(provider: Any) -> None:
    rp = provider.first_party  # ICD-10; bob has not been granted it
    browser = signed_in(provider, "bob")
    _, challenge = pkce_pair()
    url = rp.authorize_url(state="st", code_challenge=challenge, code_challenge_method="S256")
    response = browser.get(url)
    assert response.status_code == 403
    assert "do not have access to ICD-10" in response.text
    assert "error=access_denied" in response.text and "code=" not in response.text
    silent = query(browser.get(url + "&prompt=none").headers["Location"])
    assert silent["error"] == "access_denied" and silent["state"] == "st"


def test_deactivation_ends_everything_at_once(provider: Any, operator: Any) -> None:
    from store import users

    rp = provider.first_party
    tokens = tokens_for(provider)
    with provider.db.transaction() as tx:
        users.deactivate(tx, operator, provider.ada.id)
    assert rp.introspect(tokens["access_token"])["active"] is False
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    refreshed = rp.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_prompt_login_and_max_age_ask_for_the_password_again(provider: Any) -> None:
    rp = provider.first_party
    browser = signed_in(provider)
    _, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    for params in ({"prompt": "login"}, {"max_age": "0"}):
        response = browser.follow(browser.get(rp.authorize_url(**pkce, **params)))
        assert response.status_code == 200 and 'name="password"' in response.text
        back = browser.follow(browser.sign_in("ada", page=response), until=rp.redirect_uri)
        assert "code" in query(back.headers["Location"])


def test_signing_in_again_keeps_the_session_and_its_applications(provider: Any) -> None:
    """Re-authentication for one application (prompt=login) must not sign the person out of the
    others: the session goes on with a new auth_time; another person signing in ends it."""
    rp = provider.first_party
    browser = signed_in(provider)
    code, verifier = code_for(provider, browser, rp)
    first = rp.exchange(code, verifier).json()
    old_cookie = dict(browser.session.cookies)
    time.sleep(1.1)
    verifier, challenge = pkce_pair()
    url = rp.authorize_url(code_challenge=challenge, code_challenge_method="S256", prompt="login")
    form = browser.follow(browser.get(url))
    back = browser.follow(browser.sign_in("ada", page=form), until=rp.redirect_uri)
    second = rp.exchange(query(back.headers["Location"])["code"], verifier).json()
    assert rp.userinfo(first["access_token"]).status_code == 200
    claims_of = [
        pyjwt.decode(t["id_token"], options={"verify_signature": False}) for t in (first, second)
    ]
    assert claims_of[0]["sid"] == claims_of[1]["sid"]
    assert claims_of[1]["auth_time"] > claims_of[0]["auth_time"]
    stale = Browser(provider.base)
    stale.session.cookies.update(old_cookie)
    assert "Your applications" not in stale.get("/").text  # the old cookie token is spent
    form = browser.follow(browser.get(url))
    assert browser.sign_in("bob", page=form).status_code == 302  # another person, same browser
    assert rp.userinfo(first["access_token"]).status_code == 401


def test_browser_applications_get_cors_for_their_own_origin_only(
    provider: Any, operator: Any
) -> None:
    with provider.db.transaction() as tx:
        clients.create_client(
            tx,
            operator,
            name="Single-page app",
            redirect_uris=["https://spa.example/callback"],
            public=True,
            access="everyone",
        )
    spa, evil = "https://spa.example", "https://evil.example"
    for path in ("/oauth/token", "/oauth/userinfo", "/oauth/revoke"):
        allowed = requests.options(f"{provider.base}{path}", headers={
            "Origin": spa, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        })  # fmt: skip
        assert allowed.headers["Access-Control-Allow-Origin"] == spa, path
        assert "Authorization" in allowed.headers["Access-Control-Allow-Headers"]
        assert "Access-Control-Allow-Credentials" not in allowed.headers
        refused = requests.options(f"{provider.base}{path}", headers={"Origin": evil})
        assert "Access-Control-Allow-Origin" not in refused.headers, path
    failed = requests.post(f"{provider.base}/oauth/token", data={"grant_type": "password"},
                           headers={"Origin": spa})  # fmt: skip
    assert failed.status_code in (400, 401) and failed.headers["Access-Control-Allow-Origin"] == spa
    denied = requests.get(f"{provider.base}/oauth/userinfo", headers={"Origin": spa})
    assert denied.status_code == 401
    assert "WWW-Authenticate" in denied.headers["Access-Control-Expose-Headers"]
    for path in ("/.well-known/openid-configuration", "/oauth/jwks"):
        public = requests.get(f"{provider.base}{path}", headers={"Origin": evil})
        assert public.headers["Access-Control-Allow-Origin"] == "*"
    introspection = requests.options(f"{provider.base}/oauth/introspect", headers={"Origin": spa})
    assert "Access-Control-Allow-Origin" not in introspection.headers


def test_unreadable_requests_get_oauth_errors_not_server_faults(provider: Any) -> None:
    """Authlib refuses to echo some characters or to decode some bytes; the answer stays an
    OAuth error (invalid_request), never a 500."""
    rp = provider.first_party
    not_utf8 = "Basic " + base64.b64encode(b"\xff\xfe:secret").decode()
    for path in ("/oauth/token", "/oauth/revoke", "/oauth/introspect"):
        form = {"grant_type": "client_credentials", "token": "x"}
        headers = {"Authorization": not_utf8}
        response = requests.post(f"{provider.base}{path}", headers=headers, data=form)
        assert response.status_code == 400, path
        assert response.json()["error"] == "invalid_request"
    _, challenge = pkce_pair()
    for name in ("response_type", "redirect_uri"):
        url = rp.authorize_url(code_challenge=challenge, code_challenge_method="S256",
                               **{name: "ü"})  # fmt: skip
        page = Browser(provider.base).get(url)
        assert page.status_code == 400 and "Location" not in page.headers
        assert "cannot be completed" in page.text


FORM_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def test_response_modes_fragment_and_form_post(provider: Any) -> None:
    rp = provider.first_party
    browser = signed_in(provider)
    verifier, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256", "state": "s9"}
    fragment = browser.get(rp.authorize_url(response_mode="fragment", **pkce))
    base, _, carried = fragment.headers["Location"].partition("#")
    found = dict(parse_qsl(carried))
    assert base == rp.redirect_uri and found["state"] == "s9" and found["iss"] == provider.base
    assert rp.exchange(found["code"], verifier).status_code == 200

    verifier, challenge = pkce_pair()
    pkce["code_challenge"] = challenge
    page = browser.get(rp.authorize_url(response_mode="form_post", **pkce))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert f'action="{rp.redirect_uri}"' in page.text and "<script" in page.text
    posted = {name: html.unescape(value) for name, value in FORM_FIELD.findall(page.text)}
    assert posted["state"] == "s9" and posted["iss"] == provider.base
    assert rp.exchange(posted["code"], verifier).status_code == 200

    refused = browser.get(rp.authorize_url(response_mode="web_message", **pkce))
    assert query(refused.headers["Location"])["error"] == "invalid_request"
    document = requests.get(f"{provider.base}/.well-known/openid-configuration").json()
    assert set(document["response_modes_supported"]) == {"query", "fragment", "form_post"}


def _id_token_of(browser: Browser, rp: Any) -> str:
    verifier, challenge = pkce_pair()
    url = rp.authorize_url(code_challenge=challenge, code_challenge_method="S256")
    answer = browser.get(url)
    if answer.status_code == 200:  # the consent page of an application not our own
        answer = browser.submit(answer, url, decision="allow")
    back = browser.follow(answer, until=rp.redirect_uri)
    return rp.exchange(query(back.headers["Location"])["code"], verifier).json()["id_token"]


def test_an_id_token_hint_of_someone_else_is_no_silent_sign_in(provider: Any) -> None:
    """OIDC Core §3.1.2.1: with prompt=none, a hint naming another person than the one signed
    in is login_required; without it, the person is asked to sign in."""
    rp = provider.first_party
    bobs = _id_token_of(signed_in(provider, "bob"), provider.community)
    ada = signed_in(provider)
    adas = _id_token_of(ada, rp)
    _, challenge = pkce_pair()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256", "state": "h1"}
    silent = ada.get(rp.authorize_url(prompt="none", id_token_hint=bobs, **pkce))
    found = query(silent.headers["Location"])
    assert found["error"] == "login_required" and "code" not in found
    asked = ada.get(rp.authorize_url(id_token_hint=bobs, **pkce))
    assert asked.status_code == 302 and "/signin" in asked.headers["Location"]
    assert "id_token_hint" not in unquote(asked.headers["Location"])
    own = ada.get(rp.authorize_url(prompt="none", id_token_hint=adas, **pkce))
    assert "code" in query(own.headers["Location"])
    forged = ada.get(rp.authorize_url(prompt="none", id_token_hint=adas[:-4] + "AAAA", **pkce))
    assert query(forged.headers["Location"])["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_oauth_over_plain_http_from_elsewhere_is_an_oauth_error(app: Any, path: str) -> None:
    """Authlib refuses OAuth over http but from this machine (a proxy ending TLS, untrusted):
    an OAuth error saying what to set, not a 500."""
    answer = app.test_client().post(
        path,
        data={"grant_type": "client_credentials", "token": "x"},
        base_url="http://id.example.com",
    )
    assert answer.status_code == 400, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (
        body["error"] == "invalid_request"
        and "ROLLCALL_TRUSTED_PROXIES" in body["error_description"]
    )
