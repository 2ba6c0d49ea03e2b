"""Sign in with your organization over HTTP (issue 21): the login alone sends a federated person to
their organization's provider, and its answer signs them in, or is refused with a page (400) and
nobody signed in.

The positive path runs against a real OpenID provider: a second Rollcall process. The refusals
use a small provider whose ID tokens the test shapes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import jwt as pyjwt
import pytest
import requests
from joserfc.jwk import RSAKey
from sqlalchemy import func, select

from rollcall import upstream
from store import federation
from store.actors import Actor
from store.models.directory import User
from store.models.sign_in import SsoSession
from tests.oidc import PASSWORD, Browser, code_for, hidden_inputs, query
from tests.upstream import TinyProvider, UpstreamRollcall, tiny_provider, upstream_rollcall

CALLBACK = "/signin/federated/callback"


def connect(provider: Any, issuer: str, client_id: str, secret: str, **settings: Any) -> Any:
    with provider.db.transaction() as tx:
        return federation.create_connection(
            tx,
            Actor.system(),
            provider.account.id,
            issuer=issuer,
            client_id=client_id,
            client_secret=secret,
            **({"domains": ["acme.example"], "display_name": "Acme Health"} | settings),
        )


def sessions(provider: Any) -> int:
    with provider.db.transaction(write=False) as tx:
        return tx.scalar(select(func.count()).select_from(SsoSession))


def start(browser: Browser, login: str, next_path: str = "/") -> requests.Response:
    """Type the login alone on the sign-in page; Rollcall answers with a redirect upstream."""
    page = browser.get(f"/signin?next={next_path}")
    response = browser.post("/signin", hidden_inputs(page.text) | {"login": login})
    assert response.status_code == 302, response.text
    return response


@pytest.fixture
def upstream_idp(provider: Any, tmp_path: Path) -> Iterator[UpstreamRollcall]:
    upstream.forget()
    with upstream_rollcall(tmp_path, provider.base + CALLBACK) as idp:
        yield idp


@pytest.mark.slow  # a second Rollcall started as a process
def test_a_person_signs_in_at_their_organizations_rollcall_and_reaches_an_application(
    provider: Any, upstream_idp: UpstreamRollcall, make_user: Any, operator: Actor
) -> None:
    linked = make_user(
        provider.account,
        "ada.acme",
        external_id=upstream_idp.user_id,
        emails=[{"value": upstream_idp.email, "primary": True}],
        email_verified=True,
        applications=["icd10"],
    )
    connect(provider, upstream_idp.issuer, upstream_idp.client_id, upstream_idp.client_secret)
    browser = Browser(provider.base)

    to_upstream = start(browser, upstream_idp.email)
    authorize = to_upstream.headers["Location"]
    assert authorize.startswith(upstream_idp.issuer + "/oauth/authorize?")
    asked = query(authorize)
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert asked["redirect_uri"] == provider.base + CALLBACK
    assert asked["login_hint"] == upstream_idp.email

    # At the organization's provider: its own sign-in page, then back with a code.
    response = browser.get(authorize)
    assert response.status_code == 302 and "/signin" in response.headers["Location"]
    page = browser.get(urljoin(authorize, response.headers["Location"]))
    fields = hidden_inputs(page.text) | {"login": upstream_idp.login, "password": PASSWORD}
    response = browser.post(urljoin(authorize, "/signin"), fields)
    while response.headers.get("Location", "").startswith(("/", upstream_idp.issuer)):
        response = browser.get(urljoin(authorize, response.headers["Location"]))
    back = response.headers["Location"]
    assert back.startswith(provider.base + CALLBACK + "?")

    signed_in = browser.get(back)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    assert "Your applications" in browser.get("/").text
    with provider.db.transaction(write=False) as tx:
        assert tx.get(User, linked.id).last_login_at is not None  # type: ignore[union-attr]

    # ICD-10 gets an ID token saying how the person signed in upstream.
    rp = provider.first_party
    code, verifier = code_for(provider, browser, rp, "openid profile")
    tokens = rp.exchange(code, verifier).json()
    claims = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["sub"] == str(linked.id)
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:rollcall:acr:1fa"

    # The state was used: the same answer again is refused, nobody else is signed in.
    before = sessions(provider)
    replayed = Browser(provider.base).get(back)
    assert replayed.status_code == 400 and "already used" in replayed.text
    assert sessions(provider) == before


@pytest.fixture
def tiny(provider: Any) -> Iterator[TinyProvider]:
    upstream.forget()
    with tiny_provider() as op:
        yield op


@pytest.fixture
def pat(provider: Any, make_user: Any) -> User:
    """A person of the account whose provider's `sub` is 00u-acme-1, granted ICD-10."""
    return make_user(
        provider.account,
        "pat.acme",
        external_id="00u-acme-1",
        email_verified=True,
        applications=["icd10"],
    )


