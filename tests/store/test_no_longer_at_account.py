""" "No Longer at Account" (SPEC §1 Users): the person is no main contact, manages no users, loses
the account's application access, and their sessions and the tokens they minted end; clearing
the flag restores nothing by itself (issue #19, item 3)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import insert, select

from store import (
    applications,
    audit,
    credentials,
    groups,
    migrate,
    new_users,
    rules,
    sso_sessions,
    user_search,
    users,
)
from store.actors import Actor, Door
from store.db import now
from store.errors import Forbidden
from store.models.directory import Account, Group, User
from store.models.logs import AuditEvent
from store.models.sign_in import ProvisioningCredential, SsoSession
from store.profiles import counts_as_main_contact, permissions_of


@pytest.fixture
def second_main(db: Any, enterprise: Any, make_user: Any, operator: Actor) -> User:
    with db.transaction() as tx:
        applications.ensure_application(tx, operator, key="icd10", name="ICD-10")
    return make_user(enterprise.account, "second.main", profile="main", applications=["icd10"])


def flag(db: Any, actor: Actor, user: User, value: bool = True) -> User:
    with db.transaction() as tx:
        return users.update_user(tx, actor, user.id, {"no_longer_at_account": value})


def reload(db: Any, user: User) -> User:
    with db.transaction(write=False) as tx:
        found = tx.get(User, user.id)
        _ = found.applications
        return found


def test_a_flagged_main_contact_is_none_and_manages_nothing(db, enterprise, second_main):
    flag(db, enterprise.actor, second_main)
    gone = reload(db, second_main)
    assert gone.profile == "main" and not counts_as_main_contact(gone)  # the badge stays
    person = Actor.for_user(gone, Door.PORTAL)
    assert not person.manages_users
    assert "my_account" not in permissions_of(gone, set())
    with pytest.raises(Forbidden):
        rules.ensure_manages(person, enterprise.account)
    with db.transaction() as tx, pytest.raises(Forbidden):
        users.deactivate(tx, person, enterprise.main.id)
    with db.transaction() as tx, pytest.raises(Forbidden):
        credentials.create_credential(tx, person, account_id=enterprise.account.id, name="mine")


def test_flagging_ends_sessions_minted_tokens_and_application_access(
    db, enterprise, second_main, operator
):
    person = Actor.for_user(second_main, Door.PORTAL)
    with db.transaction() as tx:
        sso_sessions.start(tx, second_main)
        mine, _ = credentials.create_credential(
            tx, person, account_id=enterprise.account.id, name="mine"
        )
        credentials.create_credential(
            tx, enterprise.actor, account_id=enterprise.account.id, name="theirs"
        )
        operators, _ = credentials.create_credential(
            tx, operator, account_id=enterprise.account.id, name="okta"
        )
    assert (mine.minted_by_user_id, operators.minted_by_user_id) == (second_main.id, None)
    flag(db, enterprise.actor, second_main)
    with db.transaction(write=False) as tx:
        revoked = {
            c.name: c.revoked_at is not None for c in tx.scalars(select(ProvisioningCredential))
        }
        assert revoked == {"mine": True, "theirs": False, "okta": False}
        session = tx.scalar(select(SsoSession).where(SsoSession.user_id == second_main.id))
        assert session.ended_at is not None
        actions = [e.action for e in audit.events_for(tx, "credential", mine.id)]
        assert actions == ["credential.created", "credential.revoked"]
    assert reload(db, second_main).applications == []
    with db.transaction() as tx, pytest.raises(Forbidden, match="No Longer at Account"):
        users.grant_application(tx, enterprise.actor, second_main.id, "icd10")


def test_clearing_the_flag_restores_nothing_by_itself(db, enterprise, second_main, support):
    person = Actor.for_user(second_main, Door.PORTAL)
    with db.transaction() as tx:
        mine, _ = credentials.create_credential(
            tx, person, account_id=enterprise.account.id, name="mine"
        )
    flag(db, enterprise.actor, second_main)
    with pytest.raises(Forbidden, match="only support staff"):
        flag(db, enterprise.actor, second_main, False)
    with pytest.raises(Forbidden, match="only support staff"):
        flag(db, enterprise.okta, second_main, False)
    back = flag(db, support, second_main, False)  # support makes them a main contact again
    assert counts_as_main_contact(back)
    with db.transaction(write=False) as tx:
        assert tx.get(ProvisioningCredential, mine.id).revoked_at is not None
    assert reload(db, second_main).applications == []


def test_a_member_comes_back_without_what_they_lost(db, enterprise, make_user, operator):
    with db.transaction() as tx:
        applications.ensure_application(tx, operator, key="icd10", name="ICD-10")
    member = make_user(enterprise.account, "member", applications=["icd10"])
    flag(db, enterprise.actor, member)
    back = flag(db, enterprise.actor, member, False)
    assert not back.no_longer_at_account and reload(db, member).applications == []


def test_whoever_stops_being_a_main_contact_ends_the_tokens_they_minted(
    db, enterprise, second_main, support
):
    person = Actor.for_user(second_main, Door.PORTAL)
    with db.transaction() as tx:
        first, _ = credentials.create_credential(
            tx, person, account_id=enterprise.account.id, name="first"
        )
    with db.transaction() as tx:
        users.deactivate(tx, support, second_main.id)
    with db.transaction() as tx:
        users.activate(tx, support, second_main.id)
        second, _ = credentials.create_credential(
            tx, person, account_id=enterprise.account.id, name="second"
        )
    with db.transaction() as tx:
        users.delete_user(tx, support, second_main.id)
    with db.transaction(write=False) as tx:
        for minted in (first, second):
            assert tx.get(ProvisioningCredential, minted.id).revoked_at is not None


def test_migration_0011_names_the_makers_and_ends_what_former_main_contacts_minted(unmigrated):
    """Tokens minted before 0011 learn their maker from the audit trail; those of a maker who
    is no main contact any more are revoked, the operator's and support's stay."""
    database = unmigrated
    migrate.upgrade(database, "0010")
    account = uuid.uuid4()
    people = {  # user name: (profile, no longer at account, support)
        "stays.main": ("main", False, False),
        "left.main": ("main", True, False),
        "staff": (None, False, True),
    }
    ids = {name: uuid.uuid4() for name in [*people, "deleted.main"]}
    tokens = {name: uuid.uuid4() for name in [*ids, "operator"]}
    with database.engine.begin() as conn:
        conn.execute(
            insert(Account.__table__).values(
                id=account,
                name="A",
                name_ci="a",
                kind="enterprise",
                entitlements=[],
                us_only_support=False,
                created_at=now(),
                modified_at=now(),
            )
        )
        for name, (profile, gone, staff) in people.items():
            conn.execute(
                insert(User.__table__).values(
                    id=ids[name],
                    account_id=None if staff else account,
                    user_name=name,
                    user_name_ci=name,
                    addresses=[],
                    other_attributes={},
                    active=True,
                    profile=profile,
                    is_support=staff,
                    no_longer_at_account=gone,
                    preferred_contact_method="email",
                    email_verified=True,
                    failed_logins=0,
                    version=1,
                    created_at=now(),
                    modified_at=now(),
                )
            )
        for name, token_id in tokens.items():
            conn.execute(
                insert(ProvisioningCredential.__table__).values(
                    id=token_id,
                    account_id=account,
                    is_support=False,
                    name=name,
                    token_hash=name,
                    token_hint="rc_",
                    created_at=now(),
                )
            )
            if name != "operator":
                conn.execute(
                    insert(AuditEvent.__table__).values(
                        at=now(),
                        actor_type="support" if name == "staff" else "user",
                        actor_id=str(ids[name]),
                        actor_label=name,
                        door="portal",
                        action="credential.created",
                        account_id=account,
                        target_type="credential",
                        target_id=str(token_id),
                        changes={},
                    )
                )
    migrate.upgrade(database)
    with database.engine.connect() as conn:
        found = conn.execute(
            select(
                ProvisioningCredential.name,
                ProvisioningCredential.minted_by_user_id,
                ProvisioningCredential.revoked_at,
            )
        ).all()
    assert {name: (maker, ended is not None) for name, maker, ended in found} == {
        "stays.main": (ids["stays.main"], False),
        "left.main": (ids["left.main"], True),
        "deleted.main": (ids["deleted.main"], True),
        "staff": (ids["staff"], False),
        "operator": (None, False),
    }


def test_a_person_who_leaves_holds_no_contact_role_and_gets_none_back(db, enterprise, make_user):
    member = make_user(enterprise.account, "member")
    with db.transaction() as tx:
        users.set_contact_roles(tx, enterprise.actor, member.id, ["Outage Notification Receiver"])
    flag(db, enterprise.actor, member)
    with db.transaction(write=False) as tx:
        assert users.contact_roles_of(tx.get(User, member.id)) == []
        changed = [e.changes for e in audit.events_for(tx, "user", member.id)][-1]
        assert changed["contact_roles"] == [["Outage Notification Receiver"], []]
    with db.transaction() as tx, pytest.raises(Forbidden, match="no contact roles"):
        users.set_contact_roles(tx, enterprise.actor, member.id, ["IT Receiver"])


def test_people_who_left_are_listed_apart_active_or_not(db, enterprise, make_user):
    stays = make_user(enterprise.account, "stays")
    left = make_user(enterprise.account, "left.active")
    gone = make_user(enterprise.account, "left.inactive")
    flag(db, enterprise.actor, left)
    flag(db, enterprise.actor, gone)
    with db.transaction() as tx:
        users.deactivate(tx, enterprise.actor, gone.id)

    def listed(**which: Any) -> set[str]:
        with db.transaction(write=False) as tx:
            page = user_search.page_of_users(tx, enterprise.actor, enterprise.account.id, **which)
            return {u.user_name for u in page.users}

    assert listed() == {"main.contact", stays.user_name}
    assert listed(active=False) == set()
    assert listed(left=True) == {left.user_name, gone.user_name}
    assert listed(left=True, search="left.in") == {gone.user_name}


def test_no_door_gives_a_person_who_left_a_contact_role(db, enterprise, make_user):
    member = make_user(enterprise.account, "member")
    flag(db, enterprise.actor, member)
    with db.transaction(write=False) as tx:
        role = tx.scalar(
            select(Group).where(
                Group.account_id == enterprise.account.id, Group.display_name == "IT Receiver"
            )
        )
    for actor in (enterprise.actor, enterprise.okta):
        with db.transaction() as tx, pytest.raises(Forbidden, match="member is No Longer"):
            groups.add_members(tx, actor, role.id, [member.id])


def test_a_person_created_as_gone_is_given_no_contact_role_or_application(
    db, enterprise, second_main
):
    """The console's New User form can tick the flag beside roles and applications: created
    "No Longer at Account", the person holds none of them (nothing for clearing it to restore).
    """
    new = {"user_name": "gone.new", "no_longer_at_account": True}
    with db.transaction() as tx, pytest.raises(Forbidden, match="no contact roles"):
        new_users.create_user(
            tx,
            enterprise.actor,
            account_id=enterprise.account.id,
            contact_roles=["IT Receiver"],
            **new,
        )
    with db.transaction() as tx, pytest.raises(Forbidden, match="applications are not granted"):
        new_users.create_user(
            tx, enterprise.actor, account_id=enterprise.account.id, applications=["icd10"], **new
        )
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(User).where(User.user_name == "gone.new")) is None
    with db.transaction() as tx:  # an identity provider's list is its record of the person
        created = new_users.create_user(
            tx, enterprise.okta, account_id=enterprise.account.id, applications=["icd10"], **new
        )
        assert [a.key for a in created.applications] == ["icd10"]
