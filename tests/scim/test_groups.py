"""/Groups over HTTP: pushed groups and the twelve contact roles, members, status codes, meta."""

from __future__ import annotations

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MEDIA_TYPE = "application/scim+json"


def patch(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def member_ids(group):
    return sorted(m["value"] for m in group.get("members", []))


def test_create_answers_201_with_location_etag_and_members(scim):
    alice = scim.create_user("alice")
    response = scim.post(
        "/Groups",
        {
            "schemas": [GROUP],
            "displayName": "Okta Admins",
            "externalId": "00g1",
            "members": [{"value": alice["id"]}],
        },
    )
    assert response.status_code == 201
    assert response.mimetype == MEDIA_TYPE
    group = response.get_json()
    meta = group["meta"]
    assert meta["resourceType"] == "Group"
    assert meta["version"] == 'W/"1"'
    assert meta["location"] == f"http://localhost/scim/v2/Groups/{group['id']}"
    assert meta["created"] == meta["lastModified"]
    assert response.headers["Location"] == meta["location"]
    assert response.headers["ETag"] == 'W/"1"'
    assert group["schemas"] == [GROUP]
    assert group["displayName"] == "Okta Admins"
    assert group["externalId"] == "00g1"
    assert group["members"] == [
        {
            "value": alice["id"],
            "$ref": f"http://localhost/scim/v2/Users/{alice['id']}",
            "type": "User",
        }
    ]
    user = scim.get(f"/Users/{alice['id']}?attributes=groups").get_json()
    assert [(g["value"], g["display"]) for g in user["groups"]] == [(group["id"], "Okta Admins")]


def test_get_returns_the_group_with_its_etag(scim):
    created = scim.create_group("Readers")
    response = scim.get(f"/Groups/{created['id']}")
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    assert response.headers["ETag"] == created["meta"]["version"]
    assert response.get_json() == created


def test_put_replaces_name_external_id_and_members(scim):
    alice, bob = scim.create_user("alice"), scim.create_user("bob")
    created = scim.create_group("Team", [alice["id"]])
    response = scim.put(
        f"/Groups/{created['id']}",
        {"schemas": [GROUP], "displayName": "Team B", "members": [{"value": bob["id"]}]},
    )
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    group = response.get_json()
    assert group["displayName"] == "Team B"
    assert "externalId" not in group
    assert member_ids(group) == [bob["id"]]
    assert group["meta"]["version"] != created["meta"]["version"]
    assert response.headers["ETag"] == group["meta"]["version"]
    assert scim.get(f"/Groups/{created['id']}").get_json() == group


def test_patch_answers_204_without_a_body(scim):
    alice = scim.create_user("alice")
    created = scim.create_group("Team")
    response = scim.patch(
        f"/Groups/{created['id']}",
        patch({"op": "add", "path": "members", "value": [{"value": alice["id"]}]}),
    )
    assert response.status_code == 204
    assert response.get_data() == b""
    read = scim.get(f"/Groups/{created['id']}")
    assert member_ids(read.get_json()) == [alice["id"]]
    assert response.headers["ETag"] == read.headers["ETag"] != created["meta"]["version"]
    renamed = scim.patch(  # the ETag answered makes the next change conditional
        f"/Groups/{created['id']}",
        patch({"op": "replace", "path": "displayName", "value": "Crew"}),
        headers={"If-Match": response.headers["ETag"]},
    )
    assert renamed.status_code == 204 and renamed.headers["ETag"] != response.headers["ETag"]


def test_patch_answers_200_with_the_attributes_asked_for(scim):
    alice = scim.create_user("alice")
    created = scim.create_group("Team")
    response = scim.patch(
        f"/Groups/{created['id']}?attributes=members",
        patch({"op": "add", "path": "members", "value": [{"value": alice["id"]}]}),
    )
    assert response.status_code == 200
    assert response.mimetype == MEDIA_TYPE
    body = response.get_json()
    assert set(body) == {"schemas", "id", "members"}
    assert member_ids(body) == [alice["id"]]


def test_patch_response_carries_the_new_version(scim):
    """The ETag a PATCH answers with is the one a following If-Match must name."""
    created = scim.create_group("Team")
    response = scim.patch(
        f"/Groups/{created['id']}?excludedAttributes=members",
        patch({"op": "replace", "value": {"displayName": "Team 2", "externalId": "e2"}}),
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["displayName"] == "Team 2"
    assert body["externalId"] == "e2"
    current = scim.get(f"/Groups/{created['id']}")
    assert body["meta"]["version"] == current.headers["ETag"] != created["meta"]["version"]
    assert response.headers["ETag"] == current.headers["ETag"]
    again = scim.patch(
        f"/Groups/{created['id']}?attributes=displayName",
        patch({"op": "replace", "path": "displayName", "value": "Team 3"}),
        headers={"If-Match": response.headers["ETag"]},
    )
    assert again.status_code == 200
    assert again.headers["ETag"] == scim.get(f"/Groups/{created['id']}").headers["ETag"]


def test_patch_members_replace_and_remove_all(scim):
    alice, bob = scim.create_user("alice"), scim.create_user("bob")
    created = scim.create_group("Team", [alice["id"]])
    url = f"/Groups/{created['id']}"
    replaced = scim.patch(
        url, patch({"op": "replace", "path": "members", "value": [{"value": bob["id"]}]})
    )
    assert replaced.status_code == 204
    assert member_ids(scim.get(url).get_json()) == [bob["id"]]
    emptied = scim.patch(url, patch({"op": "remove", "path": "members"}))
    assert emptied.status_code == 204
    assert "members" not in scim.get(url).get_json()


def test_delete_answers_204_and_the_group_is_gone(scim):
    alice = scim.create_user("alice")
    created = scim.create_group("Temporary", [alice["id"]])
    response = scim.delete(f"/Groups/{created['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    for answer in (scim.get(f"/Groups/{created['id']}"), scim.delete(f"/Groups/{created['id']}")):
        assert answer.status_code == 404
        assert answer.mimetype == MEDIA_TYPE
        assert answer.get_json()["detail"] == "No such group."
    # The member stays; only the membership went.
    user = scim.get(f"/Users/{alice['id']}").get_json()
    assert "groups" not in user


def test_every_account_has_the_twelve_contact_roles(scim):
    body = scim.get("/Groups?excludedAttributes=members").get_json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 12
    names = [g["displayName"] for g in body["Resources"]]
    assert "Default Case Contact" in names
    assert "Super User" in names


def test_contact_roles_cannot_be_renamed_or_deleted(scim):
    role = scim.get('/Groups?filter=displayName eq "Super User"').get_json()["Resources"][0]
    deleted = scim.delete(f"/Groups/{role['id']}")
    assert deleted.status_code == 403
    assert "contact role" in deleted.get_json()["detail"]
    renamed = scim.patch(
        f"/Groups/{role['id']}", patch({"op": "replace", "path": "displayName", "value": "Gurus"})
    )
    assert renamed.status_code == 403
    assert "name is fixed" in renamed.get_json()["detail"]
    assert scim.get(f"/Groups/{role['id']}").get_json()["displayName"] == "Super User"


def test_contact_role_members_can_be_pushed(scim):
    alice = scim.create_user("alice")
    role = scim.get('/Groups?filter=displayName eq "IT Receiver"').get_json()["Resources"][0]
    response = scim.patch(
        f"/Groups/{role['id']}",
        patch({"op": "add", "path": "members", "value": [{"value": alice["id"]}]}),
    )
    assert response.status_code == 204
    user = scim.get(f"/Users/{alice['id']}?attributes=groups").get_json()
    assert [g["display"] for g in user["groups"]] == ["IT Receiver"]


def test_member_of_no_user_in_the_account_is_refused(scim):
    created = scim.create_group("Team")
    response = scim.patch(
        f"/Groups/{created['id']}",
        patch(
            {
                "op": "add",
                "path": "members",
                "value": [{"value": "00000000-0000-0000-0000-000000000009"}],
            }
        ),
    )
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert "members" not in scim.get(f"/Groups/{created['id']}").get_json()


def test_excluded_members_are_left_out_of_get_and_list(scim):
    alice = scim.create_user("alice")
    created = scim.create_group("Team", [alice["id"]])
    got = scim.get(f"/Groups/{created['id']}?excludedAttributes=members").get_json()
    assert "members" not in got
    assert got["displayName"] == "Team"
    listed = scim.get('/Groups?filter=displayName eq "Team"&excludedAttributes=members')
    resources = listed.get_json()["Resources"]
    assert [g["displayName"] for g in resources] == ["Team"]
    assert "members" not in resources[0]
    full = scim.get('/Groups?filter=displayName eq "Team"').get_json()["Resources"][0]
    assert member_ids(full) == [alice["id"]]


def test_a_failing_operation_leaves_the_group_unchanged(scim):
    alice, bob = scim.create_user("alice"), scim.create_user("bob")
    created = scim.create_group("Team", [alice["id"]])
    response = scim.patch(
        f"/Groups/{created['id']}",
        patch(
            {"op": "add", "path": "members", "value": [{"value": bob["id"]}]},
            {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
            {
                "op": "add",
                "path": "members",
                "value": [{"value": "00000000-0000-0000-0000-000000000009"}],
            },
        ),
    )
    assert response.status_code == 400
    current = scim.get(f"/Groups/{created['id']}")
    assert current.headers["ETag"] == created["meta"]["version"]
    assert current.get_json() == created


def test_deleting_a_user_takes_it_out_of_its_groups(scim):
    alice, bob = scim.create_user("alice"), scim.create_user("bob")
    created = scim.create_group("Team", [alice["id"], bob["id"]])
    assert scim.delete(f"/Users/{alice['id']}").status_code == 204
    assert member_ids(scim.get(f"/Groups/{created['id']}").get_json()) == [bob["id"]]


def test_a_member_value_that_is_no_id_is_named_in_the_refusal(scim):
    """Before, {"value": "abc"} was refused as "No user 00000000-0000-…", naming nothing sent."""
    group = scim.post(
        "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "T"}
    ).get_json()
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": "abc"}]}],
    }
    refused = scim.patch(f"/Groups/{group['id']}", patch)
    assert refused.status_code == 400
    assert "'abc' is not a user id" in refused.get_json()["detail"]
