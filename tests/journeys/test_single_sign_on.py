"""In Chromium: a person signs in through Rollcall's page into the example linked application
(examples/oidc_client), sees their claims, and signs out through Rollcall."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from store import applications
from tests.browser import ARTIFACTS
from tests.live import example_application, live, register_example
from tests.oidc import PASSWORD, pkce_pair

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"oidc-{name}.png"), full_page=True)


def test_sign_in_through_the_page_into_the_example_application(
    provider: Any, chromium: Any, operator: Any
) -> None:
    secret = "example-secret-for-this-test"
    app = example_application(provider.base, "example-icd10", secret)
    with live(app) as example:
        with provider.db.transaction() as tx:
            icd10 = applications.application_by_key(tx, "icd10")
            icd10.launch_url = f"{example}/login"
            register_example(
                tx,
                operator,
                example,
                name="ICD-10 example",
                client_id="example-icd10",
                secret=secret,
                post_logout_redirect_uris=[f"{example}/"],
                application=icd10,
            )
        context = chromium.new_context()
        context.set_default_timeout(15_000)
        page = context.new_page()
        try:
            page.goto(example + "/")
            page.click("#login")
            page.wait_for_selector("input[name=password]")
            assert page.locator("h1").inner_text() == "Sign in"
            shot(page, "signin")
            page.fill("input[name=login]", "ada")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#welcome")
            assert page.url.startswith(example)
            assert "Ada Lovelace" in page.inner_text("#welcome")
            assert provider.account.name in page.inner_text("#welcome")
            assert '"contact_roles"' in page.inner_text("#claims")
            shot(page, "example-signed-in")

            page.goto(provider.base + "/")  # the SSO session: Rollcall's home lists ICD-10
            assert "ICD-10" in page.inner_text("main")

            page.goto(example + "/")
            page.click("#logout")
            page.wait_for_selector("#login")
            assert page.url.startswith(example)
            page.goto(provider.base + "/")
            assert "Your applications" not in page.inner_text("main")
            shot(page, "signed-out")

            # Signed in at Rollcall first, the home page opens the application in one click.
            page.goto(provider.base + "/signin")
            page.fill("input[name=login]", "ada")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("text=Your applications")
            shot(page, "home")
            page.click("text=ICD-10")
            page.wait_for_selector("#welcome")
            assert page.url.startswith(example) and "Ada Lovelace" in page.inner_text("#welcome")
        finally:
            context.close()


def test_form_post_response_mode_posts_the_code_to_the_application(
    provider: Any, chromium: Any
) -> None:
    """The page of response_mode=form_post submits itself (its script is allowed by the CSP)."""
    rp = provider.first_party
    verifier, challenge = pkce_pair()
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    page = context.new_page()
    posted: list[dict[str, str]] = []

    def application(route: Any) -> None:
        posted.append(dict(parse_qsl(route.request.post_data or "")) | {"_": route.request.method})
        route.fulfill(status=200, content_type="text/html", body="<p id=done>received</p>")

    try:
        page.route(rp.redirect_uri, application)
        page.goto(provider.base + "/signin")
        page.fill("input[name=login]", "ada")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("text=Your applications")
        page.goto(rp.authorize_url(response_mode="form_post", state="fp1", code_challenge=challenge,
                                   code_challenge_method="S256"))  # fmt: skip
        page.wait_for_selector("#done")
    finally:
        context.close()
    assert posted and posted[0]["_"] == "POST" and posted[0]["state"] == "fp1"
    assert rp.exchange(posted[0]["code"], verifier).status_code == 200
