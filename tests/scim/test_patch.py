"""PATCH on users (RFC 7644 §3.5.2): add, replace, remove, value filters, extensions, atomicity."""

from __future__ import annotations

import pytest

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def patch(scim, user, *operations, query=""):
    return scim.patch(
        f"/Users/{user['id']}{query}", {"schemas": [PATCH_OP], "Operations": list(operations)}
    )


def patched(scim, user, *operations):
    response = patch(scim, user, *operations)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body == scim.get(f"/Users/{user['id']}").get_json()
    return body


@pytest.fixture
def alice(scim):
    return scim.create_user(
        "alice",
        name={"givenName": "Alice", "familyName": "Adams"},
        emails=[
            {"value": "alice@work.example.com", "type": "work", "primary": True},
            {"value": "alice@home.example.com", "type": "home"},
        ],
    )


def emails(user):
    return [(e["value"], e.get("type"), e.get("primary")) for e in user.get("emails", [])]


def test_add_without_path_sets_each_attribute(scim, alice):
    user = patched(scim, alice, {"op": "add", "value": {"title": "Dr", "nickName": "Al"}})
    assert (user["title"], user["nickName"]) == ("Dr", "Al")
    assert user["name"] == {"givenName": "Alice", "familyName": "Adams"}


def test_replace_with_path_on_a_sub_attribute_keeps_the_others(scim, alice):
    user = patched(scim, alice, {"op": "replace", "path": "name.familyName", "value": "Smith"})
    assert user["name"] == {"givenName": "Alice", "familyName": "Smith"}


def test_replace_without_path_on_a_complex_attribute_keeps_what_it_leaves_out(scim, alice):
    user = patched(scim, alice, {"op": "replace", "value": {"name": {"givenName": "Ally"}}})
    assert user["name"] == {"givenName": "Ally", "familyName": "Adams"}


def test_remove_an_attribute(scim, alice):
    patched(scim, alice, {"op": "add", "path": "title", "value": "Dr"})
    user = patched(scim, alice, {"op": "remove", "path": "title"})
    assert "title" not in user


def test_add_to_a_multi_valued_attribute_appends(scim, alice):
    user = patched(
        scim,
        alice,
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "al@other.example.com", "type": "other"}],
        },
    )
    assert emails(user) == [
        ("alice@work.example.com", "work", True),
        ("alice@home.example.com", "home", False),
        ("al@other.example.com", "other", False),
    ]


def test_adding_a_value_already_there_changes_nothing(scim, alice):
    version = alice["meta"]["version"]
    for value in (
        {"value": "alice@home.example.com", "type": "home"},
        {"value": "ALICE@Home.Example.com", "type": "Home"},
    ):
        user = patched(scim, alice, {"op": "add", "path": "emails", "value": [value]})
        assert emails(user) == emails(alice)
        assert user["meta"]["version"] == version
    roles = [{"value": "r2", "primary": True}]
    with_role = patched(scim, alice, {"op": "add", "path": "roles", "value": roles})
    again = patched(scim, alice, {"op": "add", "path": "roles", "value": [{"value": "r2"}]})
    assert again["roles"] == with_role["roles"] == roles
    assert again["meta"]["version"] == with_role["meta"]["version"]


def test_adding_a_value_already_there_as_primary_makes_it_primary(scim, alice):
    added = {"value": "alice@home.example.com", "type": "home", "primary": True}
    user = patched(scim, alice, {"op": "add", "path": "emails", "value": [added]})
    assert emails(user) == [
        ("alice@work.example.com", "work", False),
        ("alice@home.example.com", "home", True),
    ]


def test_replace_a_multi_valued_attribute_replaces_all_values(scim, alice):
    user = patched(
        scim,
        alice,
        {
            "op": "replace",
            "path": "emails",
            "value": [{"value": "new@example.com", "type": "work"}],
        },
    )
    assert emails(user) == [("new@example.com", "work", False)]


def test_replace_through_a_value_filter(scim, alice):
    user = patched(
        scim,
        alice,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "a2@work.example.com"},
    )
    assert emails(user) == [
        ("a2@work.example.com", "work", True),
        ("alice@home.example.com", "home", False),
    ]


