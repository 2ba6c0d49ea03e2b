"""attributes and excludedAttributes (RFC 7644 §3.4.2.5, §3.9) on reads, lists and changes."""

from __future__ import annotations

import pytest

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def alice(scim):
    return scim.create_user(
        "alice", title="Nurse", name={"givenName": "Alice", "familyName": "Adams"}
    )


def test_attributes_on_get_return_those_and_the_id(scim, alice):
    body = scim.get(f"/Users/{alice['id']}?attributes=userName,name.givenName").get_json()
    assert body == {
        "schemas": [USER],
        "id": alice["id"],
        "userName": "alice",
        "name": {"givenName": "Alice"},
    }


def test_excluded_attributes_on_get_leave_those_out(scim, alice):
    body = scim.get(f"/Users/{alice['id']}?excludedAttributes=emails,name,meta").get_json()
    assert {"emails", "name", "meta"}.isdisjoint(body)
    assert (body["id"], body["userName"], body["title"]) == (alice["id"], "alice", "Nurse")


def test_id_is_always_returned(scim, alice):
    body = scim.get(f"/Users/{alice['id']}?excludedAttributes=id,title").get_json()
    assert body["id"] == alice["id"]
    assert "title" not in body


def test_extension_attributes_by_urn(scim, alice):
    body = scim.get(f"/Users/{alice['id']}?attributes={COMMUNITY}:profile").get_json()
    assert body == {
        "schemas": [USER, COMMUNITY],
        "id": alice["id"],
        COMMUNITY: {"profile": "client"},
    }
    without = scim.get(f"/Users/{alice['id']}?excludedAttributes={COMMUNITY}").get_json()
    assert COMMUNITY not in without


def test_attributes_on_list_and_search(scim, alice):
    listed = scim.get('/Users?filter=userName eq "alice"&attributes=title').get_json()
    assert listed["Resources"] == [{"schemas": [USER], "id": alice["id"], "title": "Nurse"}]
    searched = scim.post(
        "/Users/.search",
        {"schemas": [SEARCH], "filter": 'userName eq "alice"', "excludedAttributes": ["title"]},
    ).get_json()
    assert "title" not in searched["Resources"][0]
    assert searched["Resources"][0]["userName"] == "alice"


def test_attributes_on_post_put_and_patch_responses(scim, alice):
    created = scim.post(
        "/Users?attributes=userName", {"schemas": [USER], "userName": "bob", "title": "Clerk"}
    )
    assert created.status_code == 201
    assert set(created.get_json()) == {"schemas", "id", "userName"}
    assert created.headers["ETag"] == 'W/"1"'
    replaced = scim.put(
        f"/Users/{alice['id']}?excludedAttributes=emails,meta",
        {"schemas": [USER], "userName": "alice", "title": "Surgeon"},
    )
    assert replaced.status_code == 200
    assert {"emails", "meta"}.isdisjoint(replaced.get_json())
    assert replaced.get_json()["title"] == "Surgeon"
    patched = scim.patch(
        f"/Users/{alice['id']}?attributes=title",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Dr"}]},
    )
    assert patched.get_json() == {"schemas": [USER], "id": alice["id"], "title": "Dr"}
    assert patched.headers["ETag"] == 'W/"3"'


def test_groups_without_members(scim, alice):
    group = scim.create_group("Team", [alice["id"]])
    url = f"/Groups/{group['id']}"
    assert "members" not in scim.get(f"{url}?excludedAttributes=members").get_json()
    only = scim.get(f"{url}?attributes=displayName").get_json()
    assert only == {"schemas": [GROUP], "id": group["id"], "displayName": "Team"}
    members = scim.get(f"{url}?attributes=members").get_json()
    assert [m["value"] for m in members["members"]] == [alice["id"]]
    created = scim.post(
        "/Groups?excludedAttributes=members",
        {"schemas": [GROUP], "displayName": "Other", "members": [{"value": alice["id"]}]},
    )
    assert created.status_code == 201
    assert "members" not in created.get_json()
    replaced = scim.put(
        f"{url}?excludedAttributes=members",
        {"schemas": [GROUP], "displayName": "Team", "members": []},
    )
    assert "members" not in replaced.get_json()
    assert "members" not in scim.get(url).get_json()


def test_a_bad_projection_on_create_creates_nothing(scim, db):
    from sqlalchemy import func, select

    from store.models.directory import User

    response = scim.post(
        "/Users?attributes=emails[type%20eq%20%22work%22]", {"userName": "never.created"}
    )
    assert response.status_code == 400
    with db.transaction(write=False) as tx:
        count = tx.scalar(select(func.count()).where(User.user_name_ci == "never.created"))
    assert count == 0
