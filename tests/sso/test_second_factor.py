"""Signing in with a second factor over HTTP: the code after the password, recovery codes,
setting up an app at sign-in when the account requires one, and step-up at the authorization
endpoint for a client requiring MFA or `acr_values`; the ID tokens' `amr` and `acr`."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt as pyjwt
import pytest
from sqlalchemy import func, select, update

from store import clients, mfa, mfa_policy
from store.db import now
from store.models.directory import User
from store.models.logs import OutboxMessage
from store.models.sign_in import SsoSession
from tests.authenticator_app import Authenticator, enrol
from tests.oidc import PASSWORD, Browser, RelyingParty, code_for, pkce_pair, query

MFA_AMR = ["pwd", "otp", "mfa"]
TWO_FACTOR = "urn:rollcall:acr:2fa"


@pytest.fixture
def csc(provider: Any, operator: Any) -> RelyingParty:
    """A first-party application registered as requiring MFA, open to everyone."""
    with provider.db.transaction() as tx:
        client, secret = clients.create_client(
            tx,
            operator,
            name="Client Support Center",
            redirect_uris=[f"{provider.base}/cb/csc"],
            scopes=["openid", "profile"],
            access="everyone",
            first_party=True,
            require_mfa=True,
        )
    return RelyingParty(provider.base, client.client_id, secret, f"{provider.base}/cb/csc")


def form_action(page: Any, method: str) -> str:
    found = re.search(rf'action="(/signin/(?:second-factor/{method}|enrol)[^"]*)"', page.text)
    assert found, f"no {method} form on {page.url}"
    return html.unescape(found.group(1))


def give_code(browser: Browser, page: Any, method: str, code: str) -> Any:
    """Type a code into the block of `method` on the second-factor page and send it."""
    return browser.submit(page, form_action(page, method), **{f"{method}-code": code})


def id_token_claims(rp: RelyingParty, code: str, verifier: str) -> dict[str, Any]:
    response = rp.exchange(code, verifier)
    assert response.status_code == 200, response.text
    return pyjwt.decode(response.json()["id_token"], options={"verify_signature": False})


def live_session(provider: Any) -> Any:
    """Ada's one live session (the browser she set her app up in)."""
    with provider.db.transaction(write=False) as tx:
        return tx.scalar(
            select(SsoSession.id).where(
                SsoSession.user_id == provider.ada.id, SsoSession.ended_at.is_(None)
            )
        )


def sessions(provider: Any) -> int:
    with provider.db.transaction(write=False) as tx:
        return tx.scalar(select(func.count()).select_from(SsoSession))


def test_a_person_with_an_app_gives_a_code_after_the_password(provider: Any) -> None:
    app, _ = enrol(provider.db, provider.ada)
    browser = Browser(provider.base)
    response = browser.sign_in("ada")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin/second-factor?next=")
    assert "rollcall_sso=" not in response.headers.get("Set-Cookie", "")
    assert "Your applications" not in browser.get("/").text  # not signed in yet
    page = browser.get(response.headers["Location"])
    assert "Authenticator app" in page.text and "Recovery code" in page.text

    wrong = give_code(browser, page, "totp", app.wrong_code())
    assert wrong.status_code == 400 and "The code is not correct." in wrong.text
    with provider.db.transaction(write=False) as tx:
        assert tx.get(User, provider.ada.id).failed_logins == 1
    right = give_code(browser, page, "totp", app.code())
    assert right.status_code == 302 and right.headers["Location"] == "/"
    assert "rollcall_sso=" in right.headers["Set-Cookie"]
    assert "Your applications" in browser.get("/").text
    with provider.db.transaction(write=False) as tx:
        assert tx.get(User, provider.ada.id).failed_logins == 0