def test_remove_through_a_value_filter(scim, alice):
    user = patched(scim, alice, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert emails(user) == [("alice@work.example.com", "work", True)]


def test_making_one_value_primary_unsets_the_others(scim, alice):
    user = patched(
        scim, alice, {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}
    )
    assert emails(user) == [
        ("alice@work.example.com", "work", False),
        ("alice@home.example.com", "home", True),
    ]


def test_two_primary_values_are_refused(scim, alice):
    response = patch(
        scim,
        alice,
        {
            "op": "replace",
            "path": "emails",
            "value": [
                {"value": "a@example.com", "primary": True},
                {"value": "b@example.com", "primary": True},
            ],
        },
    )
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"


def test_community_extension_by_path_and_without_path(scim, alice):
    user = patched(
        scim, alice, {"op": "replace", "path": f"{COMMUNITY}:profile", "value": "read_only"}
    )
    assert user[COMMUNITY]["profile"] == "read_only"
    user = patched(
        scim, alice, {"op": "replace", "value": {COMMUNITY: {"preferredContactMethod": "phone"}}}
    )
    assert user[COMMUNITY] == {
        "profile": "read_only",
        "noLongerAtAccount": False,
        "preferredContactMethod": "phone",
    }


def test_profile_names_are_matched_without_case(scim, alice):
    user = patched(
        scim, alice, {"op": "replace", "path": f"{COMMUNITY}:profile", "value": "Knowledge"}
    )
    assert user[COMMUNITY]["profile"] == "knowledge"


def test_enterprise_extension_by_path(scim, alice):
    user = patched(scim, alice, {"op": "add", "path": f"{ENTERPRISE}:department", "value": "ICU"})
    assert user[ENTERPRISE] == {"department": "ICU"}
    assert ENTERPRISE in user["schemas"]
    user = patched(scim, alice, {"op": "remove", "path": f"{ENTERPRISE}:department"})
    assert ENTERPRISE not in user


def test_password_is_accepted_and_never_returned(scim, alice):
    response = patch(
        scim, alice, {"op": "replace", "path": "password", "value": "N3w-long-passw0rd"}
    )
    assert response.status_code == 200
    assert "password" not in response.get_json()
    assert response.get_json()["meta"]["version"] == 'W/"2"'


def test_several_operations_are_one_change(scim, alice):
    user = patched(
        scim,
        alice,
        {"op": "replace", "path": "title", "value": "Dr"},
        {"op": "add", "path": "nickName", "value": "Al"},
        {"op": "remove", "path": 'emails[type eq "home"]'},
    )
    assert (user["title"], user["nickName"]) == ("Dr", "Al")
    assert len(user["emails"]) == 1
    assert user["meta"]["version"] == 'W/"2"'


def test_patch_that_changes_nothing_keeps_the_version(scim, alice):
    user = patched(scim, alice, {"op": "replace", "path": "name.givenName", "value": "Alice"})
    assert user["meta"]["version"] == alice["meta"]["version"]
    assert user["meta"]["lastModified"] == alice["meta"]["lastModified"]


@pytest.mark.parametrize(
    ("failing", "status", "scim_type"),
    [
        # A value the store refuses.
        (
            {"op": "add", "path": "emails", "value": [{"value": "not-an-email"}]},
            400,
            "invalidValue",
        ),
        (
            {"op": "replace", "path": f"{COMMUNITY}:preferredContactMethod", "value": "fax"},
            400,
            "invalidValue",
        ),
        # Only support grants the main profile.
        ({"op": "replace", "path": f"{COMMUNITY}:profile", "value": "main"}, 403, None),
        # Paths and mutability checked while applying.
        ({"op": "replace", "path": "shoeSize", "value": "42"}, 400, "invalidPath"),
        (
            {"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"},
            400,
            "mutability",
        ),
    ],
)
def test_a_failing_operation_leaves_the_user_unchanged(scim, alice, failing, status, scim_type):
    response = patch(
        scim,
        alice,
        {"op": "replace", "path": "title", "value": "Changed"},
        {"op": "remove", "path": 'emails[type eq "home"]'},
        failing,
    )
    assert response.status_code == status
    body = response.get_json()
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body["scimType"] == scim_type
    after = scim.get(f"/Users/{alice['id']}")
    assert after.headers["ETag"] == alice["meta"]["version"]
    assert after.get_json() == alice


def test_main_profile_refusal_says_who_may_grant_it(scim, alice):
    response = patch(
        scim,
        alice,
        {"op": "replace", "path": "title", "value": "Changed"},
        {"op": "replace", "path": f"{COMMUNITY}:profile", "value": "main"},
    )
    assert response.status_code == 403
    assert "support" in response.get_json()["detail"]
    assert scim.get(f"/Users/{alice['id']}").get_json() == alice


def test_support_token_may_grant_the_main_profile(scim, alice, scim_client, make_token):
    support = scim_client(make_token(None, "support"))
    response = support.patch(
        f"/Users/{alice['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": f"{COMMUNITY}:profile", "value": "main"}],
        },
    )
    assert response.status_code == 200
    assert response.get_json()[COMMUNITY]["profile"] == "main"


def test_unknown_operation_is_refused(scim, alice):
    response = patch(scim, alice, {"op": "frobnicate", "path": "title", "value": "x"})
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
    assert scim.get(f"/Users/{alice['id']}").get_json() == alice


def test_patch_request_needs_the_patch_op_schema(scim, alice):
    response = scim.patch(
        f"/Users/{alice['id']}",
        {"schemas": [USER], "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
    )
    assert response.status_code == 400
    assert scim.get(f"/Users/{alice['id']}").get_json() == alice
