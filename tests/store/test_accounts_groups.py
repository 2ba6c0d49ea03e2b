"""Accounts with their contact roles, and groups with their members."""

from __future__ import annotations

import pytest

from store import accounts, audit, groups, new_users
from store.contact_roles import CONTACT_ROLES
from store.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from store.models.directory import Group


class TestAccounts:
    def test_an_account_is_created_with_the_twelve_contact_roles(self, db, make_account):
        account = make_account(kind="enterprise", entitlements=["managed_cloud"])
        with db.transaction(write=False) as tx:
            roles = accounts.contact_role_groups(tx, account.id)
            (event,) = audit.events_for(tx, "account", account.id)
        assert sorted(roles) == sorted(CONTACT_ROLES)
        assert len(roles) == 12
        assert event.action == "account.created"

    def test_account_names_are_unique_ignoring_case(self, make_account):
        make_account("Harbor Clinic")
        with pytest.raises(Conflict, match="already exists"):
            make_account("HARBOR clinic")

    @pytest.mark.parametrize(
        "extra",
        [
            {"kind": "hospital"},
            {"entitlements": ["free_lunch"]},
            {"name": " "},
            {"website": "x" * 300},
            {"colour": "red"},
        ],
    )
    def test_bad_account_input_is_refused(self, make_account, extra):
        with pytest.raises(InvalidInput):
            make_account(**({"kind": "enterprise"} | extra))

    def test_only_support_creates_accounts(self, db, enterprise):
        with db.transaction() as tx, pytest.raises(Forbidden):
            accounts.create_account(tx, enterprise.actor, name="Mine", kind="enterprise")

    def test_children_of_a_reseller(self, db, make_account):
        parent = make_account("Reseller Co", kind="reseller")
        make_account("Child B", kind="enterprise", parent="reseller co")
        make_account("Child A", kind="enterprise", parent=parent.name)
        with db.transaction(write=False) as tx:
            assert [a.name for a in accounts.children(tx, parent)] == ["Child A", "Child B"]
        with pytest.raises(NotFound):
            make_account("Orphan", parent="No Such Parent")

    def test_a_main_contact_sees_only_their_account_and_marks_review(
        self, db, enterprise, make_account
    ):
        other = make_account()
        with db.transaction() as tx, pytest.raises(NotFound):
            accounts.get_account(tx, enterprise.actor, other.id)
        with db.transaction() as tx:
            reviewed = accounts.mark_reviewed(tx, enterprise.actor, enterprise.account.id)
        assert reviewed.last_reviewed_at is not None


