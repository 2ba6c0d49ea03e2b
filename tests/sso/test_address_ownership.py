"""`email_verified` vouches only for an address its user holds (SPEC §1 Users: one account's
identity provider can never vouch for another account's user's address; issue #19, item 2).

New data cannot give one address to two users; data from before migration 0008 can hold one, and
then only the user it signs in is vouched for."""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
from sqlalchemy import update

from store.models.directory import User, UserEmail
from tests.oidc import PASSWORD, Browser, tokens_for

BETH_PASSWORD = "her own long pass phrase"


def test_an_address_shared_before_0008_is_vouched_for_only_for_its_holder(
    provider: Any, make_account: Any, make_user: Any
) -> None:
    make_user(
        make_account(kind="enterprise"),
        "beth",
        emails=[{"value": "beth@b.example", "primary": True}],
        password=BETH_PASSWORD,
        email_verified=True,
    )
    with provider.db.transaction() as tx:  # how a probe's SCIM create left ada, before the fix
        tx.execute(
            update(UserEmail)
            .where(UserEmail.user_id == provider.ada.id)
            .values(value="beth@b.example", value_ci="beth@b.example")
        )
        tx.execute(
            update(User).where(User.id == provider.ada.id).values(primary_email_ci="beth@b.example")
        )
    tokens = tokens_for(provider, "openid email")
    info = provider.first_party.userinfo(tokens["access_token"]).json()
    assert info["email"] == "beth@b.example" and info["email_verified"] is False
    claims = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email"] == "beth@b.example" and claims["email_verified"] is False
    browser = Browser(provider.base)
    assert browser.sign_in("beth@b.example", PASSWORD).status_code == 400  # not ada's name
    assert browser.sign_in("BETH@b.example", BETH_PASSWORD).status_code == 302


def test_an_address_of_ones_own_is_vouched_for(provider: Any) -> None:
    tokens = tokens_for(provider, "openid email community")
    info = provider.first_party.userinfo(tokens["access_token"]).json()
    assert info["email"] == "ada@example.com" and info["email_verified"] is True
    claims = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["email_verified"] is True
