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


def bulk_create(client: Any, *bodies: dict[str, Any]) -> Any:
    """One Bulk request creating these users, one operation each."""
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"u{n}", "data": body}
        for n, body in enumerate(bodies)
    ]
    return client.post("/Bulk", {"schemas": [BULK], "Operations": operations})


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
    answer = bulk_create(a, user_body("a.x", "beth@b.example"), user_body("a.y", "a.y@a.example"))
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


@pytest.fixture
def b_owns_its_domain(
    make_account: Any, make_token: Any, scim_client: Any, assign_domain: Any
) -> tuple[Any, Any]:
    """Account A's and account B's identity providers; support assigned b.example to B."""
    account_b = make_account(kind="enterprise")
    assign_domain(account_b, "b.example")
    a = scim_client(make_token(make_account(kind="enterprise"), "okta-a"))
    return a, scim_client(make_token(account_b, "okta-b"))


def refused_as_elsewhere(response: Any) -> None:
    assert response.status_code == 403, response.get_json()
    assert "a domain support assigned to another account" in response.get_json()["detail"]


def test_a_token_cannot_take_an_address_at_another_accounts_domain_first(b_owns_its_domain):
    """Before B's identity provider pushes ceo@b.example, A's cannot take the address (as a
    userName or an address, by any request) and so block B's push or reach B's person's
    sign-ins (SPEC §1 Users: an identity provider never takes over another account's user's
    address)."""
    a, b = b_owns_its_domain
    refused_as_elsewhere(a.post("/Users", user_body("CEO@b.example", "squat@a.example")))
    refused_as_elsewhere(a.post("/Users", user_body("a.ceo", "ceo@B.example")))
    refused_as_elsewhere(a.post("/Users", user_body("a.sub", "ceo@mail.b.example")))  # under it
    refused_as_elsewhere(a.post("/Users", user_body("ceo@b.example.", "own2@a.example")))
    assert a.post("/Users", user_body("a.near", "ceo@notb.example")).status_code == 201
    manager = a.post("/Users", user_body("a.boss", "boss@a.example")).get_json()
    with_manager = user_body("a.ceo2", "ceo@b.example") | {
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": manager["id"]}
    }
    refused_as_elsewhere(a.post("/Users", with_manager))  # a create through the unit of work
    mine = a.post("/Users", user_body("a.own", "own@a.example")).get_json()
    move = {"op": "replace", "path": "userName", "value": "ceo@b.example"}
    refused_as_elsewhere(
        a.patch(f"/Users/{mine['id']}", {"schemas": [PATCH_OP], "Operations": [move]})
    )
    bulk = bulk_create(a, user_body("x", "ceo@b.example"))
    assert bulk.get_json()["Operations"][0]["status"] == "403"
    assert a.get('/Users?filter=userName eq "ceo@b.example"').get_json()["totalResults"] == 0
    created = b.post("/Users", user_body("ceo@b.example", "ceo@b.example"))
    assert created.status_code == 201, created.get_json()  # B's own push goes through
    assert b.post("/Users", user_body("b.two", "two@b.example")).status_code == 201
