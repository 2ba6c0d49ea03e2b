"""Access to Applications in the console: main contacts grant it to every user of their account,
those an identity provider manages included; the CSC and applications open to everyone are no
checkbox; each grant says where it came from; a user the identity provider took over says so and
support can give them back."""

from __future__ import annotations

from typing import Any

import pytest

from store import access, applications, groups, new_users, users
from store.models.directory import User
from tests.pages import form_of


@pytest.fixture(autouse=True)
def apps(db, operator):
    with db.transaction() as tx:
        for key, name in (("ng_share", "NG Share"), ("csc", "Client Support Center")):
            applications.ensure_application(tx, operator, key=key, name=name)
        applications.ensure_application(
            tx, operator, key="community", name="Success Community", access="everyone"
        )


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def reload(db: Any, user_id: Any) -> User:
    with db.transaction(write=False) as tx:
        user = tx.get(User, user_id)
        _ = (user.emails, user.applications)
        return user


def test_a_main_contact_grants_an_identity_providers_user(db, enterprise, main_console):
    with db.transaction() as tx:
        pushed = new_users.create_user(
            tx,
            enterprise.okta,
            account_id=enterprise.account.id,
            user_name="pushed.person",
            emails=[{"value": "pushed@example.test", "primary": True}],
        )
    path = f"/accounts/{enterprise.account.id}/users/{pushed.id}"
    page = text(main_console.get(path))
    assert 'value="ng_share"' in page
    assert 'value="csc"' not in page and 'value="community"' not in page
    assert "managed by your organization&#39;s identity provider" in page
    answer = main_console.post(path, form_of(pushed, applications="ng_share", email=None))
    assert answer.status_code == 302, text(answer)
    assert [a.key for a in reload(db, pushed.id).applications] == ["ng_share"]
    assert "granted by a main contact" in text(main_console.get(path))


def test_a_csc_grant_survives_the_main_contacts_save(
    db, enterprise, make_user, main_console, support
):
    user = make_user(enterprise.account, "vetted")
    with db.transaction() as tx:
        users.grant_application(tx, support, user.id, "csc")
    user = reload(db, user.id)
    path = f"/accounts/{enterprise.account.id}/users/{user.id}"
    assert "granted by support after vetting" in text(main_console.get(path))
    answer = main_console.post(path, form_of(user, applications="ng_share"))
    assert answer.status_code == 302, text(answer)
    assert [a.key for a in reload(db, user.id).applications] == ["csc", "ng_share"]


def test_a_group_carried_application_is_named_with_its_group(
    db, enterprise, make_user, main_console
):
    user = make_user(enterprise.account, "member")
    with db.transaction() as tx:
        group = groups.create_group(
            tx,
            enterprise.okta,
            account_id=enterprise.account.id,
            display_name="Sharers",
            members=[user.id],
        )
        access.map_group(tx, enterprise.actor, group.id, "ng_share")
    page = text(main_console.get(f"/accounts/{enterprise.account.id}/users/{user.id}"))
    assert "through the group Sharers" in page


def test_support_gives_a_taken_over_user_back(
    db, enterprise, make_user, main_console, support_console
):
    local = make_user(enterprise.account, "local.person")
    with db.transaction() as tx:
        users.update_user(tx, enterprise.okta, local.id, {"active": False})
        users.update_user(tx, enterprise.okta, local.id, {"active": True})
    path = f"/accounts/{enterprise.account.id}/users/{local.id}"
    assert 'id="managed-note"' not in text(main_console.get(path))
    with db.transaction() as tx:
        users.update_user(tx, enterprise.okta, local.id, {"given_name": "Lo"})
    shown = text(main_console.get(path))
    assert 'id="managed-note"' in shown and "Only support can give them back" in shown
    assert 'id="release"' not in shown
    assert main_console.post(f"{path}/release", form_page=path).status_code == 403
    assert 'id="release"' in text(support_console.get(path))
    assert support_console.post(f"{path}/release", form_page=path).status_code == 302
    assert reload(db, local.id).managed_by is None
    assert 'id="managed-note"' not in text(main_console.get(path))


def test_a_main_contact_maps_a_pushed_group_to_an_application(
    db, enterprise, make_user, main_console, make_account
):
    member = make_user(enterprise.account, "member")
    with db.transaction() as tx:
        group = groups.create_group(
            tx,
            enterprise.okta,
            account_id=enterprise.account.id,
            display_name="Sharers",
            members=[member.id],
        )
    page = f"/accounts/{enterprise.account.id}/groups"
    listed = text(main_console.get(page))
    assert "Sharers" in listed and "IT Receiver" not in listed  # contact roles are not listed
    assert '<option value="ng_share">' in listed and 'value="csc"' not in listed
    mapped = main_console.post(f"{page}/{group.id}", {"application": "ng_share"}, form_page=page)
    assert mapped.status_code == 302
    assert "NG Share" in text(main_console.get(page))
    with db.transaction(write=False) as tx:
        assert [a.key for a in access.applications_for(tx, tx.get(User, member.id))] == [
            "ng_share",
            "community",
        ]
    elsewhere = make_account("Elsewhere")
    wrong = f"/accounts/{elsewhere.id}/groups/{group.id}"
    assert main_console.post(wrong, {"application": "ng_share"}, form_page=page).status_code == 404
    main_console.post(
        f"{page}/{group.id}", {"application": "ng_share", "action": "unmap"}, form_page=page
    )
    with db.transaction(write=False) as tx:
        assert access.mapped_applications(tx, group.id) == []