def test_the_id_token_tells_a_second_factor_was_given(provider: Any) -> None:
    app, _ = enrol(provider.db, provider.ada)
    rp = provider.first_party
    browser = Browser(provider.base)
    verifier, challenge = pkce_pair()
    url = rp.authorize_url("openid", code_challenge=challenge, code_challenge_method="S256")
    signin_page = browser.follow(browser.get(url))
    factor_page = browser.follow(browser.sign_in("ada", page=signin_page))
    assert urlsplit(factor_page.url).path == "/signin/second-factor"
    callback = browser.follow(
        give_code(browser, factor_page, "totp", app.code()), until=rp.redirect_uri
    )
    claims = id_token_claims(rp, query(callback.headers["Location"])["code"], verifier)
    assert claims["amr"] == MFA_AMR and claims["acr"] == TWO_FACTOR


def test_a_recovery_code_signs_in_once(provider: Any) -> None:
    _, codes = enrol(provider.db, provider.ada)
    browser = Browser(provider.base)
    page = browser.follow(browser.sign_in("ada"))
    assert give_code(browser, page, "recovery_codes", codes[0]).status_code == 302
    again = Browser(provider.base)
    page = again.follow(again.sign_in("ada"))
    refused = give_code(again, page, "recovery_codes", codes[0])
    assert refused.status_code == 400 and "The code is not correct." in refused.text
    with provider.db.transaction(write=False) as tx:
        queued = tx.scalars(select(OutboxMessage.payload)).all()  # sent or not
    assert [m["left"] for m in queued if m.get("template") == "recovery_code_used"] == [9]


def test_without_a_pending_sign_in_the_code_page_sends_to_sign_in(provider: Any) -> None:
    browser = Browser(provider.base)
    response = browser.get("/signin/second-factor?next=/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=%2Fprofile")


def test_signing_out_ends_a_sign_in_waiting_for_its_second_factor(provider: Any) -> None:
    """Someone who leaves a shared browser at the code page and signs out leaves nothing for
    the next person to finish."""
    enrol(provider.db, provider.ada)
    browser = Browser(provider.base)
    factor_page = browser.follow(browser.sign_in("ada"))
    assert urlsplit(factor_page.url).path == "/signin/second-factor"
    assert browser.get("/signout").status_code == 200
    response = browser.get("/signin/second-factor?next=/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=%2Fprofile")


def test_the_account_policy_walks_a_person_through_setting_up_an_app(
    provider: Any, enterprise: Any
) -> None:
    with provider.db.transaction() as tx:
        mfa_policy.set_policy(tx, enterprise.actor, provider.account.id, "everyone")
    browser = Browser(provider.base)
    response = browser.sign_in("bob")
    assert response.headers["Location"].startswith("/signin/enrol?next=")
    page = browser.get(response.headers["Location"])
    assert "Your organization requires a second factor" in page.text
    assert "<svg" in page.text  # the QR code, inline
    secret = html.unescape(re.search(r'id="totp-secret">([^<]+)<', page.text).group(1))
    app = Authenticator(secret)
    typo = browser.submit(page, form_action(page, "enrol"), code=app.wrong_code())
    assert typo.status_code == 400 and "does not match" in typo.text
    assert secret in typo.text  # the same key, to try again
    done = browser.submit(page, form_action(page, "enrol"), code=app.code())
    assert done.status_code == 200 and "Save your recovery codes" in done.text
    assert len(re.findall(r"<li><code>[a-z0-9]{5}-[a-z0-9]{5}</code></li>", done.text)) == 10
    assert "rollcall_sso=" in done.headers["Set-Cookie"]
    assert "Your applications" in browser.get("/").text

    later = Browser(provider.base)  # next time: the code, no set-up
    assert later.sign_in("bob").headers["Location"].startswith("/signin/second-factor")


