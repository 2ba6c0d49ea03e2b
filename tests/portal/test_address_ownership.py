"""Sign-in names through the pages (SPEC §1 Users: sign-in names are unambiguous): registration
and the console cannot give a person's address, as username or address, to someone else, and the
address keeps signing its owner in (issue #19, items 1 and 2)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from store.models.directory import User
from store.models.logs import OutboxMessage
from tests.pages import Console, sign_in, submit

PASSWORD = "chyrece's own long pass phrase"
GUEST_PASSWORD = "the guest's long pass phrase"


@pytest.fixture
def chyrece(enterprise: Any, make_user: Any) -> User:
    return make_user(
        enterprise.account,
        "chyrece.ferry",
        emails=[{"value": "chyrece.ferry@rollcall.example", "primary": True}],
        password=PASSWORD,
        email_verified=True,
    )


def register(app: Any, **fields: str) -> Any:
    form = {
        "choice": "guest",
        "given_name": "Guest",
        "family_name": "Person",
        "password": GUEST_PASSWORD,
        "confirm": GUEST_PASSWORD,
    }
    return submit(app.test_client(), "/register", form | fields)


def user_count(db: Any) -> int:
    with db.transaction(write=False) as tx:
        return tx.scalar(select(func.count()).select_from(User))


def templates_to(db: Any, address: str) -> list[str]:
    with db.transaction(write=False) as tx:
        sent = tx.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "email").order_by(OutboxMessage.id)
        ).all()
        return [m.payload["template"] for m in sent if m.payload["to"].casefold() == address]


def test_a_guest_cannot_register_someone_elses_address_as_username(app, db, chyrece):
    """Item 1: the probe registered CHYRECE.FERRY@ROLLCALL.EXAMPLE as a guest's username."""
    before = user_count(db)
    response = register(
        app, email="guest@elsewhere.example", user_name="CHYRECE.FERRY@ROLLCALL.EXAMPLE"
    )
    assert response.status_code == 400
    assert "own email address" in response.text
    assert user_count(db) == before
    assert sign_in(app, "Chyrece.Ferry@rollcall.example", PASSWORD).status_code == 302
    refused = sign_in(app, "CHYRECE.FERRY@ROLLCALL.EXAMPLE", GUEST_PASSWORD)
    assert refused.status_code == 400 and "not correct" in refused.text


def test_registering_with_an_owned_address_creates_nothing_and_tells_its_owner(app, db, chyrece):
    """Item 2 at registration: the same page as any registration, and a mail to the owner."""
    before = user_count(db)
    for user_name in ("CHYRECE.FERRY@ROLLCALL.EXAMPLE", "another.guest"):
        response = register(app, email="Chyrece.Ferry@Rollcall.Example", user_name=user_name)
        assert response.status_code == 200 and "Check your email" in response.text
    assert user_count(db) == before
    assert templates_to(db, "chyrece.ferry@rollcall.example") == ["account_exists"] * 2
    assert sign_in(app, "chyrece.ferry@rollcall.example", PASSWORD).status_code == 302


def test_the_console_refuses_another_accounts_users_address(
    app, db, chyrece, make_account, make_user
):
    """Item 2 in the console: a main contact of another account can neither add a user with
    the address nor move one of their users to it."""
    other = make_account(kind="enterprise")
    main = make_user(other, "other.main", profile="main")
    member = make_user(other, "other.member", given_name="Otto", family_name="Member")
    console = Console(app, db, main)
    new = console.post(
        f"/accounts/{other.id}/users/new",
        {
            "given_name": "Copy",
            "family_name": "Cat",
            "email": "CHYRECE.FERRY@rollcall.example",
            "profile": "client",
            "preferred_contact_method": "email",
            "confirm_new": "1",
        },
    )
    assert new.status_code == 400 and "already signs in another user" in new.text
    edit_path = f"/accounts/{other.id}/users/{member.id}"
    edit = console.post(
        edit_path,
        {
            "given_name": "Otto",
            "family_name": "Member",
            "email": "chyrece.ferry@rollcall.example",
            "profile": "client",
            "preferred_contact_method": "email",
            "version": "1",
        },
        form_page=edit_path,
    )
    assert edit.status_code == 400 and "already signs in another user" in edit.text
    assert templates_to(db, "chyrece.ferry@rollcall.example") == []  # no confirmation went out
    assert sign_in(app, "chyrece.ferry@rollcall.example", PASSWORD).status_code == 302


def test_a_deactivated_user_keeps_their_address_for_when_they_come_back(
    app, db, enterprise, make_user
):
    """The console offers to activate the inactive user; a new user cannot take the address."""
    former = make_user(
        enterprise.account, "pat.former", emails=[{"value": "pat@x.example", "primary": True}]
    )
    console = Console(app, db, enterprise.main)
    path = f"/accounts/{enterprise.account.id}/users/{former.id}/deactivate"
    assert console.post(path, form_page=path).status_code == 302
    new = {
        "given_name": "Pat",
        "family_name": "Again",
        "email": "pat@x.example",
        "profile": "client",
        "preferred_contact_method": "email",
    }
    offered = console.post(f"/accounts/{enterprise.account.id}/users/new", new)
    assert offered.status_code == 200 and "pat.former" in offered.text
    again = console.post(f"/accounts/{enterprise.account.id}/users/new", new | {"confirm_new": "1"})
    assert again.status_code == 400 and "already signs in another user" in again.text