def round_trip(provider: Any, tiny: TinyProvider, login: str = "pat.acme") -> requests.Response:
    """Sign in through the small provider: Rollcall's redirect, then its callback with a code
    (the provider signs nobody in: its token endpoint answers with the shaped ID token)."""
    browser = Browser(provider.base)
    authorize = start(browser, login).headers["Location"]
    assert authorize.startswith(tiny.issuer + "/authorize?")
    asked = query(authorize)
    tiny.nonce = asked["nonce"]
    response = browser.get(f"{CALLBACK}?code=abc&state={asked['state']}")
    response.browser = browser  # type: ignore[attr-defined]
    return response


def test_the_small_providers_own_amr_and_acr_reach_the_session(
    provider: Any, tiny: TinyProvider, pat: User
) -> None:
    connect(provider, tiny.issuer, "rollcall-at-acme", "s3cret-s3cret")
    tiny.claims = {"amr": ["pwd", "otp", "x-acme"], "acr": "urn:acme:loa:2"}
    response = round_trip(provider, tiny)
    assert response.status_code == 302, response.text
    browser = response.browser  # type: ignore[attr-defined]
    code, verifier = code_for(provider, browser, provider.first_party, "openid")
    claims = pyjwt.decode(
        provider.first_party.exchange(code, verifier).json()["id_token"],
        options={"verify_signature": False},
    )
    assert claims["amr"] == ["pwd", "otp", "mfa"] and claims["acr"] == "urn:acme:loa:2"


@pytest.mark.parametrize(
    ("sent", "amr", "acr"),
    [
        ({"amr": ["pwd", "geo"]}, ["pwd", "geo"], "urn:rollcall:acr:1fa"),  # a place: no factor
        ({"amr": ["pwd", "kba"]}, ["pwd", "kba"], "urn:rollcall:acr:1fa"),  # both things known
        ({"amr": ["pwd", "user"]}, ["pwd"], "urn:rollcall:acr:1fa"),  # a presence test
        ({"amr": ["pwd"], "acr": "urn:rollcall:acr:2fa"}, ["pwd"], "urn:rollcall:acr:1fa"),
        ({"amr": ["pwd", "mfa"]}, ["pwd", "mfa"], "urn:rollcall:acr:2fa"),  # as Entra ID says it
        ({"amr": ["fpt", "hwk"]}, ["fpt", "hwk", "mfa"], "urn:rollcall:acr:2fa"),
    ],
    ids=["geo", "kba", "user", "our-acr", "mfa", "two-kinds"],
)
def test_the_providers_word_counts_only_for_two_kinds_of_factor(
    provider: Any, tiny: TinyProvider, pat: User, sent: dict, amr: list, acr: str
) -> None:
    """Rollcall's ID tokens say a second factor was given only when the provider's methods
    hold two kinds of factor (or it says mfa); Rollcall's own levels are never taken from it."""
    connect(provider, tiny.issuer, "rollcall-at-acme", "s3cret-s3cret")
    tiny.claims = sent
    response = round_trip(provider, tiny)
    assert response.status_code == 302, response.text
    code, verifier = code_for(provider, response.browser, provider.first_party, "openid")  # type: ignore[attr-defined]
    claims = pyjwt.decode(
        provider.first_party.exchange(code, verifier).json()["id_token"],
        options={"verify_signature": False},
    )
    assert (claims["amr"], claims["acr"]) == (amr, acr)


@pytest.mark.parametrize(
    ("shape", "says"),
    [
        ({"iss": "https://evil.example"}, "another provider (iss)"),
        ({"aud": "another-application"}, "another application (aud)"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"nonce": "someone-elses-nonce"}, "another sign-in (nonce)"),
        ({"sub": "00u-other-account"}, "no user of this organization"),
        ({"sub": "00u-gone"}, "deactivated"),
        ({"sub": None}, "names nobody"),
        ("bad signature", "bad signature"),
    ],
    ids=["iss", "aud", "expired", "nonce", "other-account", "deactivated", "no-sub", "signature"],
)
def test_an_untrustworthy_or_unlinked_answer_is_refused_and_signs_nobody_in(
    provider: Any,
    tiny: TinyProvider,
    pat: User,
    make_account: Any,
    make_user: Any,
    shape: Any,
    says: str,
) -> None:
    make_user(make_account(), "other.person", external_id="00u-other-account")
    make_user(provider.account, "gone.person", external_id="00u-gone", active=False)
    connect(provider, tiny.issuer, "rollcall-at-acme", "s3cret-s3cret")
    if shape == "bad signature":
        tiny.signer = RSAKey.generate_key(2048, {"kid": "k1"})
    else:
        tiny.claims = shape
    response = round_trip(provider, tiny)
    assert response.status_code == 400
    assert says in response.text
    assert sessions(provider) == 0


