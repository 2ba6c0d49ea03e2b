"""store.db.fetch runs the hot reads straight on the driver (PostgreSQL): its rows must say what
SQLAlchemy's say, timestamps, UUIDs, booleans and JSON included, with the same parameters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import bindparam, select

from store import listing
from store.db import fetch, now
from store.models import User


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
        orm = tx.execute(listing._BY_ID, {"user_id": user.id}).all()
    assert [r._asdict() for r in raw] == [r._asdict() for r in orm]
    first = raw[0]
    assert first.created_at.utcoffset() == timedelta(0) and first.id == user.id
    assert first.addresses == [{"streetAddress": "1 Main St", "type": "work"}]


def test_fetch_binds_timestamps_as_sqlalchemy_does(db, make_account, make_user) -> None:
    make_user(make_account(), "early.person")
    made_before = select(User.user_name).where(
        User.created_at < bindparam("moment", type_=User.created_at.type)
    )
    with db.transaction(write=False) as tx:
        later = fetch(tx, made_before, {"moment": now() + timedelta(minutes=1)})
        earlier = fetch(tx, made_before, {"moment": now() - timedelta(days=1)})
    assert [r.user_name for r in later] == ["early.person"] and earlier == []


def test_fetch_refuses_lists_it_cannot_pass_as_they_are(db) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs every statement through the session")
    listed = select(User.id).where(User.user_name.in_(bindparam("names", expanding=True)))
    with db.transaction(write=False) as tx, pytest.raises(TypeError):
        fetch(tx, listed, {"names": ["a"]})


def test_fetch_sees_changes_not_yet_flushed(db, make_account, make_user) -> None:
    user = make_user(make_account(), "renamed.person")
    with db.transaction() as tx:
        tx.get(User, user.id).title = "Dean"
        rows = fetch(tx, listing._BY_ID, {"user_id": user.id})
        tx.rollback()
    assert rows[0].title == "Dean"
