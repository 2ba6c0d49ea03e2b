"""Issue #20, journey 1, in Chromium: an identity provider pushes a person over SCIM; the person
gets the guide's sign-in mail with a set-password link (one pushed inactive gets it when
activated); the main contact grants them NG Share in the console, where the grant says who made
it; the person sets a password, signs in, and opens NG Share from the home page with no second
sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from store import applications, credentials
from tests.browser import Page
from tests.live import example_application, live, register_example
from tests.mail import Mailbox
from tests.scim_http import ScimClient

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"
NIA_PASSWORD = "harbour willow 77 gently"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def pushed(user_name: str, active: bool) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": user_name,
        "externalId": f"okta-{user_name}",
        "active": active,
        "name": {"givenName": user_name.split(".")[0].title(), "familyName": "Pushed"},
        "emails": [{"value": f"{user_name}@harbor.test", "type": "work", "primary": True}],
    }


def test_a_pushed_person_is_granted_ng_share_and_opens_it(
    page: Page,
    mailbox: Mailbox,
    live_server: Any,
    chromium: Any,
    db: Any,
    make_account: Any,
    make_user: Any,
    operator: Any,
) -> None:
    account = make_account("Harbor Health")
    make_user(
        account,
        "mae.main",
        profile="main",
        given_name="Mae",
        family_name="Main",
        password=PASSWORD,
        email_verified=True,
        emails=[{"value": "mae@harbor.test", "primary": True}],
    )
    secret = "ng-share-example-secret"
    share = example_application(live_server.url, "ng-share", secret)
    with live(share) as ng_share, db.transaction() as tx:
        _, token = credentials.create_credential(tx, operator, account_id=account.id, name="okta")
        register_example(
            tx,
            operator,
            ng_share,
            name="NG Share",
            client_id="ng-share",
            secret=secret,
            launch_url=f"{ng_share}/login",
        )
        tx.commit()
        okta = ScimClient(live_server.app.test_client(), token)
        at = {"base_url": live_server.url}  # the IdP's requests reach the served host

        # The identity provider pushes one person active, another inactive.
        created = okta.post("/Users", pushed("nia.pushed", active=True), **at)
        assert created.status_code == 201, created.get_json()
        nia = created.get_json()["id"]
        later = okta.post("/Users", pushed("olu.pushed", active=False), **at)
        assert later.status_code == 201, later.get_json()
        welcome = mailbox.wait_for("nia.pushed@harbor.test", "account is ready")
        set_password = welcome.link("/set-password/")
        mailbox.settle()
        assert mailbox.to("olu.pushed@harbor.test") == []
        activated = okta.patch(
            f"/Users/{later.get_json()['id']}",
            {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": True}}]},
            **at,
        )
        assert activated.status_code == 200, activated.get_json()
        assert mailbox.wait_for("olu.pushed@harbor.test", "account is ready").link("/set-password/")

        # The main contact grants NG Share in the console.
        page.sign_in("mae.main", PASSWORD)
        page.open(f"/accounts/{account.id}/users/{nia}")
        expect(page.locator("#managed-note")).to_contain_text("identity provider")
        expect(page.get_by_label("First Name")).to_be_disabled()
        expect(page.get_by_label("Client Support Center")).to_have_count(0)
        page.get_by_label("NG Share").check()
        page.screenshot("granting")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".flash-success")).to_contain_text("nia.pushed was saved")
        page.open(f"/accounts/{account.id}/users/{nia}")
        expect(page.get_by_label("NG Share")).to_be_checked()
        expect(page.locator("#applications")).to_contain_text("granted by a main contact")
        page.screenshot("granted")

        # The person, in a browser of their own: the mail's link, sign-in, NG Share.
        context = chromium.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        person = Page(context.new_page(), live_server.url, "nia")
        try:
            person.open(set_password)
            expect(person.locator("h1")).to_have_text("Choose your password")
            person.get_by_label("Password", exact=True).fill(NIA_PASSWORD)
            person.get_by_label("Password again").fill(NIA_PASSWORD)
            person.get_by_role("button", name="Set my password").click()
            expect(person.locator(".flash-success")).to_contain_text("Your password is set")
            person.sign_in("nia.pushed", NIA_PASSWORD)
            expect(person.locator("main")).to_contain_text("Your applications")
            link = person.get_by_role("link", name="NG Share")
            expect(link).to_have_attribute("href", f"{ng_share}/login")
            person.screenshot("home")
            link.click()
            expect(person.locator("#welcome")).to_contain_text("Nia Pushed")
            assert person.url.startswith(ng_share)  # no second sign-in on the way
            expect(person.locator("#claims")).to_contain_text('"ng_share"')
            person.screenshot("ng-share")
        finally:
            context.close()

    with db.transaction(write=False) as tx:
        assert applications.application_by_key(tx, "ng_share").launch_url == f"{ng_share}/login"
