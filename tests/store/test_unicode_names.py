"""Names compared after Unicode normalization (issue #19 item 10): NFKC, then case folding, so a
name in another normal form or in fullwidth letters is the same name; and migration 0008, which
folds the rows already there again and stops at names that would clash."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Uuid, column, insert, select, table

from store import groups, migrate, sign_in_names
from store.db import now
from store.errors import Conflict
from store.models.directory import User, UserEmail, fold

FULLWIDTH_AMANDA = "\uff41\uff4d\uff41\uff4e\uff44\uff41"  # what a Japanese keyboard types
RENE_NFC = unicodedata.normalize("NFC", "rené")
RENE_NFD = unicodedata.normalize("NFD", "rené")


@given(st.text())
def test_fold_is_its_own_key(text: str) -> None:
    assert fold(fold(text)) == fold(text)


def test_fold_joins_normal_forms_widths_and_cases() -> None:
    assert RENE_NFC != RENE_NFD and fold(RENE_NFC) == fold(RENE_NFD) == fold("RENÉ")
    assert fold(FULLWIDTH_AMANDA) == fold(FULLWIDTH_AMANDA.upper()) == fold("Amanda") == "amanda"
    assert fold("Straße") == fold("STRASSE")


@pytest.mark.parametrize(
    ("first", "second"),
    [("amanda", FULLWIDTH_AMANDA), (RENE_NFC, RENE_NFD), (RENE_NFD, RENE_NFC.upper())],
    ids=["fullwidth", "nfd-after-nfc", "nfc-upper-after-nfd"],
)
def test_a_user_name_in_another_form_is_taken(db, enterprise, make_user, first, second) -> None:
    make_user(enterprise.account, first)
    with pytest.raises(Conflict, match="taken"):
        make_user(enterprise.account, second)


def test_sign_in_finds_the_user_whatever_form_the_name_is_typed_in(db, make_user) -> None:
    rene = make_user(None, RENE_NFC)
    with db.transaction(write=False) as tx:
        assert sign_in_names.find(tx, RENE_NFD).id == rene.id
        assert sign_in_names.find(tx, FULLWIDTH_AMANDA) is None
        assert sign_in_names.find(tx, RENE_NFD.upper()).id == rene.id


OLD_USERS = table(
    "users",
    *(column(n) for n in ("user_name", "user_name_ci", "addresses", "given_name_ci")),
    *(column(n) for n in ("given_name", "family_name_ci", "primary_email_ci")),
    *(column(n) for n in ("other_attributes", "active", "is_support")),
    *(column(n) for n in ("no_longer_at_account", "preferred_contact_method")),
    *(column(n) for n in ("email_verified", "failed_logins", "version")),
    *(column(n) for n in ("created_at", "modified_at")),
    column("id", Uuid),
)


def _old_user(conn, user_name: str, *, given_name: str = "", email: str | None = None) -> uuid.UUID:
    """A user as revision 0007 wrote it: keys by plain case folding."""
    user_id = uuid.uuid4()
    conn.execute(
        insert(OLD_USERS).values(
            id=user_id,
            user_name=user_name,
            user_name_ci=user_name.casefold(),
            given_name=given_name or None,
            given_name_ci=given_name.casefold(),
            family_name_ci="",
            primary_email_ci=(email or "").casefold(),
            addresses="[]",
            other_attributes="{}",
            active=True,
            is_support=False,
            no_longer_at_account=False,
            preferred_contact_method="email",
            email_verified=False,
            failed_logins=0,
            version=1,
            created_at=now(),
            modified_at=now(),
        )
    )
    if email:
        conn.execute(
            insert(UserEmail.__table__).values(
                user_id=user_id, position=0, value=email, value_ci=email.casefold(), primary=True
            )
        )
    return user_id


def test_migration_0008_folds_the_keys_of_existing_rows(unmigrated) -> None:
    database = unmigrated
    migrate.upgrade(database, "0007")
    with database.engine.begin() as conn:
        _old_user(conn, "plain.ascii", email="Plain@Example.test")
        _old_user(conn, RENE_NFD, given_name=FULLWIDTH_AMANDA, email=f"{RENE_NFD}@example.test")
    migrate.upgrade(database)
    with database.engine.connect() as conn:
        rows = conn.execute(
            select(User.user_name_ci, User.given_name_ci, User.primary_email_ci)
        ).all()
        emails = set(conn.execute(select(UserEmail.value_ci)).scalars())
    assert set(rows) == {
        ("plain.ascii", "", "plain@example.test"),
        (RENE_NFC, "amanda", f"{RENE_NFC}@example.test"),
    }
    assert emails == {"plain@example.test", f"{RENE_NFC}@example.test"}
    assert migrate.is_current(database)


def test_migration_0008_stops_at_names_that_would_clash(unmigrated) -> None:
    """Two people whose names differ only in width: the upgrade changes nothing, names both, and
    leaves the choice of who is renamed to support."""
    database = unmigrated
    migrate.upgrade(database, "0007")
    with database.engine.begin() as conn:
        _old_user(conn, "amanda")
        _old_user(conn, FULLWIDTH_AMANDA)
    with pytest.raises(Conflict) as refused:
        migrate.upgrade(database)
    assert "'amanda'" in refused.value.message
    assert repr(FULLWIDTH_AMANDA) in refused.value.message
    assert not migrate.is_current(database)
    with database.engine.connect() as conn:
        keys = set(conn.execute(select(User.user_name_ci)).scalars())
    assert keys == {"amanda", FULLWIDTH_AMANDA}


def test_group_names_compare_by_the_same_key(db, enterprise) -> None:
    """Group names, unique within an account, compare as userNames do."""
    with db.transaction() as tx:
        groups.create_group(
            tx, enterprise.okta, account_id=enterprise.account.id, display_name="\uff33ales"
        )
    with db.transaction() as tx, pytest.raises(Conflict):
        groups.create_group(
            tx, enterprise.okta, account_id=enterprise.account.id, display_name="sales"
        )