class TestGroups:
    def roles(self, db, account):
        with db.transaction(write=False) as tx:
            return accounts.contact_role_groups(tx, account.id)

    def test_contact_roles_cannot_be_deleted_or_renamed(self, db, enterprise, support):
        role = self.roles(db, enterprise.account)["Super User"]
        with db.transaction() as tx, pytest.raises(Forbidden, match="cannot be deleted"):
            groups.delete_group(tx, support, role.id)
        with db.transaction() as tx, pytest.raises(Forbidden, match="name is fixed"):
            groups.update_group(tx, support, role.id, display_name="Power User")
        assert self.roles(db, enterprise.account)["Super User"].id == role.id

    def test_pushed_group_lifecycle(self, db, enterprise, make_user):
        alice = make_user(enterprise.account, "alice")
        bob = make_user(enterprise.account, "bob")
        with db.transaction() as tx:
            group = groups.create_group(
                tx,
                enterprise.actor,
                account_id=enterprise.account.id,
                display_name="Clinic Staff",
                members=[alice.id],
            )
        with db.transaction() as tx:
            groups.add_members(tx, enterprise.actor, group.id, [bob.id, alice.id])
        with db.transaction() as tx:
            groups.remove_members(tx, enterprise.actor, group.id, [alice.id])
        with db.transaction(write=False) as tx:
            assert list(groups.member_ids(tx, group.id)) == [bob.id]
        with db.transaction() as tx:
            groups.set_members(tx, enterprise.actor, group.id, [alice.id])
            renamed = groups.update_group(
                tx, enterprise.actor, group.id, display_name="Clinic Team"
            )
        assert renamed.display_name == "Clinic Team"
        with db.transaction() as tx:
            groups.delete_group(tx, enterprise.actor, group.id)
        with db.transaction(write=False) as tx:
            assert tx.get(Group, group.id) is None
            actions = [e.action for e in audit.events_for(tx, "group", group.id)]
        assert actions == [
            "group.created",
            "group.members_added",
            "group.members_removed",
            "group.members_added",
            "group.members_removed",
            "group.updated",
            "group.deleted",
        ]

    def test_group_names_are_unique_per_account_ignoring_case(
        self, db, enterprise, make_account, operator
    ):
        with db.transaction() as tx:
            groups.create_group(
                tx, operator, account_id=enterprise.account.id, display_name="Nurses"
            )
        with db.transaction() as tx, pytest.raises(Conflict):
            groups.create_group(
                tx, operator, account_id=enterprise.account.id, display_name="NURSES"
            )
        with db.transaction() as tx, pytest.raises(Conflict):
            groups.create_group(
                tx, operator, account_id=enterprise.account.id, display_name="super user"
            )
        with db.transaction() as tx:
            groups.create_group(tx, operator, account_id=make_account().id, display_name="Nurses")

    def test_members_must_belong_to_the_account(self, db, enterprise, make_account, make_user):
        stranger = make_user(make_account(), "stranger")
        with db.transaction() as tx:
            group = groups.create_group(
                tx, enterprise.actor, account_id=enterprise.account.id, display_name="Team"
            )
        with db.transaction() as tx, pytest.raises(InvalidInput, match="No user"):
            groups.add_members(tx, enterprise.actor, group.id, [stranger.id])
        with db.transaction() as tx:
            other = groups.create_group(
                tx, enterprise.actor, account_id=enterprise.account.id, display_name="Other"
            )
        with db.transaction() as tx, pytest.raises(InvalidInput, match="groups are not members"):
            groups.add_members(tx, enterprise.actor, group.id, [other.id])  # a group, by its id
        with db.transaction(write=False) as tx:
            assert list(groups.member_ids(tx, group.id)) == []

    def test_membership_changes_bump_the_version_and_if_match_guards(
        self, db, enterprise, make_user
    ):
        alice = make_user(enterprise.account, "alice")
        with db.transaction() as tx:
            group = groups.create_group(
                tx, enterprise.actor, account_id=enterprise.account.id, display_name="Versioned"
            )
        version = group.version
        with db.transaction() as tx:
            group = groups.add_members(tx, enterprise.actor, group.id, [alice.id], if_match=version)
        assert group.version > version
        with db.transaction() as tx, pytest.raises(PreconditionFailed):
            groups.remove_members(tx, enterprise.actor, group.id, [alice.id], if_match=version)

    def test_groups_of_another_account_do_not_exist(self, db, enterprise, make_account, operator):
        with db.transaction() as tx:
            theirs = groups.create_group(
                tx, operator, account_id=make_account().id, display_name="Theirs"
            )
        for operation in (
            lambda tx: groups.get_group(tx, enterprise.actor, theirs.id),
            lambda tx: groups.delete_group(tx, enterprise.actor, theirs.id),
            lambda tx: groups.create_group(
                tx, enterprise.actor, account_id=theirs.account_id, display_name="Mine"
            ),
        ):
            with db.transaction() as tx, pytest.raises(NotFound):
                operation(tx)

    def test_an_identity_provider_pushes_groups_of_its_account(self, db, enterprise):
        okta = enterprise.okta
        with db.transaction() as tx:
            member = new_users.create_user(
                tx, okta, account_id=enterprise.account.id, user_name="pushed.member"
            )
            group = groups.create_group(
                tx,
                okta,
                account_id=enterprise.account.id,
                display_name="Okta Group",
                external_id="00g1",
                members=[member.id],
            )
        assert group.external_id == "00g1"


def test_a_group_named_like_a_contact_role_but_spaced_otherwise_is_refused(db, enterprise):
    """Pages collapse spaces: "Super  User" would show as the contact role beside it."""
    for name in ("Super  User", "super   user"):
        with db.transaction() as tx, pytest.raises(Conflict, match="reads as the contact role"):
            groups.create_group(
                tx, enterprise.actor, account_id=enterprise.account.id, display_name=name
            )
    with db.transaction() as tx:  # a name merely containing a role's words is another name
        groups.create_group(
            tx, enterprise.actor, account_id=enterprise.account.id, display_name="Super Users"
        )