def test_an_application_requiring_mfa_steps_a_password_session_up(
    provider: Any, csc: RelyingParty
) -> None:
    browser = Browser(provider.base)
    browser.sign_in("ada")  # no second factor yet: a password session
    app, _ = enrol(provider.db, provider.ada, keep=live_session(provider))  # set up in it
    verifier, challenge = pkce_pair()
    url = csc.authorize_url("openid", code_challenge=challenge, code_challenge_method="S256")
    step_up = browser.get(url)
    assert step_up.status_code == 302
    assert step_up.headers["Location"].startswith("/signin/second-factor?next=%2Foauth%2Fauthorize")
    page = browser.follow(step_up)
    assert "This application asks for a second factor" in page.text
    callback = browser.follow(give_code(browser, page, "totp", app.code()), until=csc.redirect_uri)
    claims = id_token_claims(csc, query(callback.headers["Location"])["code"], verifier)
    assert claims["amr"] == MFA_AMR and claims["acr"] == TWO_FACTOR
    assert sessions(provider) == 1  # the session went on, stronger

    # Other applications now get the stronger sign-in too, without asking again.
    code, verifier = code_for(provider, browser, provider.first_party)
    assert id_token_claims(provider.first_party, code, verifier)["amr"] == MFA_AMR


def test_acr_values_ask_for_a_second_factor(provider: Any) -> None:
    rp = provider.first_party
    browser = Browser(provider.base)
    browser.sign_in("ada")
    app, _ = enrol(provider.db, provider.ada, keep=live_session(provider))  # set up in it
    code, verifier = code_for(provider, browser, rp)  # no acr_values: the password is enough
    claims = id_token_claims(rp, code, verifier)
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:rollcall:acr:1fa"

    verifier, challenge = pkce_pair()
    url = rp.authorize_url(
        "openid", code_challenge=challenge, code_challenge_method="S256", acr_values=TWO_FACTOR
    )
    page = browser.follow(browser.get(url))
    assert urlsplit(page.url).path == "/signin/second-factor"
    callback = browser.follow(give_code(browser, page, "totp", app.code()), until=rp.redirect_uri)
    claims = id_token_claims(rp, query(callback.headers["Location"])["code"], verifier)
    assert claims["amr"] == MFA_AMR and claims["acr"] == TWO_FACTOR


def test_prompt_none_without_a_second_factor_is_interaction_required(
    provider: Any, csc: RelyingParty
) -> None:
    browser = Browser(provider.base)
    browser.sign_in("ada")
    _, challenge = pkce_pair()
    url = csc.authorize_url(
        "openid", code_challenge=challenge, code_challenge_method="S256", prompt="none"
    )
    response = browser.get(url)
    assert response.headers["Location"].startswith(csc.redirect_uri)
    answer = query(response.headers["Location"])
    assert answer["error"] == "interaction_required" and answer["iss"] == provider.base


def test_stepping_up_without_a_factor_sets_one_up(provider: Any, csc: RelyingParty) -> None:
    browser = Browser(provider.base)
    browser.sign_in("ada")
    verifier, challenge = pkce_pair()
    url = csc.authorize_url("openid", code_challenge=challenge, code_challenge_method="S256")
    page = browser.follow(browser.get(url))
    assert urlsplit(page.url).path == "/signin/enrol"
    assert "This application requires a second factor" in page.text
    secret = html.unescape(re.search(r'id="totp-secret">([^<]+)<', page.text).group(1))
    done = browser.submit(page, form_action(page, "enrol"), code=Authenticator(secret).code())
    assert "Save your recovery codes" in done.text
    onward = html.unescape(re.search(r'<a class="button" href="([^"]+)">Continue', done.text)[1])
    assert onward.startswith("/oauth/authorize?")
    callback = browser.follow(browser.get(onward), until=csc.redirect_uri)
    claims = id_token_claims(csc, query(callback.headers["Location"])["code"], verifier)
    assert claims["amr"] == MFA_AMR and claims["acr"] == TWO_FACTOR


