"""Issue #20, journey 2: Client Support Center access, both registration paths, walked in
Chromium from the person's side (pages, mails caught over SMTP, and the CSC opened by single
sign-on through Rollcall's OIDC redirects at the end)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from store import csc, new_users
from store.actors import Actor
from store.db import Database
from store.models.directory import Account
from tests.browser import Page
from tests.csc_application import CscApplication
from tests.mail import Mailbox

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"
WEAK_CSC_PASSWORD = "Password123!"  # the CSC's own rules allowed it; the community's do not


def sign_out(page: Page) -> None:
    """One click on the header's Sign out, as a person signs out from any page."""
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Sign out").click()


def enable(page: Page, mailbox: Mailbox, address: str) -> None:
    mail = mailbox.wait_for(address, "Enable your")
    page.open(mail.link("/verify/"))
    page.get_by_role("button", name="Enable my account").click()
    assert page.heading() == "Your account is enabled"


def open_csc_from_home(page: Page) -> None:
    page.open("/")
    page.screenshot("home")
    page.get_by_role("link", name="Client Support Center").click()
    expect(page.locator("#welcome")).to_be_visible()


def test_have_access_with_a_csc_password_the_community_refuses(
    page: Page, mailbox: Mailbox, db: Database, csc_application: CscApplication
) -> None:
    with db.transaction() as tx:
        csc.import_csv(
            tx,
            Actor.system(),
            io.StringIO(f"username,password\nCarla.CSC,{WEAK_CSC_PASSWORD}\n"),
        )
    csc_application.serve(page)

    page.open("/register")
    page.get_by_label("I use NextGen software and have access to the Client Support Center").check()
    page.get_by_label("Client Support Center username").fill("carla.csc")
    page.get_by_label("Client Support Center password").fill(WEAK_CSC_PASSWORD)
    page.get_by_label("First name").fill("Carla")
    page.get_by_label("Last name").fill("Client")
    page.get_by_label("Email address").fill("carla@example.com")
    page.get_by_role("button", name="Register").click()
    summary = page.locator(".error-summary")
    assert "login is verified" in summary.inner_text()  # no dead end: asked for a password
    page.screenshot("asked-for-a-community-password")

    page.get_by_label("Client Support Center password").fill(WEAK_CSC_PASSWORD)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    assert page.heading() == "Check your email"
    enable(page, mailbox, "carla@example.com")

    page.sign_in("carla.csc", WEAK_CSC_PASSWORD)  # the two passwords are independent
    assert page.locator(".error-summary").is_visible()
    page.sign_in("carla.csc", PASSWORD)
    page.open("/profile")
    assert "Access granted" in page.locator("dl.facts").inner_text()

    open_csc_from_home(page)  # single sign-on: no second login
    assert page.url.startswith("https://csc.example.test/callback?code=")
    assert page.locator("#welcome").inner_text() == "Welcome, Carla Client"
    page.screenshot("in-the-csc")
    assert [who["preferred_username"] for who in csc_application.signed_in] == ["Carla.CSC"]


def register_asking_for_access(page: Page, first: str, last: str, organization: str) -> None:
    user_name = f"{first}.{last}".lower()
    page.open("/register")
    page.get_by_label(
        "I use NextGen software and would like access to the Client Support Center"
    ).check()
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name").fill(last)
    page.get_by_label("Email address").fill(f"{first.lower()}@example.com")
    page.get_by_role("button", name="Register").click()
    assert "Name your organization" in page.locator(".error-summary").inner_text()
    page.screenshot("organization-asked")
    page.get_by_label("Organization").fill(organization)
    page.get_by_label("Customer number").fill("C-1042")
    page.get_by_label("Username", exact=True).fill(user_name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    assert page.heading() == "Check your email"
    assert "72 hours" in page.locator("main").inner_text()


def test_would_like_access_support_vets_attaches_and_the_csc_opens(
    page: Page,
    mailbox: Mailbox,
    db: Database,
    operator: Actor,
    make_account: Callable[..., Account],
    csc_application: CscApplication,
) -> None:
    make_account("Lakeview Clinic")
    with db.transaction() as tx:
        new_users.create_support_user(
            tx, operator, user_name="sam.support", email="sam@vendor.test", password=PASSWORD
        )
    csc_application.serve(page)

    register_asking_for_access(page, "Rita", "Request", "Lakeview Clinic")
    enable(page, mailbox, "rita@example.com")
    register_asking_for_access(page, "Rex", "Unknown", "Nowhere Practice")
    page.sign_in("rita.request", PASSWORD)
    page.open("/profile")
    assert "Requested" in page.locator("dl.facts").inner_text()
    page.open("https://csc.example.test/")  # not yet: the CSC refuses, and says who decides
    assert page.heading() == "You do not have access to Client Support Center"
    assert "Support gives access" in page.locator("main").inner_text()
    page.screenshot("csc-refused-before-approval")
    sign_out(page)

    page.sign_in("sam.support", PASSWORD)
    page.open("/support/csc-requests")
    rita = page.locator("table.requests tbody tr", has_text="rita.request")
    expect(rita).to_contain_text("Lakeview Clinic")
    expect(rita).to_contain_text("C-1042")
    rita.get_by_label("Attach rita.request to account").fill("Lakeview Clinic")
    page.screenshot("support-decides")
    rita.get_by_role("button", name="Approve rita.request").click()
    expect(page.locator(".flash")).to_contain_text("approved and attached to Lakeview Clinic")
    rex = page.locator("table.requests tbody tr", has_text="rex.unknown")
    rex.get_by_label("Note to rex.unknown").fill("We found no client named Nowhere Practice.")
    rex.get_by_role("button", name="Reject rex.unknown").click()
    expect(page.locator(".flash")).to_contain_text("rejected")

    rejected = mailbox.wait_for("rex@example.com", "Client Support Center access")
    assert "not approved" in rejected.text and "no client named Nowhere Practice" in rejected.text
    approved = mailbox.wait_for("rita@example.com", "Client Support Center access")
    assert "approved" in approved.text
    sign_out(page)

    page.sign_in("rita.request", PASSWORD)
    page.open("/profile")
    facts = page.locator("dl.facts").inner_text()
    assert "Access granted" in facts and "Lakeview Clinic" in facts
    open_csc_from_home(page)
    assert page.locator("#welcome").inner_text() == "Welcome, Rita Request"
    page.screenshot("in-the-csc")
