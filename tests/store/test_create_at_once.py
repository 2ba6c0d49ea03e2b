"""`new_users.create_user_at_once` (one durable statement, for plain SCIM creates) writes the same
user, emails, phone numbers, sign-in names and audit event as `new_users.create_user` (the unit of
work)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select

from store import links, new_users, users
from store.credentials import AccountRow
from store.errors import Conflict
from store.models.directory import SignInName, User, UserEmail, UserPhoneNumber
from store.models.logs import AuditEvent, OutboxMessage

SKIPPED = {"id", "user_name", "user_name_ci", "created_at", "modified_at", "user_id"}
FIELDS: dict[str, Any] = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "display_name": "Ada L.",
    "title": "Countess",
    "locale": "en-GB",
    "external_id": "x-1",
    "active": False,
    "emails": [
        {"value": "ada@example.com", "type": "work", "primary": True},
        {"value": "ada@home.example", "type": "home"},
    ],
    "phone_numbers": [{"value": "+44 20 7946 0000", "type": "work"}],
    "department": "Engines",
}


def stored(db: Any, user_name: str) -> dict[str, Any]:
    """What was written for a user, without what differs between any two users."""
    with db.transaction(write=False) as tx:
        user = tx.scalars(select(User).where(User.user_name == user_name)).one()
        rows = {
            "user": _plain(user),
            "emails": [
                _plain(e)
                for e in tx.scalars(
                    select(UserEmail).filter_by(user_id=user.id).order_by(UserEmail.position)
                )
            ],
            "phones": [
                _plain(p) for p in tx.scalars(select(UserPhoneNumber).filter_by(user_id=user.id))
            ],
            "names": sorted(
                set(tx.scalars(select(SignInName.name_ci).filter_by(user_id=user.id)))
                - {user.user_name_ci}
            ),
        }
        event = tx.scalars(select(AuditEvent).filter_by(target_id=str(user.id))).one()
        rows["audit"] = {k: v for k, v in _plain(event).items() if k not in ("target_label",)}
        rows["audit"]["changes"] = {
            k: v for k, v in event.changes.items() if k not in ("userName", "user_name")
        }
    return rows


def _plain(row: Any) -> dict[str, Any]:
    return {
        c.key: getattr(row, c.key)
        for c in type(row).__table__.columns
        if c.key not in SKIPPED and c.key not in ("target_id", "at", "id")
    }


def test_both_ways_write_the_same_rows(db, enterprise, operator):
    okta = enterprise.okta
    account = AccountRow(enterprise.account.id, enterprise.account.kind)
    with db.transaction() as tx:
        unit = new_users.create_user(
            tx, okta, account_id=account.id, user_name="unit", email_verified=True, **FIELDS
        )
    by_unit = stored(db, "unit")
    with db.transaction() as tx:  # its address signs one person in: the other way needs it
        users.delete_user(tx, operator, unit.id)
    made = new_users.create_user_at_once(
        db, okta, account, user_name="once", email_verified=True, **FIELDS
    )
    assert made is not None
    once = stored(db, "once")
    assert (len(once["emails"]), len(once["phones"])) == (2, 1)
    assert once["names"] == ["ada@example.com"]
    assert once["audit"]["changes"] and once["user"]["department"] == "Engines"
    assert once == by_unit


def test_a_taken_user_name_is_a_conflict_and_writes_nothing(db, enterprise):
    account = AccountRow(enterprise.account.id, enterprise.account.kind)
    new_users.create_user_at_once(db, enterprise.okta, account, user_name="taken")
    with pytest.raises(Conflict) as refused:
        new_users.create_user_at_once(db, enterprise.okta, account, user_name="TAKEN")
    assert refused.value.field == "user_name"
    with db.transaction(write=False) as tx:
        assert len(tx.scalars(select(User).where(User.user_name_ci == "taken")).all()) == 1


def mail_of(db: Any, user_name: str) -> tuple[dict[str, Any], str, Any]:
    """The sign-in mail queued for a user (its payload but the link), the link, and the link's
    row as its token finds it."""
    with db.transaction(write=False) as tx:
        user = tx.scalars(select(User).where(User.user_name == user_name)).one()
        [message] = tx.scalars(select(OutboxMessage).where(OutboxMessage.kind == "email")).all()
        payload = dict(message.payload)
        link = payload.pop("link")
        token = link.removeprefix("/set-password/")
        row = links.peek(tx, links.SET_PASSWORD, token)
        assert row.user_id == user.id
        payload["user_id"] = payload["user_id"] == str(user.id)
        return payload, link, row.expires_at - row.created_at


def test_both_ways_queue_the_same_sign_in_mail_with_a_link_that_works(db, enterprise, operator):
    """An active user with an address is sent the sign-in mail whichever way it is written: the
    one statement holds the mail and its link (the pushed-user journey sees it delivered)."""
    account = AccountRow(enterprise.account.id, enterprise.account.kind)
    fields = FIELDS | {"active": True}
    with db.transaction() as tx:
        unit = new_users.create_user(
            tx, enterprise.okta, account_id=account.id, user_name="u", **fields
        )
    by_unit = mail_of(db, "u")
    with db.transaction() as tx:
        users.delete_user(tx, operator, unit.id)
        tx.execute(delete(OutboxMessage))
    new_users.create_user_at_once(db, enterprise.okta, account, user_name="o", **fields)
    by_once = mail_of(db, "o")
    assert by_once[0] == by_unit[0] and by_once[2] == by_unit[2]
    assert by_once[0] == {
        "template": "sign_in",
        "to": "ada@example.com",
        "user_id": True,
        "reason": "created",
    }
