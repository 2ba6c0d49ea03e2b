"""ETags (RFC 7644 §3.14): weak versions, If-Match on changes, If-None-Match on reads."""

from __future__ import annotations

import pytest

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def title(value):
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "title", "value": value}],
    }


def rename(value):
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "displayName", "value": value}],
    }


@pytest.fixture
def alice(scim):
    user = scim.create_user("alice")
    changed = scim.patch(f"/Users/{user['id']}", title("Nurse"))
    assert changed.headers["ETag"] == 'W/"2"'
    return changed.get_json()


def test_every_change_gives_a_new_version(scim, alice):
    url = f"/Users/{alice['id']}"
    assert scim.get(url).headers["ETag"] == 'W/"2"'
    put = scim.put(url, {"schemas": [USER], "userName": "alice"})
    assert put.headers["ETag"] == 'W/"3"'
    assert scim.get(url).headers["ETag"] == 'W/"3"'


HUGE = f'W/"{"9" * 5000}"'  # past Python's 4,300-digit limit for int()


@pytest.mark.parametrize("stale", ['W/"1"', '"1"', 'W/"99"', "not-a-version", HUGE])
def test_if_match_on_another_version_is_412_and_changes_nothing(scim, alice, stale):
    url = f"/Users/{alice['id']}"
    headers = {"If-Match": stale}
    for response in (
        scim.patch(url, title("Surgeon"), headers=headers),
        scim.put(url, {"schemas": [USER], "userName": "alice.renamed"}, headers=headers),
        scim.delete(url, headers=headers),
    ):
        assert response.status_code == 412
        body = response.get_json()
        assert body["status"] == "412"
        assert body["detail"]
    assert scim.get(url).get_json() == alice


def test_if_match_on_the_current_version_proceeds(scim, alice):
    url = f"/Users/{alice['id']}"
    patched = scim.patch(url, title("Surgeon"), headers={"If-Match": 'W/"2"'})
    assert patched.status_code == 200
    # Strong and weak spellings of the version both name it.
    put = scim.put(url, {"schemas": [USER], "userName": "alice"}, headers={"If-Match": '"3"'})
    assert put.status_code == 200
    assert scim.delete(url, headers={"If-Match": put.headers["ETag"]}).status_code == 204


def test_if_match_with_several_versions_proceeds_when_any_is_current(scim, alice):
    url = f"/Users/{alice['id']}"
    stale = scim.patch(url, title("Surgeon"), headers={"If-Match": 'W/"1", W/"9"'})
    assert stale.status_code == 412
    patched = scim.patch(url, title("Surgeon"), headers={"If-Match": 'W/"1", W/"2"'})
    assert patched.status_code == 200
    group = scim.create_group("Night Shift")
    renamed = scim.patch(
        f"/Groups/{group['id']}",
        rename("Nights"),
        headers={"If-Match": f'"0", {group["meta"]["version"]}'},
    )
    assert renamed.status_code in (200, 204)


def test_if_match_star_matches_any_version(scim, alice):
    response = scim.patch(f"/Users/{alice['id']}", title("Surgeon"), headers={"If-Match": "*"})
    assert response.status_code == 200


def test_if_none_match_on_the_current_version_is_304(scim, alice):
    url = f"/Users/{alice['id']}"
    response = scim.get(url, headers={"If-None-Match": 'W/"2"'})
    assert response.status_code == 304
    assert response.headers["ETag"] == 'W/"2"'
    assert response.get_data() == b""
    older = scim.get(url, headers={"If-None-Match": 'W/"1"'})
    assert older.status_code == 200
    assert older.get_json() == alice


def test_groups_have_versions_too(scim):
    group = scim.create_group("Team")
    url = f"/Groups/{group['id']}"
    assert scim.get(url, headers={"If-None-Match": group["meta"]["version"]}).status_code == 304
    stale = scim.patch(url, rename("Team 2"), headers={"If-Match": 'W/"99"'})
    assert stale.status_code == 412
    put = scim.put(
        url, {"schemas": [GROUP], "displayName": "Team 2"}, headers={"If-Match": 'W/"99"'}
    )
    assert put.status_code == 412
    assert scim.delete(url, headers={"If-Match": 'W/"99"'}).status_code == 412
    assert scim.get(url).get_json() == group
    current = scim.patch(url, rename("Team 2"), headers={"If-Match": group["meta"]["version"]})
    assert current.status_code == 204
    assert scim.get(url).headers["ETag"] != group["meta"]["version"]


