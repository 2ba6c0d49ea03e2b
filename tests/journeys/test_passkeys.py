"""In Chromium, with its virtual authenticator (the DevTools WebAuthn domain, through Playwright's
CDP session): a person adds a passkey on their profile page, confirms a sign-in with it after
their password, and later signs in with it alone; the SSO session and the ID token an
application receives say how (amr)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import requests
from sqlalchemy import update

from store import clients, sso_sessions
from store.actors import Actor
from store.db import Database, now
from store.models.directory import User
from store.models.sign_in import SsoSession
from tests.browser import LiveServer, Page
from tests.mail import Mailbox
from tests.oidc import pkce_pair, query

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"
APP = "https://app.example.test"


@pytest.fixture
def at_localhost(
    chromium: Any, live_server: LiveServer, request: pytest.FixtureRequest
) -> Iterator[Page]:
    """A browser at http://localhost:PORT: a secure context whose host can be a WebAuthn relying
    party id (an IP address such as 127.0.0.1 cannot). No ROLLCALL_ISSUER is set, so Rollcall
    takes the relying party from the address the browser came to."""
    base = live_server.url.replace("127.0.0.1", "localhost")
    context = chromium.new_context(base_url=base)
    context.set_default_timeout(15_000)
    try:
        yield Page(context.new_page(), base, request.node.name)
    finally:
        context.close()


@pytest.fixture
def person(make_user: Callable[..., User]) -> User:
    return make_user(
        None,
        "pia.passkey",
        given_name="Pia",
        family_name="Passkey",
        password=PASSWORD,
        email_verified=True,
        emails=[{"value": "pia@example.test", "primary": True}],
    )


def virtual_authenticator(page: Page, **options: Any) -> Any:
    """Chromium's virtual authenticator on this page's browser: a platform passkey that
    verifies the person, unless `options` say otherwise."""
    cdp = page.context.new_cdp_session(page.page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    settings = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    } | options
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": settings})
    return cdp, added["authenticatorId"]


def at(path: str) -> Callable[[str], bool]:
    """A URL matcher on the path alone (`next=/profile` in a query is not being there)."""
    return lambda url: urlsplit(url).path == path


def session_proof(page: Page, db: Database) -> tuple[tuple[str, ...], str]:
    [cookie] = [c for c in page.context.cookies() if c["name"] == "rollcall_sso"]
    with db.transaction(write=False) as tx:
        session = sso_sessions.find(tx, cookie["value"])
        assert session is not None
        proof = sso_sessions.proof_of(session)
    return proof.amr, proof.acr


def id_token_claims(page: Page, db: Database, operator: Actor) -> dict[str, Any]:
    """Sign in to an application through this browser's SSO session (code flow with PKCE) and
    return the claims of the ID token it receives."""
    with db.transaction() as tx:
        client, secret = clients.create_client(
            tx,
            operator,
            name="Passkey demo",
            redirect_uris=[f"{APP}/callback"],
            access="everyone",
            first_party=True,
        )
        client_id = client.client_id
    assert secret is not None
    return _claims(page, client_id, secret)


def _claims(page: Page, client_id: str, secret: str) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": f"{APP}/callback",
        "scope": "openid",
        "state": "s1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    # The browser's cookies, without following the redirect to an application that is not there.
    answer = page.context.request.get(f"/oauth/authorize?{urlencode(params)}", max_redirects=0)
    location = answer.headers["location"]
    assert location.startswith(f"{APP}/callback?"), location
    code = query(location)["code"]
    tokens = requests.post(
        f"{page.base_url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{APP}/callback",
            "code_verifier": verifier,
        },
        auth=(client_id, secret),
        timeout=10,
    )
    tokens.raise_for_status()
    payload = tokens.json()["id_token"].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_passkey_added_on_the_profile_confirms_sign_in_and_signs_in_alone(
    at_localhost: Page, db: Database, person: User, mailbox: Mailbox, operator: Actor
) -> None:
    page = at_localhost
    cdp, authenticator = virtual_authenticator(page)

    page.sign_in("pia.passkey", PASSWORD)
    page.open("/profile")
    page.get_by_role("link", name="Manage your passkeys and security keys").click()
    assert page.heading() == "Passkeys and security keys"
    page.get_by_label("Name (so you can tell your keys apart)").fill("This laptop")
    page.get_by_role("button", name="Add a passkey or security key").click()
    page.get_by_text("Your passkey “This laptop” is added.").wait_for()
    assert page.locator("[data-passkey] strong").all_inner_texts() == ["This laptop"]
    page.screenshot("added")
    mail = mailbox.wait_for("pia@example.test", "A passkey was added")
    assert "This laptop" in mail.text
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(stored["credentials"]) == 1 and stored["credentials"][0]["isResidentCredential"]

    assert session_proof(page, db) == (("pwd",), "urn:rollcall:acr:1fa")
    page.open("/signin/passkey?next=/profile")
    page.get_by_role("button", name="Use my passkey or security key").click()
    page.wait_for_url(at("/profile"))
    assert session_proof(page, db) == (("pwd", "swk", "mfa"), "urn:rollcall:acr:2fa")
    claims = id_token_claims(page, db, operator)
    assert claims["amr"] == ["pwd", "swk", "mfa"]
    assert claims["acr"] == "urn:rollcall:acr:2fa"

    page.open("/signout")
    page.locator("main").get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="You are signed out").wait_for()
    page.open("/signin?next=/profile")
    page.screenshot("sign-in-page")
    page.get_by_role("button", name="Use a passkey instead").click()
    page.wait_for_url(at("/profile"))
    assert page.heading() == "Your profile"
    assert session_proof(page, db) == (("swk", "user", "mfa"), "urn:rollcall:acr:2fa")
    page.screenshot("signed-in-with-a-passkey-alone")
    page.open("/profile/security/passkeys")
    assert "last used" in page.inner_text("#keys")


def test_a_security_key_earns_hwk_and_is_removed(
    at_localhost: Page, db: Database, person: User, mailbox: Mailbox
) -> None:
    page = at_localhost
    virtual_authenticator(page, transport="usb", hasResidentKey=False, hasUserVerification=False)
    page.sign_in("pia.passkey", PASSWORD)
    with db.transaction() as tx:  # signed in a while ago: adding a key asks for the password
        tx.execute(update(SsoSession).values(auth_time=now() - timedelta(minutes=20)))
    page.open("/profile/security/passkeys")
    page.get_by_role("link", name="Sign in again to add a key").click()
    page.get_by_label("Username or email").fill("pia.passkey")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(at("/profile/security/passkeys"))
    page.get_by_role("button", name="Add a passkey or security key").click()
    page.get_by_text("Your security key “Security key” is added.").wait_for()
    page.screenshot("security-key-added")
    page.open("/signin/passkey?next=/")
    page.get_by_role("button", name="Use my passkey or security key").click()
    page.wait_for_url(at("/"))
    assert session_proof(page, db)[0] == ("pwd", "hwk", "mfa")

    page.open("/profile/security/passkeys")
    page.get_by_role("button", name="Remove").click()
    page.get_by_text("It is removed: it no longer signs you in.").wait_for()
    assert page.get_by_text("None yet.").is_visible()
    assert mailbox.wait_for("pia@example.test", "A security key was removed")
