"""store.statements.fetch runs the hot reads straight on the driver (PostgreSQL): its rows must
say what SQLAlchemy's say, timestamps, UUIDs, booleans and JSON included, with the same
parameters."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select

from store import listing, oauth
from store.db import now
from store.models.directory import User
from store.statements import Prepared, fetch


def test_fetch_reads_what_sqlalchemy_reads(db, make_account, make_user) -> None:
    account = make_account(kind="enterprise")
    user = make_user(
        account,
        "fetched.person",
        given_name="Fé",
        addresses=[{"streetAddress": "1 Main St", "type": "work"}],
        phone_numbers=[{"value": "+1 555 0100"}],
    )
    with db.transaction(write=False) as tx:
        raw = fetch(tx, listing._BY_ID, {"user_id": user.id})
        orm = tx.execute(listing._BY_ID.statement, {"user_id": user.id}).all()
    assert [r._asdict() for r in raw] == [r._asdict() for r in orm]
    first = raw[0]
    assert first.created_at.utcoffset() == timedelta(0) and first.id == user.id
    assert first.addresses == [{"streetAddress": "1 Main St", "type": "work"}]


def test_fetch_binds_timestamps_as_sqlalchemy_does(db, make_account, make_user) -> None:
    make_user(make_account(), "early.person")
    made_before = Prepared(
        select(User.user_name).where(
            User.created_at < bindparam("moment", type_=User.created_at.type)
        )
    )
    with db.transaction(write=False) as tx:
        later = fetch(tx, made_before, {"moment": now() + timedelta(minutes=1)})
        earlier = fetch(tx, made_before, {"moment": now() - timedelta(days=1)})
    assert [r.user_name for r in later] == ["early.person"] and earlier == []


def test_fetch_refuses_lists_it_cannot_pass_as_they_are(db) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs every statement through the session")
    listed = Prepared(select(User.id).where(User.user_name.in_(bindparam("names", expanding=True))))
    with db.transaction(write=False) as tx, pytest.raises(TypeError):
        fetch(tx, listed, {"names": ["a"]})


def test_fetch_sees_changes_not_yet_flushed(db, make_account, make_user) -> None:
    user = make_user(make_account(), "renamed.person")
    with db.transaction() as tx:
        tx.get(User, user.id).title = "Dean"
        rows = fetch(tx, listing._BY_ID, {"user_id": user.id})
        tx.rollback()
    assert rows[0].title == "Dean"


def test_run_writes_what_sqlalchemy_would(db, make_account) -> None:
    """`run` (the prepared insert of a token's hash) stores each value as the ORM reads it back."""
    account = make_account()
    about = oauth.Issued(
        client_id="machine", scope="scim", account_id=account.id, family_id=uuid.uuid4()
    )
    with db.committing() as conn:
        oauth.save_token(conn, oauth.ACCESS, "the-token", 600, about)
    with db.transaction(write=False) as tx:
        row = oauth.live_token(tx, "the-token")
    assert row is not None and row.kind == oauth.ACCESS and row.account_id == account.id
    assert (row.client_id, row.scope, row.family_id) == ("machine", "scim", about.family_id)
    assert row.user_id is None and row.used_at is None and row.revoked_at is None
    assert row.expires_at - row.created_at == timedelta(seconds=600)
    assert row.created_at.utcoffset() == timedelta(0)
    assert abs(row.created_at - now()) < timedelta(minutes=1)
