"""Issue #20, journey 4: someone leaves. A main contact marks a colleague who left "No Longer at
Account"; the colleague's browser, token, applications and contact roles all stop, and the record
stays, badged, in a list of its own (SPEC §1 Users)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from store import applications
from tests.browser import Page

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"


def test_a_colleague_who_left_loses_everything_the_organization_gave(
    page: Page, second_page: Page, db: Any, make_account: Any, make_user: Any, operator: Any
) -> None:
    with db.transaction() as tx:
        icd10 = applications.ensure_application(tx, operator, key="icd10", name="ICD-10")
        icd10.launch_url = "https://icd10.example.test/launch"
    account = make_account("Horsham Health")
    make_user(account, "mae.main", profile="main", password=PASSWORD, email_verified=True)
    make_user(
        account,
        "lee.leaving",
        profile="main",
        given_name="Lee",
        family_name="Leaving",
        password=PASSWORD,
        applications=["icd10"],
        email_verified=True,
    )
    lee_browser, mae_browser = page, second_page

    # Lee, still a main contact, opens ICD-10 from home, holds a role and mints a token.
    lee_browser.sign_in("lee.leaving", PASSWORD)
    expect(lee_browser.get_by_role("link", name="ICD-10")).to_be_visible()
    lee_browser.get_by_role("link", name="Manage your organization's users").click()
    lee_browser.get_by_role("link", name="Manage Users").first.click()
    lee_browser.locator("table.users tbody tr", has_text="lee.leaving").get_by_role(
        "link", name="Edit"
    ).click()
    lee_browser.get_by_label("Outage Notification Receiver").check()
    lee_browser.get_by_role("button", name="Save").click()
    expect(lee_browser.locator(".flash-success")).to_contain_text("was saved")
    lee_browser.get_by_role("link", name="Provisioning Activity").click()
    lee_browser.get_by_label("Token name").fill("Lee's Okta")
    lee_browser.get_by_role("button", name="Create token").click()
    token = lee_browser.locator("#new-token").inner_text()
    scim = {"Authorization": f"Bearer {token}"}
    users_url = f"{lee_browser.base_url}/scim/v2/Users"
    assert lee_browser.request.get(users_url, headers=scim).status == 200

    # Mae marks Lee "No Longer at Account".
    mae_browser.sign_in("mae.main", PASSWORD)
    mae_browser.open("/my-account")
    mae_browser.get_by_role("link", name="Manage Users").first.click()
    mae_browser.locator("table.users tbody tr", has_text="lee.leaving").get_by_role(
        "link", name="Edit"
    ).click()
    mae_browser.get_by_label("No Longer at Account").check()
    mae_browser.get_by_role("button", name="Save").click()
    expect(mae_browser.locator(".flash-success")).to_contain_text("lee.leaving was saved")

    # The record stays, badged, in a list of its own; no longer among the active users.
    expect(mae_browser.locator("h2#list-title")).to_have_text("No Longer at Account")
    lee_row = mae_browser.locator("table.users tbody tr", has_text="lee.leaving")
    expect(lee_row.locator(".badge.warn")).to_have_text("No longer at account")
    mae_browser.screenshot("no-longer-at-account-list")
    mae_browser.get_by_role("link", name="Active Users", exact=True).click()
    expect(mae_browser.locator("table.users")).not_to_contain_text("lee.leaving")
    mae_browser.get_by_role("link", name="No Longer at Account").click()
    lee_row.get_by_role("link", name="Edit").click()
    expect(mae_browser.get_by_label("Outage Notification Receiver")).not_to_be_checked()
    expect(mae_browser.get_by_label("ICD-10")).not_to_be_checked()

    # Lee's browser was signed out; the token Lee minted no longer works.
    lee_browser.reload()
    expect(lee_browser.page).to_have_url(re.compile(r"/signin"))
    assert lee_browser.request.get(users_url, headers=scim).status == 401

    # Signing in again, Lee finds no application and no Manage Users.
    lee_browser.sign_in("lee.leaving", PASSWORD)
    expect(lee_browser.locator("h1")).to_have_text("Your applications")
    expect(lee_browser.get_by_role("link", name="ICD-10")).to_have_count(0)
    expect(lee_browser.get_by_text("Manage your organization's users")).to_have_count(0)
    lee_browser.screenshot("lee-home")
    lee_browser.open(f"/accounts/{account.id}/users")
    expect(lee_browser.locator("h1")).to_have_text("Not allowed")
