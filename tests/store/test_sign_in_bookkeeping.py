"""What a sign-in writes about a person (last sign-in, wrong attempts, the lock) is bookkeeping,
not a change of their details: `modified_at`, which SCIM shows as meta.lastModified and OpenID
Connect as updated_at, stays where the last real change put it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from store import signin
from store.db import Database
from store.models.directory import User

PASSWORD = "harbor willow sixty two"


@pytest.fixture
def person(enterprise: Any, make_user: Callable[..., User]) -> User:
    return make_user(
        enterprise.account, "pat.person", password=PASSWORD, email_verified=True, profile="client"
    )


def stored(db: Database, user: User) -> tuple[datetime, datetime | None, int]:
    with db.transaction(write=False) as tx:
        row = tx.get(User, user.id)
        return row.modified_at, row.last_login_at, row.failed_logins


def test_signing_in_records_the_sign_in_without_modifying_the_person(db, person):
    modified, last_login, _ = stored(db, person)
    assert last_login is None
    with db.transaction() as tx:
        signin.authenticate(tx, "pat.person", PASSWORD)
    after, last_login, _ = stored(db, person)
    assert last_login is not None
    assert after == modified


def test_wrong_passwords_and_the_lock_leave_the_person_unmodified(db, person):
    modified, _, _ = stored(db, person)
    for attempt in range(signin.LOCK_AFTER):
        with db.transaction() as tx, pytest.raises(signin.SignInRefused):
            signin.authenticate(tx, "pat.person", f"wrong {attempt}")
    after, _, failures = stored(db, person)
    assert failures == signin.LOCK_AFTER
    assert after == modified


def test_a_sign_in_without_a_password_leaves_the_person_unmodified(db, person):
    modified, _, _ = stored(db, person)
    with db.transaction() as tx:
        signin.record_sign_in(tx, tx.get(User, person.id))
    after, last_login, _ = stored(db, person)
    assert last_login is not None
    assert after == modified
