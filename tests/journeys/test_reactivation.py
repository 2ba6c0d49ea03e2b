"""Issue #20, journey 5: reactivation and email changes. A main contact brings back a person who
now has another address: the sign-in mail goes to the new address, the old one is told who asked
for the change; later the person changes the address themselves and is told it was them."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from store import users
from tests.browser import Page
from tests.mail import Mailbox

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"


def test_a_returning_colleague_is_reached_at_the_new_address(
    page: Page,
    second_page: Page,
    mailbox: Mailbox,
    db: Any,
    make_account: Any,
    make_user: Any,
    operator: Any,
) -> None:
    account = make_account("Horsham Health")
    make_user(account, "mae.main", profile="main", password=PASSWORD, email_verified=True)
    pat = make_user(
        account,
        "pat.back",
        given_name="Pat",
        family_name="Back",
        password=PASSWORD,
        email_verified=True,
        emails=[{"value": "pat@old-clinic.test", "primary": True}],
    )
    with db.transaction() as tx:
        users.deactivate(tx, operator, pat.id)
    mae, pat_browser = page, second_page

    # Mae activates Pat and gives the new address in the same save.
    mae.sign_in("mae.main", PASSWORD)
    mae.open("/my-account")
    mae.get_by_role("link", name="Manage Users").first.click()
    mae.get_by_role("link", name="Inactive Users").click()
    mae.get_by_role("link", name="Activate pat.back").click()
    mae.get_by_label("Email", exact=True).fill("pat@new-clinic.test")
    mae.get_by_role("button", name="Save and activate").click()
    expect(mae.locator(".flash-success")).to_contain_text(
        "activated; a sign-in email is on its way to pat@new-clinic.test"
    )
    mae.screenshot("activated-with-new-address")

    # The sign-in mail reaches Pat where Pat is now; the old address hears who asked.
    ready = mailbox.wait_for("pat@new-clinic.test", "account is ready")
    assert "was activated again" in ready.text
    notice = mailbox.wait_for("pat@old-clinic.test", "new email address was requested")
    assert "Your organization's main contact asked" in notice.text
    assert "pat@new-clinic.test" in notice.text and "Someone signed in" not in notice.text
    mailbox.settle()
    assert not [m for m in mailbox.to("pat@old-clinic.test") if "ready" in m.subject]

    # Pat confirms the new address, signs in, and later moves to yet another one.
    confirm = mailbox.wait_for("pat@new-clinic.test", "Confirm your new")
    pat_browser.open(confirm.link("/profile/email/"))
    pat_browser.get_by_role("button", name="Confirm my new address").click()
    pat_browser.sign_in("pat@new-clinic.test", PASSWORD)
    pat_browser.open("/profile")
    email = pat_browser.locator("#email")
    email.get_by_label("New email address").fill("pat@home.test")
    email.get_by_label("Current password").fill(PASSWORD)
    email.get_by_role("button", name="Send confirmation link").click()
    expect(pat_browser.locator(".flashes")).to_contain_text("confirmation link")
    told = mailbox.wait_for("pat@new-clinic.test", "new email address was requested")
    assert "You asked to change" in told.text and "pat@home.test" in told.text
