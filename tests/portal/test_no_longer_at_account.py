"""A main contact flagged "No Longer at Account" in the console loses Manage Users and the tokens
she minted there (SPEC §1 Users; issue #19, item 3: she still opened Manage Users and minted a SCIM
token that deactivated users)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from store.models.directory import User
from tests.pages import Console

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PASSWORD = "a long enough pass phrase"
DEACTIVATE = {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]}


def mint(console: Console, account_id: Any, name: str) -> Any:
    """The console's token form (the CSRF token of /profile when the page is refused)."""
    return console.post(f"/accounts/{account_id}/provisioning", {"name": name})


def test_flagged_she_neither_manages_users_nor_keeps_her_token(
    app, db, enterprise, make_user, scim_client
):
    account = enterprise.account
    leaver = make_user(
        account, "leaver", profile="main", given_name="Lee", family_name="Ver", password=PASSWORD
    )
    member = make_user(account, "member")
    console = Console(app, db, leaver)
    minted = mint(console, account.id, "her okta")
    token = re.search(r'id="new-token">(rc_[^<]+)<', minted.get_data(as_text=True)).group(1)
    her_token = scim_client(token)
    assert her_token.get(f"/Users/{member.id}").status_code == 200

    edit = f"/accounts/{account.id}/users/{leaver.id}"
    saved = Console(app, db, enterprise.main).post(
        edit,
        {
            "given_name": "Lee",
            "family_name": "Ver",
            "email": leaver.primary_email,
            "profile": "main",
            "preferred_contact_method": "email",
            "no_longer_at_account": "y",
        },
        form_page=edit,
    )
    assert saved.status_code == 302
    assert console.get(f"/accounts/{account.id}/users").status_code == 302  # signed out

    with db.transaction(write=False) as tx:
        flagged = tx.get(User, leaver.id)
        assert flagged.no_longer_at_account and flagged.active
    again = Console(app, db, flagged)  # she signs in again
    assert again.get(f"/accounts/{account.id}/users").status_code == 403
    assert again.get(f"/accounts/{account.id}/users/{member.id}").status_code == 403
    assert mint(again, account.id, "another").status_code == 403
    assert her_token.patch(f"/Users/{member.id}", DEACTIVATE).status_code == 401
    with db.transaction(write=False) as tx:
        assert tx.get(User, member.id).active


def test_a_new_user_ticked_as_gone_with_a_contact_role_is_refused_on_the_form(app, db, enterprise):
    """The New User form offers the flag beside the roles: ticking both is refused, with the
    reason on the page, and nobody is created."""
    account = enterprise.account
    response = Console(app, db, enterprise.main).post(
        f"/accounts/{account.id}/users/new",
        {
            "family_name": "Gone",
            "email": "gone@x.test",
            "profile": "client",
            "preferred_contact_method": "email",
            "no_longer_at_account": "y",
            "contact_roles": ["IT Receiver"],
        },
    )
    assert response.status_code == 400
    assert "they hold no contact roles" in response.get_data(as_text=True)
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(User).where(User.user_name == "gone@x.test")) is None
