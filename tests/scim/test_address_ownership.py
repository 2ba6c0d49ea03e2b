"""One account's identity provider cannot claim another account's user's address (SPEC §1 Users:
sign-in names are unambiguous; issue #19, item 2), by any request: POST, PUT, PATCH, Bulk. The
refusal is a SCIM `uniqueness` error, and the owner keeps signing in with the address."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages import sign_in

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PASSWORD = "b's synced password"


@pytest.fixture
def two_accounts(make_account: Any, make_token: Any, scim_client: Any) -> tuple[Any, Any]:
    """Account A's and account B's identity providers, each holding its own token."""
    a = scim_client(make_token(make_account(kind="enterprise"), "okta-a"))
    b = scim_client(make_token(make_account(kind="enterprise"), "okta-b"))
    return a, b


def user_body(user_name: str, address: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": user_name,
        "emails": [{"value": address, "type": "work", "primary": True}],
        **extra,
    }


def refused_as_taken(response: Any, says: str = "already signs in another user") -> None:
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert body["scimType"] == "uniqueness"
    assert says in body["detail"]


def test_a_token_cannot_create_or_move_a_user_to_another_accounts_address(app, two_accounts):
    a, b = two_accounts
    created = b.post("/Users", user_body("beth", "beth@b.example", password=PASSWORD))
    assert created.status_code == 201
    refused_as_taken(a.post("/Users", user_body("a.intruder", "BETH@B.example")))
    refused_as_taken(
        a.post("/Users", user_body("Beth@b.example", "a.own@a.example")),
        "is another user's email address",
    )
    mine = a.create_user("a.member")
    refused_as_taken(a.put(f"/Users/{mine['id']}", user_body("a.member", "beth@b.example")))
    patch = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "beth@B.example"}
        ],
    }
    refused_as_taken(a.patch(f"/Users/{mine['id']}", patch))
    rename = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "userName", "value": "beth@b.example"}],
    }
    refused_as_taken(a.patch(f"/Users/{mine['id']}", rename), "another user's email address")
    assert a.get(f"/Users/{mine['id']}").get_json()["emails"][0]["value"] == "a.member@example.com"
    assert sign_in(app, "Beth@B.example", PASSWORD).status_code == 302


def test_bulk_refuses_another_accounts_address_operation_by_operation(app, two_accounts):
    a, b = two_accounts
    assert (
        b.post("/Users", user_body("beth", "beth@b.example", password=PASSWORD)).status_code == 201
    )
    answer = a.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "x",
                    "data": user_body("a.x", "beth@b.example"),
                },
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "y",
                    "data": user_body("a.y", "a.y@a.example"),
                },
            ],
        },
    )
    assert answer.status_code == 200
    first, second = answer.get_json()["Operations"]
    assert first["status"] == "409" and first["response"]["scimType"] == "uniqueness"
    assert second["status"] == "201"
    assert sign_in(app, "beth@b.example", PASSWORD).status_code == 302


def test_an_identity_providers_own_users_may_swap_nothing_but_free_addresses(two_accounts):
    """Within one account too, an address is one user's; freed, it can be given again."""
    a, _ = two_accounts
    first = a.create_user("first")
    second = a.create_user("second")
    refused_as_taken(a.put(f"/Users/{second['id']}", user_body("second", "first@example.com")))
    assert (
        a.put(f"/Users/{first['id']}", user_body("first", "first.new@example.com")).status_code
        == 200
    )
    assert (
        a.put(f"/Users/{second['id']}", user_body("second", "first@example.com")).status_code == 200
    )