def test_a_policy_made_stricter_reaches_sessions_begun_before_it(
    provider: Any, enterprise: Any
) -> None:
    """A password-only session from before the account required a second factor signs in to
    no application until it gives one."""
    browser = Browser(provider.base)
    browser.sign_in("bob")
    with provider.db.transaction() as tx:
        mfa_policy.set_policy(tx, enterprise.actor, provider.account.id, "everyone")
    _, challenge = pkce_pair()
    url = provider.community.authorize_url(
        "openid", code_challenge=challenge, code_challenge_method="S256"
    )
    answer = browser.get(url)
    assert answer.status_code == 302
    assert urlsplit(answer.headers["Location"]).path == "/signin/enrol"


def test_setting_up_an_app_ends_the_persons_other_sessions(provider: Any) -> None:
    """A session someone signed in to with a stolen password must not outlive the factor set
    up against it, as none outlives a new password: the browser the app was set up in goes
    on, every other ends."""
    mine, theirs = Browser(provider.base), Browser(provider.base)
    mine.sign_in("ada")
    kept = live_session(provider)
    theirs.sign_in("ada")
    enrol(provider.db, provider.ada, keep=kept)
    assert "Your applications" in mine.get("/").text
    assert "Your applications" not in theirs.get("/").text
    assert live_session(provider) == kept


def test_a_stale_session_steps_up_to_a_new_app_only_with_the_password(
    provider: Any, csc: RelyingParty
) -> None:
    """A browser left signed in is not enough to add someone's authenticator app (and be
    handed its recovery codes) on the way to an application that requires one, as it is not
    on the security page: a sign-in of over 10 minutes ago gives the password too."""
    browser = Browser(provider.base)
    browser.sign_in("ada")
    with provider.db.transaction() as tx:
        tx.execute(update(SsoSession).values(auth_time=now() - timedelta(hours=1)))
    _, challenge = pkce_pair()
    url = csc.authorize_url("openid", code_challenge=challenge, code_challenge_method="S256")
    page = browser.follow(browser.get(url))
    assert urlsplit(page.url).path == "/signin/enrol" and "Current password" in page.text
    secret = html.unescape(re.search(r'id="totp-secret">([^<]+)<', page.text).group(1))
    action = form_action(page, "enrol")
    bare = browser.submit(page, action, code=Authenticator(secret).code())
    assert bare.status_code == 400 and "Type your current password" in bare.text
    with provider.db.transaction(write=False) as tx:
        assert mfa.methods_of(tx, tx.get(User, provider.ada.id)) == set()
    done = browser.submit(
        page, action, code=Authenticator(secret).code(), current_password=PASSWORD
    )
    assert "Save your recovery codes" in done.text


def test_max_age_asks_for_both_factors_again(provider: Any) -> None:
    app, _ = enrol(provider.db, provider.ada)
    browser = Browser(provider.base)
    give_code(browser, browser.follow(browser.sign_in("ada")), "totp", app.code())
    rp = provider.first_party
    verifier, challenge = pkce_pair()
    url = rp.authorize_url(
        "openid", code_challenge=challenge, code_challenge_method="S256", max_age="0"
    )
    signin_page = browser.follow(browser.get(url))
    assert "Please sign in again" in signin_page.text
    factor_page = browser.follow(browser.sign_in("ada", page=signin_page))
    assert urlsplit(factor_page.url).path == "/signin/second-factor"
    callback = browser.follow(
        give_code(browser, factor_page, "totp", app.code()), until=rp.redirect_uri
    )
    claims = id_token_claims(rp, query(callback.headers["Location"])["code"], verifier)
    assert claims["amr"] == MFA_AMR
    assert sessions(provider) == 1


def test_factors_reset_while_signing_in_leave_the_password(provider: Any, support: Any) -> None:
    enrol(provider.db, provider.ada)
    browser = Browser(provider.base)
    pending = browser.sign_in("ada").headers["Location"]
    with provider.db.transaction() as tx:
        mfa.reset(tx, support, provider.ada.id)  # a lost phone, and the account is optional
    response = browser.get(pending)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "rollcall_sso=" in response.headers["Set-Cookie"]
