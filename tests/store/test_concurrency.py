"""Rules that must hold when requests race: run with real concurrent transactions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from store import new_users, users
from store.db import now
from store.errors import Conflict
from store.models.directory import User
from tests.racing import race

pytestmark = pytest.mark.slow  # racing transactions in threads


def test_concurrent_creates_of_one_user_name_exactly_one_wins(db, enterprise, operator):
    spellings = ["Dana.Race", "dana.race", "DANA.RACE", "Dana.RACE", "dAna.race", "dana.Race"]

    def create(i: int) -> User:
        with db.transaction() as tx:
            return new_users.create_user(
                tx, operator, account_id=enterprise.account.id, user_name=spellings[i]
            )

    results = race(len(spellings), create)
    winners = [r for r in results if isinstance(r, User)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1
    assert len(losers) == len(spellings) - 1
    assert all(isinstance(e, Conflict) for e in losers), losers
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(func.count()).where(User.user_name_ci == "dana.race")) == 1


def test_concurrent_claims_of_one_sign_in_name_exactly_one_wins(
    db, enterprise, make_account, operator
):
    """A userName and two accounts' addresses, all the same name, written at once by the unit
    of work and by the one-statement create: one person gets it (SPEC §1 Users)."""
    from store.actors import Actor, ActorType, Door
    from store.credentials import AccountRow
    from store.models.directory import SignInName

    other = make_account(kind="enterprise")
    theirs = Actor(ActorType.CREDENTIAL, "token b", Door.SCIM, "c2", other.id, manages_users=True)
    mail = [{"value": "Race@X.test", "primary": True}]

    def create(i: int) -> Any:
        if i == 0:
            with db.transaction() as tx:
                return new_users.create_user(tx, operator, account_id=None, user_name="race@x.test")
        if i == 1:
            with db.transaction() as tx:
                return new_users.create_user(
                    tx,
                    enterprise.okta,
                    account_id=enterprise.account.id,
                    user_name="r1",
                    emails=mail,
                )
        row = AccountRow(other.id, other.kind)
        return new_users.create_user_at_once(db, theirs, row, user_name=f"r{i}", emails=mail)

    results = race(4, create)
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception)), results
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(func.count()).where(SignInName.name_ci == "race@x.test")) == 1


def test_the_database_itself_refuses_a_case_variant(db, enterprise, make_user):
    make_user(enterprise.account, "Unique.Name")
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            User.__table__.insert().values(
                id=uuid.uuid4(),
                user_name="UNIQUE.name",
                user_name_ci="unique.name",
                active=True,
                is_support=False,
                no_longer_at_account=False,
                preferred_contact_method="email",
                email_verified=False,
                failed_logins=0,
                version=1,
                addresses=[],
                created_at=now(),
                modified_at=now(),
            )
        )


def test_concurrent_deactivation_of_the_last_two_main_contacts_keeps_one(
    db, enterprise, make_user, support
):
    second = make_user(enterprise.account, "second.main", profile="main")
    targets = [enterprise.main.id, second.id]

    def deactivate(i: int) -> User:
        with db.transaction() as tx:
            return users.deactivate(tx, support, targets[i])

    results = race(2, deactivate)
    assert sum(isinstance(r, User) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1
    with db.transaction(write=False) as tx:
        active = tx.scalar(
            select(func.count()).where(
                User.account_id == enterprise.account.id,
                User.active.is_(True),
                User.profile == "main",
            )
        )
    assert active == 1


def test_concurrent_member_additions_to_one_group_all_succeed(db, enterprise, make_user, operator):
    from store import groups

    members = [make_user(enterprise.account, f"parallel.{i}") for i in range(6)]
    with db.transaction() as tx:
        group = groups.create_group(
            tx, operator, account_id=enterprise.account.id, display_name="Pushed in parallel"
        )

    def add(i: int) -> object:
        with db.transaction() as tx:
            return groups.add_members(tx, operator, group.id, [members[i].id])

    results = race(len(members), add)
    assert not [r for r in results if isinstance(r, Exception)], results
    with db.transaction(write=False) as tx:
        assert set(groups.member_ids(tx, group.id)) == {m.id for m in members}


def test_concurrent_changes_to_one_user_all_apply(db, enterprise, make_user, operator):
    user = make_user(enterprise.account, "busy.user")
    fields = ["title", "nick_name", "department", "division", "cost_center", "organization"]

    def change(i: int) -> object:
        with db.transaction() as tx:
            return users.update_user(tx, operator, user.id, {fields[i]: f"value {i}"})

    results = race(len(fields), change)
    assert not [r for r in results if isinstance(r, Exception)], results
    with db.transaction(write=False) as tx:
        stored = tx.get(User, user.id)
        assert [getattr(stored, f) for f in fields] == [f"value {i}" for i in range(6)]
        assert stored.version == user.version + len(fields)


def test_concurrent_grants_and_revokes_of_one_users_applications_all_apply(
    db, enterprise, make_user, operator
):
    """Each grant or revoke reads the user's applications and writes them back: none may write
    back a list read before another committed."""
    from store import applications

    keys = [f"app{i}" for i in range(6)]
    with db.transaction() as tx:
        for key in keys:
            applications.ensure_application(tx, operator, key=key, name=key.upper())
    user = make_user(enterprise.account, "granted.in.parallel")
    with db.transaction() as tx:
        users.grant_application(tx, operator, user.id, keys[0])

    def change(i: int) -> object:
        with db.transaction() as tx:
            if i == 0:
                return users.revoke_application(tx, enterprise.actor, user.id, keys[0])
            return users.grant_application(tx, enterprise.actor, user.id, keys[i])

    results = race(len(keys), change)
    assert not [r for r in results if isinstance(r, Exception)], results
    with db.transaction(write=False) as tx:
        assert sorted(a.key for a in users.get_user(tx, operator, user.id).applications) == keys[1:]


def test_concurrent_contact_role_settings_of_one_user_leave_the_last_one_exactly(
    db, enterprise, make_user, operator
):
    """Setting a user's contact roles makes them exactly the roles given, also while others set
    them: the user ends with one caller's roles, not a mix, and no caller is refused."""
    user = make_user(enterprise.account, "roles.in.parallel")
    wanted = [["Super User"], ["IT Receiver"], ["Change Approver", "Security Reviewer"]] * 2

    def set_roles(i: int) -> User:
        with db.transaction() as tx:
            return users.set_contact_roles(tx, enterprise.actor, user.id, wanted[i])

    results = race(len(wanted), set_roles)
    assert not [r for r in results if isinstance(r, Exception)], results
    with db.transaction(write=False) as tx:
        held = users.contact_roles_of(users.get_user(tx, operator, user.id))
        last = max(results, key=lambda changed: changed.version)
    assert held in wanted
    assert held == sorted(wanted[results.index(last)])


def test_contact_roles_set_while_the_role_gets_members_pushed_all_apply(
    db, enterprise, make_user, operator
):
    """The console sets users' roles while the identity provider adds members to the same
    contact role (a group): every change waits for the one before; none is refused."""
    from store import accounts, groups

    with db.transaction(write=False) as tx:
        role = accounts.contact_role_groups(tx, enterprise.account.id)["Super User"].id
    people = [make_user(enterprise.account, f"super.{i}") for i in range(8)]

    def change(i: int) -> object:
        with db.transaction() as tx:
            if i % 2:
                return groups.add_members(tx, enterprise.okta, role, [people[i].id])
            return users.set_contact_roles(tx, enterprise.actor, people[i].id, ["Super User"])

    results = race(len(people), change)
    assert not [r for r in results if isinstance(r, Exception)], results
    with db.transaction(write=False) as tx:
        assert set(groups.member_ids(tx, role)) == {p.id for p in people}