def test_a_replayed_or_unknown_state_is_refused(
    provider: Any, tiny: TinyProvider, pat: User
) -> None:
    connect(provider, tiny.issuer, "rollcall-at-acme", "s3cret-s3cret")
    first = round_trip(provider, tiny)
    assert first.status_code == 302
    browser = first.browser  # type: ignore[attr-defined]
    used = first.request.url
    again = browser.get(used)
    assert again.status_code == 400 and "already used" in again.text
    unknown = Browser(provider.base).get(f"{CALLBACK}?code=abc&state=made-up")
    assert unknown.status_code == 400 and "already used" in unknown.text
    # A state started in another browser (a link someone sent) signs this one in as nobody.
    other = Browser(provider.base)
    authorize = start(other, "pat.acme").headers["Location"]
    tiny.nonce = query(authorize)["nonce"]
    stolen = Browser(provider.base).get(f"{CALLBACK}?code=abc&state={query(authorize)['state']}")
    assert stolen.status_code == 400 and "another browser" in stolen.text
    assert sessions(provider) == 1  # the first sign-in's only


def test_the_provider_saying_no_is_shown(provider: Any, tiny: TinyProvider, pat: User) -> None:
    connect(provider, tiny.issuer, "rollcall-at-acme", "s3cret-s3cret")
    browser = Browser(provider.base)
    state = query(start(browser, "pat.acme").headers["Location"])["state"]
    response = browser.get(
        f"{CALLBACK}?error=access_denied&error_description=Not+assigned&state={state}"
    )
    assert response.status_code == 400 and "Not assigned" in response.text


def test_an_unreachable_provider_is_a_page_not_a_crash(provider: Any, pat: User) -> None:
    upstream.forget()
    connect(provider, "http://127.0.0.1:9", "rollcall", "s3cret-s3cret")
    browser = Browser(provider.base)
    page = browser.get("/signin")
    response = browser.post("/signin", hidden_inputs(page.text) | {"login": "pat.acme"})
    assert response.status_code == 400 and "Cannot reach" in response.text


def test_everyone_else_gets_the_password_form_and_the_single_form_still_works(
    provider: Any, tiny: TinyProvider
) -> None:
    browser = Browser(provider.base)
    page = browser.get("/signin?login_hint=ada")
    assert 'value="ada"' in page.text
    step = browser.post("/signin", hidden_inputs(page.text) | {"login": "ada"})
    assert step.status_code == 200 and 'id="password-step"' in step.text
    assert browser.sign_in("ada").status_code == 302  # login and password posted together


def test_a_required_connection_sends_a_password_sign_in_upstream(
    provider: Any, tiny: TinyProvider, pat: User
) -> None:
    connect(provider, tiny.issuer, "rollcall-at-acme", "s3cret-s3cret", required=True)
    response = Browser(provider.base).sign_in("pat.acme", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(tiny.issuer + "/authorize?")


def test_a_long_authorization_request_survives_the_trip(
    provider: Any, tiny: TinyProvider, pat: User
) -> None:
    """The page to go back to (an application's authorize URL) is kept whole, however long."""
    connect(provider, tiny.issuer, "rollcall-at-acme", "s3cret-s3cret")
    long_next = "/oauth/authorize?state=" + "s" * 3000
    browser = Browser(provider.base)
    authorize = start(browser, "pat.acme", next_path=long_next).headers["Location"]
    tiny.nonce = query(authorize)["nonce"]
    back = browser.get(f"{CALLBACK}?code=abc&state={query(authorize)['state']}")
    assert back.status_code == 302 and back.headers["Location"] == long_next


@pytest.fixture
def production_network() -> Iterator[None]:
    """Providers reached as in production: public https addresses only."""
    upstream.allow_private_providers(False)
    try:
        yield
    finally:
        upstream.allow_private_providers(True)


@pytest.mark.parametrize(
    ("issuer", "said"),
    [
        ("http://127.0.0.1:1", "not an https URL"),
        ("https://127.0.0.1:22", "private network"),
        ("https://localhost:8121", "private network"),
        ("https://[::1]:8121", "private network"),
        ("https://10.1.2.3", "private network"),
        ("https://169.254.169.254", "private network"),  # a cloud's metadata service
    ],
)
def test_a_provider_inside_rollcalls_own_network_is_never_called(
    production_network: None, issuer: str, said: str
) -> None:
    """A main contact names the issuer, and the provider names its key set and token
    endpoint: none of them may make Rollcall call this machine or its neighbours (SSRF)."""
    line = upstream.check(issuer)
    assert said in line
    assert "Max retries" not in line and "refused" not in line.lower()
    with pytest.raises(federation.FederationRefused, match=said):
        upstream.reachable(issuer + "/jwks", "key set (JWKS)")
