"""/Users over HTTP: create, read, replace, patch, delete, with RFC 7644 status codes and meta."""

from __future__ import annotations

from datetime import datetime

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
MEDIA_TYPE = "application/scim+json"


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_create_answers_201_with_location_etag_and_meta(scim, enterprise):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER, ENTERPRISE],
            "userName": "alice.adams",
            "externalId": "00u1",
            "name": {"givenName": "Alice", "familyName": "Adams"},
            "emails": [{"value": "alice@example.com", "type": "work", "primary": True}],
            "password": "Correct-horse-battery-9",
            ENTERPRISE: {"department": "Cardiology"},
        },
    )
    assert response.status_code == 201
    assert response.mimetype == MEDIA_TYPE
    user = response.get_json()
    meta = user["meta"]
    assert meta["resourceType"] == "User"
    assert meta["version"] == 'W/"1"'
    assert meta["location"] == f"http://localhost/scim/v2/Users/{user['id']}"
    assert meta["created"] == meta["lastModified"]
    assert response.headers["Location"] == meta["location"]
    assert response.headers["ETag"] == 'W/"1"'
    assert user["schemas"] == [USER, ENTERPRISE, COMMUNITY]
    assert user["userName"] == "alice.adams"
    assert user["externalId"] == "00u1"
    assert user["active"] is True
    assert user[ENTERPRISE] == {"department": "Cardiology"}
    # A user pushed without a profile gets the account kind's default (SPEC §1 Users).
    assert user[COMMUNITY] == {
        "profile": "client",
        "noLongerAtAccount": False,
        "preferredContactMethod": "email",
    }
    assert "password" not in user


def test_get_returns_the_created_user_with_its_etag(scim):
    created = scim.create_user("bob.brown", name={"givenName": "Bob"})
    response = scim.get(f"/Users/{created['id']}")
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    assert response.headers["ETag"] == 'W/"1"'
    assert response.get_json() == created


def test_put_replaces_the_user_and_clears_what_it_leaves_out(scim):
    created = scim.create_user(
        "carol.clark", title="Nurse", name={"givenName": "Carol", "familyName": "Clark"}
    )
    response = scim.put(
        f"/Users/{created['id']}",
        {
            "schemas": [USER],
            "userName": "carol.cooper",
            "name": {"familyName": "Cooper"},
            "emails": [{"value": "carol@example.com", "type": "home", "primary": True}],
        },
    )
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    user = response.get_json()
    assert user["userName"] == "carol.cooper"
    assert user["name"] == {"familyName": "Cooper"}
    assert "title" not in user
    assert user["emails"] == [{"value": "carol@example.com", "type": "home", "primary": True}]
    # PUT keeps the community state it does not send, and the user stays active.
    assert user["active"] is True
    assert user[COMMUNITY]["profile"] == "client"
    assert user["meta"]["version"] == 'W/"2"'
    assert response.headers["ETag"] == 'W/"2"'
    assert user["meta"]["created"] == created["meta"]["created"]
    assert moment(user["meta"]["lastModified"]) > moment(created["meta"]["lastModified"])
    assert scim.get(f"/Users/{created['id']}").get_json() == user


def test_patch_answers_200_with_the_changed_user(scim):
    created = scim.create_user("dan.dale")
    response = scim.patch(
        f"/Users/{created['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "title", "value": "Surgeon"}],
        },
    )
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    user = response.get_json()
    assert user["title"] == "Surgeon"
    assert user["meta"]["version"] == 'W/"2"'
    assert response.headers["ETag"] == 'W/"2"'
    assert scim.get(f"/Users/{created['id']}").get_json()["title"] == "Surgeon"


def test_delete_answers_204_and_the_user_is_gone(scim):
    created = scim.create_user("erin.east")
    response = scim.delete(f"/Users/{created['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    for answer in (
        scim.get(f"/Users/{created['id']}"),
        scim.delete(f"/Users/{created['id']}"),
        scim.patch(
            f"/Users/{created['id']}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "title", "value": "x"}],
            },
        ),
    ):
        assert answer.status_code == 404
        assert answer.mimetype == MEDIA_TYPE
        assert answer.get_json()["schemas"] == [ERROR]
        assert answer.get_json()["status"] == "404"
    listed = scim.get('/Users?filter=userName eq "erin.east"').get_json()
    assert listed["totalResults"] == 0


def test_list_returns_the_account_users_in_a_list_response(scim, enterprise):
    scim.create_user("fay.ford")
    response = scim.get("/Users")
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == 2
    assert body["startIndex"] == 1
    assert body["itemsPerPage"] == 2
    assert sorted(u["userName"] for u in body["Resources"]) == ["fay.ford", "main.contact"]


def test_created_user_can_be_given_a_community_profile_and_contact_method(scim):
    user = scim.create_user(
        "gil.grant",
        **{COMMUNITY: {"profile": "knowledge", "preferredContactMethod": "phone"}},
    )
    assert user[COMMUNITY]["profile"] == "knowledge"
    assert user[COMMUNITY]["preferredContactMethod"] == "phone"
    assert scim.get(f"/Users/{user['id']}").get_json()[COMMUNITY]["profile"] == "knowledge"


def test_account_is_returned_only_when_asked_for(scim, enterprise):
    user = scim.create_user("hal.hunt")
    assert "account" not in user[COMMUNITY]
    asked = scim.get(f"/Users/{user['id']}?attributes={COMMUNITY}:account").get_json()
    assert asked[COMMUNITY] == {"account": enterprise.account.name}


def test_manager_is_another_user_of_the_account(scim):
    boss = scim.create_user("ida.boss")
    report = scim.create_user("jon.report", **{ENTERPRISE: {"manager": {"value": boss["id"]}}})
    manager = report[ENTERPRISE]["manager"]
    assert manager["value"] == boss["id"]
    assert manager["$ref"] == f"http://localhost/scim/v2/Users/{boss['id']}"


def test_unknown_or_malformed_id_is_404(scim):
    for resource_id in ("00000000-0000-0000-0000-000000000001", "not-a-uuid"):
        response = scim.get(f"/Users/{resource_id}")
        assert response.status_code == 404
        assert response.get_json()["detail"] == "No such user."


def test_an_active_of_null_is_as_if_it_were_not_sent(scim):
    """RFC 7643 §2.5: null and unassigned are the same state. A creation gets the default, a
    replacement keeps the user's state; neither is refused as a missing required value."""
    created = scim.post("/Users", {"schemas": [USER], "userName": "null.active", "active": None})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["active"] is True
    url = f"/Users/{created.get_json()['id']}"
    off = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "active", "value": False}],
    }
    assert scim.patch(url, off).status_code == 200
    replaced = scim.put(url, {"schemas": [USER], "userName": "null.active", "active": None})
    assert replaced.status_code == 200, replaced.get_json()
    assert replaced.get_json()["active"] is False
