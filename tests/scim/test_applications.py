"""The community extension's `applications` over SCIM: add, remove and replace (RFC 7644 §3.5.2),
an unknown key refused by name, a replacement that leaves it out keeping it; and the sign-in mail
of the users an identity provider adds."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store import applications
from store.models.logs import OutboxMessage

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
APPS = f"{COMMUNITY}:applications"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture(autouse=True)
def apps(db, operator):
    with db.transaction() as tx:
        for key, name in (("ng_share", "NG Share"), ("ng_store", "NG Store"), ("icd10", "ICD-10")):
            applications.ensure_application(tx, operator, key=key, name=name)


def _patch(scim, user_id, *operations):
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)})


def _mails(tx):
    """Every mail queued, sent (right after the request, in development) or not."""
    query = select(OutboxMessage).where(OutboxMessage.kind == "email").order_by(OutboxMessage.id)
    return tx.scalars(query).all()


def _granted(response):
    return response.get_json()[COMMUNITY].get("applications")


def test_created_with_applications(scim):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER, COMMUNITY],
            "userName": "ann",
            COMMUNITY: {"applications": ["ng_share"]},
        },
    )
    assert response.status_code == 201, response.get_json()
    assert _granted(response) == ["ng_share"]


def test_add_remove_and_replace(scim):
    user = scim.create_user("ann")
    added = _patch(scim, user["id"], {"op": "add", "path": APPS, "value": ["ng_share", "icd10"]})
    assert added.status_code == 200, added.get_json()
    assert _granted(added) == ["icd10", "ng_share"]
    again = _patch(scim, user["id"], {"op": "add", "path": APPS, "value": ["ng_share"]})
    assert _granted(again) == ["icd10", "ng_share"]
    removed = _patch(scim, user["id"], {"op": "remove", "path": f'{APPS}[value eq "icd10"]'})
    assert removed.status_code == 200, removed.get_json()
    assert _granted(removed) == ["ng_share"]
    replaced = _patch(scim, user["id"], {"op": "replace", "path": APPS, "value": ["ng_store"]})
    assert _granted(replaced) == ["ng_store"]
    _patch(scim, user["id"], {"op": "add", "path": APPS, "value": ["ng_share", "icd10"]})
    named = _patch(scim, user["id"], {"op": "remove", "path": APPS, "value": ["icd10", "ng_store"]})
    assert named.status_code == 200, named.get_json()
    assert _granted(named) == ["ng_share"]
    cleared = _patch(scim, user["id"], {"op": "remove", "path": APPS})
    assert cleared.status_code == 200, cleared.get_json()
    assert _granted(cleared) is None


def test_an_unknown_application_is_refused_by_name(scim):
    user = scim.create_user("ann")
    response = _patch(scim, user["id"], {"op": "add", "path": APPS, "value": ["ng_nowhere"]})
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert "Unknown application ng_nowhere" in response.get_json()["detail"]


def test_a_replacement_that_leaves_applications_out_keeps_them(scim):
    user = scim.create_user("ann")
    _patch(scim, user["id"], {"op": "add", "path": APPS, "value": ["ng_share"]})
    response = scim.put(
        f"/Users/{user['id']}", {"schemas": [USER], "userName": "ann", "title": "Nurse"}
    )
    assert response.status_code == 200, response.get_json()
    assert _granted(response) == ["ng_share"]
    sent = scim.put(
        f"/Users/{user['id']}",
        {"schemas": [USER, COMMUNITY], "userName": "ann", COMMUNITY: {"applications": []}},
    )
    assert _granted(sent) is None


def test_an_active_user_with_an_address_gets_the_sign_in_mail(scim, db):
    for name, active in (("awake", True), ("asleep", False)):
        response = scim.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": name,
                "active": active,
                "emails": [{"value": f"{name}@example.test", "type": "work", "primary": True}],
            },
        )
        assert response.status_code == 201
    asleep = response.get_json()["id"]
    with db.transaction(write=False) as tx:
        assert [m.payload["to"] for m in _mails(tx)] == ["awake@example.test"]
    _patch(scim, asleep, {"op": "replace", "value": {"active": True}})
    with db.transaction(write=False) as tx:
        mails = _mails(tx)
        assert [(m.payload["to"], m.payload["reason"]) for m in mails][-1] == (
            "asleep@example.test",
            "activated",
        )
        assert mails[-1].payload["template"] == "sign_in"
