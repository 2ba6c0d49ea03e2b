"""In Chromium: a person whose organization signs them in types their email on Rollcall's sign-in
page, signs in at the organization's provider (a second Rollcall process), comes back and reaches
a linked application, whose ID token says how they signed in upstream (issue 21)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rollcall import upstream
from store import applications, federation
from store.actors import Actor
from tests.browser import ARTIFACTS
from tests.live import example_application, live, register_example
from tests.oidc import PASSWORD
from tests.upstream import upstream_rollcall

pytestmark = pytest.mark.slow  # Chromium, and a second Rollcall started as a process


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"federated-{name}.png"), full_page=True)


def test_sign_in_at_the_organizations_provider_into_a_linked_application(
    provider: Any, chromium: Any, operator: Actor, make_user: Any, tmp_path: Path
) -> None:
    upstream.forget()
    secret = "example-secret-for-federation"
    with (
        upstream_rollcall(tmp_path, provider.base + "/signin/federated/callback") as idp,
        live(example_application(provider.base, "example-icd10", secret)) as example,
    ):
        make_user(
            provider.account,
            "ada.acme",
            given_name="Ada",
            family_name="Federated",
            external_id=idp.user_id,  # what Acme's provider pushed over SCIM as externalId
            emails=[{"value": idp.email, "primary": True}],
            email_verified=True,
            applications=["icd10"],
        )
        with provider.db.transaction() as tx:
            federation.create_connection(
                tx,
                operator,
                provider.account.id,
                display_name="Acme Health",
                issuer=idp.issuer,
                client_id=idp.client_id,
                client_secret=idp.client_secret,
                domains=["acme.example"],
            )
            icd10 = applications.application_by_key(tx, "icd10")
            register_example(
                tx,
                operator,
                example,
                name="ICD-10 example",
                client_id="example-icd10",
                secret=secret,
                application=icd10,
            )
        context = chromium.new_context()
        context.set_default_timeout(20_000)
        page = context.new_page()
        try:
            page.goto(example + "/")
            page.click("#login")
            page.wait_for_selector("input[name=login]")
            assert page.url.startswith(provider.base + "/signin")
            page.get_by_label("Username or email").fill(idp.email)
            shot(page, "rollcall-signin")
            page.get_by_role("button", name="Sign in").click()

            page.wait_for_url(idp.issuer + "/signin**")  # the organization's own sign-in page
            shot(page, "upstream-signin")
            page.get_by_label("Username or email").fill(idp.login)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()

            page.wait_for_selector("#welcome")
            assert page.url.startswith(example)
            assert "Ada Federated" in page.inner_text("#welcome")
            claims = json.loads(page.inner_text("#claims"))
            assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:rollcall:acr:1fa"
            shot(page, "application")

            page.goto(provider.base + "/")  # Rollcall's own SSO session lists ICD-10
            assert "ICD-10" in page.inner_text("main")
        finally:
            context.close()
