"""Issue #20, journey 3, in Chromium: support gives NG Share its launch address on the
Applications page; the main contact's console offers only grantable applications (not the
Success Community everyone has, nor the Client Support Center support vets); the person's home
page links each application they may open, lists none they may not, and NG Share opens with no
second sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from store import applications, new_users
from tests.browser import Page
from tests.live import example_application, live, register_example

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"


def browser_of(chromium: Any, live_server: Any, name: str) -> tuple[Any, Page]:
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    return context, Page(context.new_page(), live_server.url, name)


def test_the_home_page_launches_what_the_person_may_open(
    page: Page,
    live_server: Any,
    chromium: Any,
    db: Any,
    make_account: Any,
    make_user: Any,
    operator: Any,
) -> None:
    account = make_account("Lakeview Clinic")
    people = {}
    for user_name, profile in (("mae.main", "main"), ("lee.client", "client")):
        people[user_name] = make_user(
            account,
            user_name,
            profile=profile,
            given_name=user_name.split(".")[0].title(),
            family_name="Lakeview",
            password=PASSWORD,
            email_verified=True,
        )
    secret = "ng-share-example-secret"
    share = example_application(live_server.url, "ng-share", secret)
    with live(share) as ng_share:
        with db.transaction() as tx:
            new_users.create_support_user(
                tx, operator, user_name="sam.support", email="sam@vendor.test", password=PASSWORD
            )
            applications.ensure_application(
                tx, operator, key="community", name="Success Community", access="everyone"
            )
            for key, name in (("ng_store", "NG Store"), ("csc", "Client Support Center")):
                applications.ensure_application(tx, operator, key=key, name=name)
            register_example(
                tx, operator, ng_share, name="NG Share", client_id="ng-share", secret=secret
            )

        # Support gives NG Share its launch address.
        page.sign_in("sam.support", PASSWORD)
        page.open("/support")
        page.get_by_role("link", name="Applications").click()
        expect(page.locator("#app-community")).to_contain_text("everyone")
        page.get_by_label("Launch address of NG Share").fill(f"{ng_share}/login")
        page.locator("#app-ng_share").get_by_role("button", name="Save").click()
        expect(page.locator(".flash-success")).to_contain_text(
            f"NG Share opens {ng_share}/login from the home page"
        )
        page.screenshot("launch-address")

        # The main contact grants what may be granted, and nothing else.
        context, main = browser_of(chromium, live_server, "main")
        try:
            main.sign_in("mae.main", PASSWORD)
            main.open(f"/accounts/{account.id}/users/{people['lee.client'].id}")
            expect(main.get_by_label("NG Share")).to_be_visible()
            expect(main.get_by_label("NG Store")).to_be_visible()
            expect(main.get_by_label("Success Community")).to_have_count(0)
            expect(main.get_by_label("Client Support Center")).to_have_count(0)
            main.get_by_label("NG Share").check()
            main.get_by_role("button", name="Save").click()
            expect(main.locator(".flash-success")).to_contain_text("lee.client was saved")
        finally:
            context.close()

        # The person's home page: what they may open, each linked to its launch address.
        context, person = browser_of(chromium, live_server, "lee")
        try:
            person.sign_in("lee.client", PASSWORD)
            apps = person.locator("ul.apps")
            expect(apps).to_contain_text("Success Community")
            expect(apps.get_by_role("link", name="NG Share")).to_have_attribute(
                "href", f"{ng_share}/login"
            )
            expect(apps).not_to_contain_text("NG Store")
            expect(apps).not_to_contain_text("Client Support Center")
            person.screenshot("home")
            apps.get_by_role("link", name="NG Share").click()
            expect(person.locator("#welcome")).to_contain_text("Lee Lakeview")
            assert person.url.startswith(ng_share)  # no second sign-in on the way
        finally:
            context.close()
