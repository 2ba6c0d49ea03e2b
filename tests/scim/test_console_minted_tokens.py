"""A token a main contact mints in the console is the account's identity provider's credential and
does no more than the console (issue #19, item 4): Office's users and Office accounts stay
Office's, and an address changed on an existing user is announced to the old address and, for a
user with a password, confirmed before sign-in mail goes to the new one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from rollcall import senders
from store import credentials, new_users
from store.actors import Actor, Door
from store.models.directory import User
from store.models.logs import OutboxMessage
from tests.pages import sign_in, submit

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PASSWORD = "a long enough pass phrase"


def minted_in_console(db: Any, main: User, account: Any) -> str:
    """The token the main contact mints on the console's provisioning page."""
    with db.transaction() as tx:
        _, secret = credentials.create_credential(
            tx, Actor.for_user(main, Door.PORTAL), account_id=account.id, name="mine"
        )
    return secret


def new_address(value: str) -> dict[str, Any]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": 'emails[type eq "work"].value', "value": value}],
    }


def mails(db: Any) -> list[tuple[str, str]]:
    """Mails queued, once the senders have answered what the pages asked (after responding)."""
    senders.wait()
    with db.transaction(write=False) as tx:
        sent = tx.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "email").order_by(OutboxMessage.id)
        ).all()
        return [(m.payload["template"], m.payload["to"]) for m in sent]


@pytest.fixture
def harbor(db: Any, make_account: Any, make_user: Any, operator: Actor) -> Any:
    """An Office account: its main contact, and a user Office pushed who has a password."""
    account = make_account(kind="office")
    hana = make_user(account, "hana", profile="main")
    with db.transaction() as tx:
        omar = new_users.create_user(
            tx,
            operator,
            account_id=account.id,
            user_name="omar",
            emails=[{"value": "omar@harbor.example", "type": "work", "primary": True}],
            password=PASSWORD,
            email_verified=True,
        )
    assert omar.managed_by == "office"
    return account, hana, omar


def test_a_console_token_cannot_take_over_an_office_user(app, db, harbor, scim_client):
    """The probe: the token changed Office's user's address to the main contact's own, the
    main contact reset the password through "forgot password" and signed in as that user."""
    account, hana, omar = harbor
    token = scim_client(minted_in_console(db, hana, account))
    changed = token.patch(f"/Users/{omar.id}", new_address("hana.alias@harbor.example"))
    assert changed.status_code == 403
    assert "managed by NextGen Office" in changed.get_json()["detail"]
    pushed = token.patch(
        f"/Users/{omar.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": "password", "value": "x" * 12}],
        },
    )
    assert pushed.status_code == 403
    created = token.post(
        "/Users",
        {"schemas": [USER], "userName": "planted", "emails": [{"value": "p@harbor.example"}]},
    )
    assert (
        created.status_code == 403 and "created in NextGen Office" in created.get_json()["detail"]
    )
    bulk = token.post(
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "p",
                    "data": {"schemas": [USER], "userName": "planted"},
                },
                {
                    "method": "PATCH",
                    "path": f"/Users/{omar.id}",
                    "data": new_address("h@harbor.example"),
                },
            ],
        },
    )
    assert [r["status"] for r in bulk.get_json()["Operations"]] == ["403", "403"]
    submit(app.test_client(), "/forgot-password", {"login": "hana.alias@harbor.example"})
    assert [m for m in mails(db) if m[0] == "reset_password"] == []
    assert sign_in(app, "omar@harbor.example", PASSWORD).status_code == 302


def test_what_the_console_may_change_the_console_token_may_too(db, harbor, scim_client):
    account, hana, omar = harbor
    token = scim_client(minted_in_console(db, hana, account))
    profile = {
        "schemas": [PATCH_OP],
        "Operations": [
            {
                "op": "replace",
                "path": "urn:rollcall:scim:schemas:extension:community:2.0:User:profile",
                "value": "knowledge",
            }
        ],
    }
    assert token.patch(f"/Users/{omar.id}", profile).status_code == 200


def test_offices_own_credential_still_brings_its_users(db, harbor, make_token, scim_client):
    account, _, omar = harbor
    office = scim_client(make_token(account, "nextgen office"))  # made by the operator
    assert office.create_user("new.office.user")["userName"] == "new.office.user"
    assert office.patch(f"/Users/{omar.id}", new_address("omar@new.example")).status_code == 200


def test_an_address_changed_by_a_token_is_announced_and_confirmed_first(
    app, db, enterprise, make_user, scim_client
):
    eve = make_user(
        enterprise.account,
        "eve",
        emails=[{"value": "eve@corp.example", "type": "work", "primary": True}],
        password=PASSWORD,
        email_verified=True,
    )
    token = scim_client(minted_in_console(db, enterprise.main, enterprise.account))
    changed = token.patch(f"/Users/{eve.id}", new_address("eve@elsewhere.example"))
    assert changed.status_code == 200
    assert mails(db) == [
        ("email_changed_notice", "eve@corp.example"),
        ("confirm_new_email", "eve@elsewhere.example"),
    ]
    submit(app.test_client(), "/forgot-password", {"login": "eve@elsewhere.example"})
    submit(app.test_client(), "/forgot-username", {"email": "eve@elsewhere.example"})
    assert [t for t, _ in mails(db)][2:] == ["verify_email", "verify_email"]  # the link again
    refused = sign_in(app, "eve", PASSWORD)
    assert refused.status_code == 400 and "not enabled" in refused.text
    with db.transaction(write=False) as tx:
        confirm = (
            tx.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "email")
                .order_by(OutboxMessage.id.desc())
            )
            .first()
            .payload["link"]
        )
    assert submit(app.test_client(), confirm, {}).status_code == 200  # the link's button
    assert sign_in(app, "eve@elsewhere.example", PASSWORD).status_code == 302
    submit(app.test_client(), "/forgot-password", {"login": "eve@elsewhere.example"})
    assert mails(db)[-1] == ("reset_password", "eve@elsewhere.example")
