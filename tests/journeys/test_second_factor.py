"""Issue #21, multi-factor authentication, in Chromium: Mae, a main contact, requires a second
factor of her account's main contacts in the console; at her next sign-in she is walked through
setting up an authenticator app
(the key read off the page as text, codes computed by the test with pyotp) and shown her
recovery codes once; she signs out, signs in again with a code, and opens an application
registered as requiring MFA without being asked again, its ID token saying `pwd otp mfa`. Lee,
who signed in with a password alone, is stepped up when he opens the same application."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.authenticator_app import Authenticator
from tests.browser import Page
from tests.live import example_application, live, register_example

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "juniper lantern 27 softly"


def sign_out(page: Page) -> None:
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()


def claims_shown(page: Page) -> dict[str, Any]:
    """The ID token claims the example application shows."""
    return json.loads(page.locator("#claims").inner_text())


def set_up_app(page: Page) -> Authenticator:
    """On the set-up page: read the key as a person types it into their app, confirm a code."""
    expect(page.locator("h1")).to_have_text("Set up an authenticator app")
    expect(page.locator(".qr svg")).to_be_visible()
    app = Authenticator(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code from your app").fill(app.code())
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.locator("h1")).to_have_text("Save your recovery codes")
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    return app


def test_a_required_second_factor_from_set_up_to_an_application(
    page: Page,
    second_page: Page,
    live_server: Any,
    db: Any,
    make_account: Any,
    make_user: Any,
    operator: Any,
) -> None:
    account = make_account("Juniper Clinic")
    mae = make_user(
        account,
        "mae.juniper",
        profile="main",
        given_name="Mae",
        family_name="Juniper",
        password=PASSWORD,
        email_verified=True,
    )
    make_user(
        account,
        "lee.juniper",
        profile="client",
        given_name="Lee",
        family_name="Juniper",
        password=PASSWORD,
        email_verified=True,
    )
    secret = "csc-example-secret"
    csc = example_application(live_server.url, "csc-example", secret)
    with live(csc) as csc_url:
        with db.transaction() as tx:
            register_example(
                tx,
                operator,
                csc_url,
                name="Client Support Center",
                client_id="csc-example",
                secret=secret,
                scopes=("openid", "profile", "email"),
                post_logout_redirect_uris=[f"{csc_url}/"],
                access="everyone",
                require_mfa=True,
            )

        # Mae requires a second factor of the account's main contacts (herself included).
        page.sign_in(mae.user_name, PASSWORD)
        expect(page.locator("h1")).to_have_text("Your applications")
        page.open(f"/accounts/{account.id}/security")
        page.get_by_label("Required for main contacts").check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash-success")).to_contain_text("Required for main contacts")
        sign_out(page)

        # Her next sign-in walks her through setting one up.
        page.sign_in(mae.user_name, PASSWORD)
        expect(page.locator(".lead")).to_contain_text("Your organization requires a second factor")
        page.screenshot("set-up")
        app = set_up_app(page)
        page.screenshot("recovery-codes")
        page.get_by_role("link", name="Continue").click()
        expect(page.locator("h1")).to_have_text("Your applications")

        # Next time: the password, then a code from the app.
        sign_out(page)
        page.sign_in(mae.user_name, PASSWORD)
        expect(page.locator("h1")).to_have_text("Confirm it is you")
        page.screenshot("second-factor")
        page.get_by_label("Code from your app").fill(app.code())
        page.get_by_role("button", name="Verify").click()
        expect(page.locator("h1")).to_have_text("Your applications")

        # The application requiring MFA opens at once: the session has both factors.
        page.open(f"{csc_url}/")
        page.click("#login")
        expect(page.locator("#welcome")).to_contain_text("Mae Juniper")
        claims = claims_shown(page)
        assert claims["amr"] == ["pwd", "otp", "mfa"]
        assert claims["acr"] == "urn:rollcall:acr:2fa"

        # Lee need not have a second factor, until he opens that application.
        other = second_page
        other.sign_in("lee.juniper", PASSWORD)
        expect(other.locator("h1")).to_have_text("Your applications")
        other.open(f"{csc_url}/")
        other.click("#login")
        expect(other.locator(".lead")).to_contain_text("This application requires a second factor")
        set_up_app(other)
        other.get_by_role("link", name="Continue").click()
        expect(other.locator("#welcome")).to_contain_text("Lee Juniper")
        assert claims_shown(other)["amr"] == ["pwd", "otp", "mfa"]
