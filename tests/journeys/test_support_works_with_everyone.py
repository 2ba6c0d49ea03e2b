"""Issue #20, journey 7: support works with everyone. A support operator finds a guest by search,
opens them, mails them a password reset, attaches them to an account and deactivates them, then
reads what happened in the audit log: who, what, the target by name, the changes as a short list,
page by page. Walked in Chromium, mails caught over SMTP."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from store import new_users
from store.actors import Actor
from store.db import Database
from store.models.directory import Account, User
from tests.browser import Page
from tests.mail import Mailbox

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def test_support_opens_a_guest_resets_attaches_deactivates_and_reads_the_log(
    page: Page,
    mailbox: Mailbox,
    db: Database,
    operator: Actor,
    make_account: Callable[..., Account],
    make_user: Callable[..., User],
) -> None:
    make_account("Maple Clinic")
    make_user(
        None,
        "gail.guest",
        given_name="Gail",
        family_name="Guest",
        password=PASSWORD,
        email_verified=True,
        emails=[{"value": "gail@example.com", "primary": True}],
    )
    for i in range(55):  # more events than a page of the log holds
        make_user(None, f"visitor{i:02d}", given_name=f"Visitor{i:02d}", family_name="Guest")
    with db.transaction() as tx:
        new_users.create_support_user(
            tx, operator, user_name="sam.support", email="sam@vendor.test", password=PASSWORD
        )

    page.open("/signin")
    page.get_by_label("Username or email").fill("sam.support")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.open("/support")
    page.get_by_label("Search accounts and users").fill("gail")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Gail Guest").click()  # a guest opens like everyone else
    facts = page.locator("#person")
    expect(facts).to_contain_text("gail@example.com")
    expect(facts).to_contain_text("a guest or self-registered person")
    page.screenshot("guest-opened")

    page.get_by_role("button", name="Reset Password").click()
    expect(page.locator(".flash-success")).to_contain_text("reset link went to gail.guest")
    assert mailbox.wait_for("gail@example.com", "Reset your").link("/reset/")

    page.get_by_label("Attach to account").fill("Maple Clinic")
    page.get_by_role("button", name="Attach").click()
    expect(page.locator(".flash-success")).to_contain_text("now a user of Maple Clinic")
    expect(facts).to_contain_text("Maple Clinic")
    expect(facts).to_contain_text("Client Community User")

    page.get_by_text("Deactivate…").click()  # asks first
    page.get_by_role("button", name="Deactivate gail.guest").click()
    expect(page.locator(".flash-success")).to_contain_text("gail.guest was deactivated")
    expect(facts).to_contain_text("Inactive")
    page.screenshot("guest-attached-and-deactivated")

    page.get_by_role("link", name="Audit log").click()
    log = page.locator("table.audit")
    attached = log.locator("tbody tr", has_text="attached to account")
    expect(attached).to_contain_text("sam.support")
    expect(attached).to_contain_text("Gail Guest (gail.guest)")
    expect(attached.locator("ul.changes li")).to_have_text(
        ["account: (none) → Maple Clinic", "profile: guest → client"]
    )
    deactivated = log.locator("tbody tr", has_text="user: deactivated")
    expect(deactivated.locator("ul.changes li")).to_have_text(["active: yes → no"])
    assert not UUID.search(log.inner_text()), "targets are named, not numbered"
    page.screenshot("audit-log")

    expect(log.locator("tbody tr")).to_have_count(50)
    page.get_by_role("link", name="Older events").click()
    expect(log).to_contain_text("Gail Guest (gail.guest)")  # her creation, on the older page
    page.get_by_role("link", name="Newest events").click()
    expect(log.locator("tbody tr").first).to_contain_text("deactivated")