def test_a_users_version_changes_with_its_groups(scim, alice):
    """`groups` is part of the user: a client holding its ETag must not be told 304 after."""
    url = f"/Users/{alice['id']}"
    members = {"schemas": [PATCH_OP], "Operations": []}

    def etag():
        response = scim.get(url)
        assert response.status_code == 200
        return response.headers["ETag"]

    seen = etag()
    group = scim.create_group("Night Shift")
    for operation in (
        {"op": "add", "path": "members", "value": [{"value": alice["id"]}]},
        {"op": "replace", "path": "displayName", "value": "Nights"},
        {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
    ):
        changed = scim.patch(f"/Groups/{group['id']}", {**members, "Operations": [operation]})
        assert changed.status_code in (200, 204)
        assert scim.get(url, headers={"If-None-Match": seen}).status_code == 200
        assert etag() != seen
        seen = etag()
    scim.patch(
        f"/Groups/{group['id']}",
        {
            **members,
            "Operations": [{"op": "add", "path": "members", "value": [{"value": alice["id"]}]}],
        },
    )
    seen = etag()
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert etag() != seen
    assert "groups" not in scim.get(url).get_json()


def test_deleting_a_user_changes_the_versions_of_its_groups_and_of_those_it_managed(scim, alice):
    """Deleting a member changes the group's members, and deleting a manager the `manager` of
    those they managed: neither may still answer 304 to the ETag a client holds."""
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    boss = scim.create_user("boss")
    managed = scim.patch(
        f"/Users/{alice['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "add", "path": f"{enterprise}:manager", "value": {"value": boss["id"]}}
            ],
        },
    )
    assert managed.status_code == 200
    group = scim.create_group("Day Shift", members=[boss["id"], alice["id"]])
    held = {
        f"/Users/{alice['id']}": managed.headers["ETag"],
        f"/Groups/{group['id']}": scim.get(f"/Groups/{group['id']}").headers["ETag"],
    }
    assert scim.delete(f"/Users/{boss['id']}").status_code == 204
    for url, etag in held.items():
        response = scim.get(url, headers={"If-None-Match": etag})
        assert response.status_code == 200, url
        assert response.headers["ETag"] != etag
    assert "manager" not in scim.get(f"/Users/{alice['id']}").get_json().get(enterprise, {})
    members = scim.get(f"/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [alice["id"]]


def test_an_if_none_match_of_thousands_of_digits_names_no_version(scim, alice):
    response = scim.get(f"/Users/{alice['id']}", headers={"If-None-Match": HUGE})
    assert response.status_code == 200


def test_a_bulk_version_of_thousands_of_digits_is_412(scim, alice):
    operation = {
        "method": "PATCH",
        "path": f"/Users/{alice['id']}",
        "version": HUGE,
        "data": title("Surgeon"),
    }
    response = scim.post(
        "/Bulk",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [operation],
        },
    )
    assert response.status_code == 200
    assert response.get_json()["Operations"][0]["status"] == "412"


def test_answers_without_a_body_carry_no_content_type(scim, alice):
    """304 and 204 have no body, so nothing to type (werkzeug's default said text/html)."""
    url = f"/Users/{alice['id']}"
    unchanged = scim.get(url, headers={"If-None-Match": 'W/"2"'})
    group = scim.create_group("Quiet")
    patched = scim.patch(f"/Groups/{group['id']}", rename("Quieter"))
    for response in (unchanged, patched, scim.delete(url), scim.delete(f"/Groups/{group['id']}")):
        assert response.status_code in (204, 304)
        assert "Content-Type" not in response.headers and response.get_data() == b""
