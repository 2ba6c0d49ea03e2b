"""Manage Users walked in Chromium against a served Rollcall, mails caught by a real SMTP server:
a main contact's whole console, then a support operator's pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from store import csc, new_users, users
from store.applications import ensure_application
from tests.browser import Page
from tests.mail import Mailbox

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"


def count(page: Page) -> str:
    return page.locator(".pager .count").inner_text()


def row(page: Page, user_name: str) -> Any:
    return page.locator("table.users tbody tr", has_text=user_name)


def test_a_main_contact_manages_the_accounts_users(
    page: Page, mailbox: Mailbox, db: Any, make_account: Any, make_user: Any, operator: Any
) -> None:
    with db.transaction() as tx:
        ensure_application(tx, operator, key="icd10", name="ICD-10")
    account = make_account(
        "Horsham Health", legal_name="Horsham Health LLC", sap_customer_id="0108"
    )
    make_user(
        account,
        "mae.main",
        profile="main",
        given_name="Mae",
        family_name="Main",
        password=PASSWORD,
        email_verified=True,
        emails=[{"value": "mae@horsham.test", "primary": True}],
    )
    for i in range(24):
        make_user(account, f"staff{i:02d}", given_name=f"Staff{i:02d}", family_name="Member")
    former = make_user(  # pat@horsham.test is an address of theirs, not the one they sign in with
        account,
        "pat.former",
        given_name="Pat",
        emails=[
            {"value": "pat.former@horsham.test", "primary": True},
            {"value": "pat@horsham.test", "type": "home"},
        ],
    )
    with db.transaction() as tx:
        users.deactivate(tx, operator, former.id)
        pushed = new_users.create_user(
            tx,
            _okta(account),
            account_id=account.id,
            user_name="ida.pushed",
            given_name="Ida",
            family_name="Pushed",
            emails=[{"value": "ida@horsham.test", "primary": True}],
        )

    page.sign_in("mae.main", PASSWORD)
    page.open("/my-account")
    expect(page.locator("h1")).to_have_text("Account: Horsham Health")
    expect(page.locator("dl.facts").first).to_contain_text("Horsham Health LLC")
    expect(page.get_by_role("region", name="Quarterly review")).to_be_visible()
    page.screenshot("account")
    page.get_by_role("link", name="Manage Users").first.click()

    # Paging and sorting.
    expect(page.locator(".pager .count")).to_have_text("1 - 25 of 26 · Page 1 of 2")
    page.get_by_label("Per page").select_option("5")
    page.get_by_role("button", name="Go").click()
    expect(page.locator(".pager .count")).to_have_text("1 - 5 of 26 · Page 1 of 6")
    page.get_by_role("link", name="Next ▶").click()
    expect(page.locator(".pager .count")).to_have_text("6 - 10 of 26 · Page 2 of 6")
    page.get_by_role("link", name="Last »").click()
    expect(page.locator(".pager .count")).to_have_text("26 - 26 of 26 · Page 6 of 6")
    page.get_by_role("link", name="Username").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Username")
    expect(page.locator("table.users tbody tr").first).to_contain_text("ida.pushed")
    page.screenshot("sorted")

    # Search.
    page.get_by_label("Search active users").fill("staff1")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".pager .count")).to_have_text("1 - 10 of 10 · Page 1 of 1")

    # New User: the inactive match is offered first.
    page.open(f"/accounts/{account.id}/users")
    page.get_by_role("link", name="New User").click()
    page.get_by_label("First Name").fill("Pat")
    page.get_by_label("Last Name").fill("Newman")
    page.get_by_label("Email", exact=True).fill("pat@horsham.test")
    page.get_by_label("ICD-10").check()
    page.get_by_label("IT Receiver").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#inactive-match")).to_contain_text("pat.former")
    page.screenshot("inactive-match")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success")).to_contain_text("pat@horsham.test was added")
    welcome = mailbox.wait_for("pat@horsham.test", "account is ready")
    assert "/set-password/" in welcome.link("/set-password/")

    # Edit: a phone and a role.
    row(page, "pat@horsham.test").get_by_role("link", name="Edit").click()
    page.get_by_label("Phone").fill("+1 215 555 0100")
    page.get_by_label("Super User").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success")).to_contain_text("was saved")

    # Reset Password.
    page.get_by_label("Search active users").fill("staff03")
    page.get_by_role("button", name="Search").click()
    row(page, "staff03").get_by_role("button", name="Reset Password of staff03").click()
    expect(page.locator(".flash-success")).to_contain_text("reset link went to staff03")
    assert mailbox.wait_for("staff03@example.test", "Reset your").link("/reset/")

    # Deactivate with confirmation, then Activate from Inactive Users.
    row(page, "staff03").get_by_role("link", name="Deactivate staff03").click()
    page.screenshot("deactivate-confirm")
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".flash-success")).to_contain_text("moved to Inactive Users")
    page.get_by_role("link", name="Inactive Users").click()
    expect(row(page, "staff03")).to_be_visible()
    row(page, "staff03").get_by_role("link", name="Activate staff03").click()
    page.get_by_role("button", name="Save and activate").click()
    expect(page.locator(".flash-success")).to_contain_text("activated")
    assert mailbox.wait_for("staff03@example.test", "account is ready").text

    # The last main contact cannot leave.
    page.open(f"/accounts/{account.id}/users?q=mae")
    row(page, "mae.main").get_by_role("link", name="Deactivate mae.main").click()
    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator(".error-summary")).to_contain_text("last active main contact")
    expect(page.locator(".error-summary")).to_contain_text("category Community")
    page.screenshot("last-main-contact")

    # A user of the identity provider: read-only fields, profile and roles editable.
    page.open(f"/accounts/{account.id}/users/{pushed.id}")
    expect(page.locator("#managed-note")).to_contain_text("your organization's identity provider")
    expect(page.get_by_label("First Name")).to_be_disabled()
    expect(page.get_by_label("Email", exact=True)).to_be_disabled()
    page.get_by_label("Profile Permission").select_option("knowledge")
    page.get_by_label("Security Reviewer").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash-success")).to_contain_text("ida.pushed was saved")
    page.screenshot("managed-saved")

    # CSV export.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert re.search(
        r"ida\.pushed,Ida,Pushed,ida@horsham\.test,Knowledge Community User,", exported
    )
    assert "pat@horsham.test" in exported and "IT Receiver; Super User" in exported

    # Quarterly review.
    page.open(f"/accounts/{account.id}/users")
    page.get_by_role("region", name="Quarterly review").get_by_role(
        "button", name="Mark reviewed"
    ).click()
    expect(page.get_by_role("region", name="Quarterly review")).to_have_count(0)

    # Provisioning: a token shown once, then revoked.
    page.get_by_role("link", name="Provisioning Activity").click()
    page.get_by_label("Token name").fill("Okta")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_have_text(re.compile(r"^rc_"))
    page.screenshot("token-created")
    page.get_by_role("button", name="Revoke Okta").click()
    expect(page.locator("table.tokens")).to_contain_text("Revoked")
    expect(page.locator("#new-token")).to_have_count(0)


def test_support_grants_a_main_profile_and_works_in_a_child_account(
    page: Page, mailbox: Mailbox, db: Any, make_account: Any, make_user: Any, operator: Any
) -> None:
    make_account("Reseller One", kind="reseller")
    child = make_account("Child Clinic", parent="Reseller One")
    make_user(child, "child.main", profile="main", given_name="Cam")
    helper = make_user(child, "child.helper", given_name="Hana", family_name="Helper")
    asker = make_user(child, "asker", emails=[{"value": "asker@clinic.test", "primary": True}])
    with db.transaction() as tx:
        new_users.create_support_user(
            tx, operator, user_name="sam.support", email="sam@vendor.test", password=PASSWORD
        )
        csc.request_access(tx, tx.get(type(helper), asker.id), organization="Helper Clinic")

    page.sign_in("sam.support", PASSWORD)
    page.open("/support")
    page.get_by_label("Search accounts and users").fill("child")
    page.get_by_role("button", name="Search").click()
    page.screenshot("support-search")
    page.get_by_role("link", name="Child Clinic").first.click()
    expect(page.locator("#hierarchy")).to_contain_text("Reseller One")
    page.get_by_role("link", name="Manage Users").first.click()
    row(page, "child.helper").get_by_role("link", name="Edit").click()
    page.get_by_label("Profile Permission").select_option("main")
    page.get_by_role("button", name="Save").click()
    expect(row(page, "child.helper")).to_contain_text("Main Client Community User")
    page.screenshot("main-granted")

    page.open("/support/csc-requests")
    page.get_by_label("Note to asker").fill("Access granted.")
    page.get_by_role("button", name="Approve asker").click()
    expect(page.locator(".flash-success")).to_contain_text("approved")
    assert mailbox.wait_for("asker@clinic.test")

    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit")).to_contain_text("csc: access approved")
    expect(page.locator("table.audit")).to_contain_text("sam.support")


def _okta(account: Any) -> Any:
    from store.actors import Actor, ActorType, Door

    return Actor(ActorType.CREDENTIAL, "token okta", Door.SCIM, "c1", account.id, True)
