"""Issue #20, journey 6: before adding a user, the main contact is offered the inactive person
of the same first and last name (the guide's inactive list has people with no email), activates
them instead of adding a duplicate, and the person is mailed at the address given. Walked in
Chromium, mails caught over SMTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from store import users
from store.actors import Actor
from store.db import Database
from store.models.directory import Account, User
from tests.browser import Page
from tests.mail import Mailbox

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"


def test_a_new_user_named_like_an_inactive_one_is_activated_instead(
    page: Page,
    mailbox: Mailbox,
    db: Database,
    operator: Actor,
    make_account: Callable[..., Account],
    make_user: Callable[..., User],
) -> None:
    account = make_account("Brookside Medical")
    make_user(
        account,
        "mae.main",
        profile="main",
        given_name="Mae",
        family_name="Main",
        password=PASSWORD,
        email_verified=True,
        emails=[{"value": "mae@brookside.test", "primary": True}],
    )
    nell = make_user(account, "nell.nomail", given_name="Nell", family_name="Norris", emails=[])
    with db.transaction() as tx:
        users.deactivate(tx, operator, nell.id)

    page.open("/signin")
    page.get_by_label("Username or email").fill("mae.main")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.open(f"/accounts/{account.id}/users")
    page.get_by_role("link", name="New User").click()
    page.get_by_label("First Name").fill("nell")
    page.get_by_label("Last Name").fill("NORRIS")
    page.get_by_label("Email", exact=True).fill("nell@brookside.test")
    page.get_by_role("button", name="Save").click()

    offer = page.locator("#inactive-match")
    expect(offer).to_contain_text("Nell Norris (nell.nomail, no email address)")
    page.screenshot("offered-the-inactive-namesake")
    offer.get_by_role("link", name="Activate nell.nomail").click()
    page.get_by_label("Email", exact=True).fill("nell@brookside.test")
    page.get_by_role("button", name="Save and activate").click()
    expect(page.locator(".flash-success")).to_contain_text("activated")
    page.screenshot("activated")

    page.open(f"/accounts/{account.id}/users?q=norris")
    rows: Any = page.locator("table.users tbody tr", has_text="Norris")
    expect(rows).to_have_count(1)  # the person came back; no duplicate was added
    expect(rows).to_contain_text("nell.nomail")
    # The address the main contact gave is confirmed by the person before it signs them in.
    confirm = mailbox.wait_for("nell@brookside.test", "Confirm your new")
    assert "nell.nomail" in confirm.text or "Nell" in confirm.text
