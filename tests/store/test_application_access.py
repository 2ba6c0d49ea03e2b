"""Application access (SPEC §1 Applications): the community's entitlement, granted by main contacts
and support to every user of their account (externally managed ones too), driven by an identity
provider over SCIM or through a group mapped to an application; CSC by support's vetting only."""

from __future__ import annotations

import pytest

from store import access, applications, groups, new_users, outbox, users
from store.errors import Conflict, Forbidden, InvalidInput
from store.models.directory import User


@pytest.fixture
def apps(db, operator):
    with db.transaction() as tx:
        for key, name in (("ng_share", "NG Share"), ("ng_store", "NG Store"), ("csc", "CSC")):
            applications.ensure_application(tx, operator, key=key, name=name)
        applications.ensure_application(
            tx, operator, key="community", name="Success Community", access="everyone"
        )


def _pushed(db, enterprise, user_name="pushed.person", **fields):
    with db.transaction() as tx:
        return new_users.create_user(
            tx,
            enterprise.okta,
            account_id=enterprise.account.id,
            user_name=user_name,
            emails=[{"value": f"{user_name}@example.test", "primary": True}],
            **fields,
        )


def _open(db, user_id):
    with db.transaction(write=False) as tx:
        return [a.key for a in access.applications_for(tx, tx.get(User, user_id))]


def _sources(db, user_id):
    with db.transaction(write=False) as tx:
        return [(s.key, s.label) for s in access.sources_of(tx, tx.get(User, user_id))]


def test_a_main_contact_grants_an_identity_providers_user(db, enterprise, apps):
    pushed = _pushed(db, enterprise)
    with db.transaction() as tx:
        users.grant_application(tx, enterprise.actor, pushed.id, "ng_share")
    assert _open(db, pushed.id) == ["ng_share", "community"]
    assert _sources(db, pushed.id) == [("ng_share", "granted by a main contact")]


def test_the_identity_provider_grant_is_recorded_as_its_own(db, enterprise, apps):
    pushed = _pushed(db, enterprise, applications=["ng_store"])
    with db.transaction() as tx:
        users.grant_application(tx, enterprise.actor, pushed.id, "ng_share")
    assert _sources(db, pushed.id) == [
        ("ng_share", "granted by a main contact"),
        ("ng_store", "granted by the identity provider"),
    ]


def test_a_pushed_group_mapped_to_an_application_grants_it_to_its_members(
    db, enterprise, apps, make_user
):
    member = make_user(enterprise.account, "member")
    with db.transaction() as tx:
        group = groups.create_group(
            tx, enterprise.okta, account_id=enterprise.account.id, display_name="Sharers"
        )
        access.map_group(tx, enterprise.actor, group.id, "ng_share")
    assert "ng_share" not in _open(db, member.id)
    with db.transaction() as tx:
        groups.add_members(tx, enterprise.okta, group.id, [member.id])
    assert "ng_share" in _open(db, member.id)
    assert _sources(db, member.id) == [("ng_share", "through the group Sharers")]
    with db.transaction() as tx:
        groups.remove_members(tx, enterprise.okta, group.id, [member.id])
    assert "ng_share" not in _open(db, member.id)


def test_no_longer_at_account_ends_group_carried_access(db, enterprise, apps, make_user):
    member = make_user(enterprise.account, "leaver")
    with db.transaction() as tx:
        group = groups.create_group(
            tx,
            enterprise.okta,
            account_id=enterprise.account.id,
            display_name="Sharers",
            members=[member.id],
        )
        access.map_group(tx, enterprise.actor, group.id, "ng_share")
        users.update_user(tx, enterprise.actor, member.id, {"no_longer_at_account": True})
    assert _open(db, member.id) == ["community"]


def test_unknown_application_is_refused_by_name(db, enterprise, apps, make_user):
    user = make_user(enterprise.account)
    with db.transaction() as tx, pytest.raises(InvalidInput, match="Unknown application nope"):
        users.update_user(tx, enterprise.okta, user.id, {"applications": ["nope"]})


def test_main_contacts_cannot_grant_or_remove_the_csc(db, enterprise, apps, make_user, support):
    user = make_user(enterprise.account)
    with db.transaction() as tx, pytest.raises(Forbidden, match="Client Support Center"):
        users.grant_application(tx, enterprise.actor, user.id, "csc")
    with db.transaction() as tx:
        users.grant_application(tx, support, user.id, "csc")
    with db.transaction() as tx, pytest.raises(Forbidden, match="Client Support Center"):
        users.revoke_application(tx, enterprise.actor, user.id, "csc")
    with db.transaction(write=False) as tx:
        offered = access.grantable(enterprise.actor, applications.all_applications(tx))
        assert [a.key for a in offered] == ["ng_share", "ng_store"]


def test_an_application_open_to_everyone_is_no_grant(db, enterprise, apps, make_user):
    user = make_user(enterprise.account)
    with db.transaction() as tx, pytest.raises(InvalidInput, match="open to everyone"):
        users.grant_application(tx, enterprise.actor, user.id, "community")


def test_toggling_active_does_not_take_a_local_user_over(db, enterprise, make_user):
    local = make_user(enterprise.account, "local.person")
    with db.transaction() as tx:
        users.deactivate(tx, enterprise.okta, local.id)
        users.activate(tx, enterprise.okta, local.id)
        assert tx.get(User, local.id).managed_by is None
        users.update_user(tx, enterprise.okta, local.id, {"title": "Nurse"})
        assert tx.get(User, local.id).managed_by == "identity_provider"


def test_support_gives_a_taken_over_user_back(db, enterprise, make_user, support):
    local = make_user(enterprise.account, "local.person")
    with db.transaction() as tx:
        users.update_user(tx, enterprise.okta, local.id, {"given_name": "Lo"})
    with db.transaction() as tx, pytest.raises(Forbidden):
        users.release(tx, enterprise.actor, local.id)
    with db.transaction() as tx:
        users.release(tx, support, local.id)
    with db.transaction() as tx:
        assert tx.get(User, local.id).managed_by is None
        users.update_user(tx, enterprise.actor, local.id, {"given_name": "Local"})
        with pytest.raises(Conflict):
            users.release(tx, support, local.id)


def test_an_identity_providers_active_user_gets_the_sign_in_mail(db, enterprise):
    pushed = _pushed(db, enterprise)
    _pushed(db, enterprise, "asleep", active=False)
    with db.transaction(write=False) as tx:
        mails = outbox.pending(tx, outbox.EMAIL)
        assert [(m.payload["to"], m.payload["reason"]) for m in mails] == [
            ("pushed.person@example.test", "created")
        ]
        assert mails[0].payload["link"].startswith("/set-password/")
    assert pushed.managed_by == "identity_provider"


def test_an_identity_providers_list_for_a_leaver_is_kept_and_gives_nothing(
    db, enterprise, apps, make_user
):
    user = make_user(enterprise.account, "leaver", no_longer_at_account=True)
    with db.transaction() as tx, pytest.raises(Forbidden, match="No Longer at Account"):
        users.grant_application(tx, enterprise.actor, user.id, "ng_share")
    with db.transaction() as tx:
        users.update_user(tx, enterprise.okta, user.id, {"applications": ["ng_share"]})
    assert _open(db, user.id) == ["community"]
    with db.transaction() as tx:
        users.update_user(tx, enterprise.actor, user.id, {"no_longer_at_account": False})
    assert _open(db, user.id) == ["ng_share", "community"]
