"""Each token sees its own account only; other accounts' users and groups do not exist for it."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from store import new_users

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def ops(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def filtered(client, path, scim_filter):
    response = client.get(f"{path}?{urlencode({'filter': scim_filter})}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


class Other:
    """Account B: its own main contact, a user and a group, made through its own token."""

    def __init__(self, client, main) -> None:
        self.client = client
        self.main = main
        created = client.create_user("bea.other", title="Pharmacist")
        self.group = client.create_group("B Team", [created["id"]])
        self.user = client.get(f"/Users/{created['id']}").get_json()


@pytest.fixture
def other(make_account, make_user, make_token, scim_client):
    account = make_account(name="Account B")
    main = make_user(account, "b.main", profile="main")
    return Other(scim_client(make_token(account, "okta-b")), main)


def test_other_accounts_user_is_not_found_for_any_method(scim, other):
    url = f"/Users/{other.user['id']}"
    answers = [
        scim.get(url),
        scim.put(url, {"schemas": [USER], "userName": "hijacked"}),
        scim.patch(url, ops({"op": "replace", "path": "active", "value": False})),
        scim.delete(url),
    ]
    for response in answers:
        assert response.status_code == 404
        assert response.get_json()["detail"] == "No such user."
    assert other.client.get(url).get_json() == other.user


def test_other_accounts_group_is_not_found_for_any_method(scim, other):
    url = f"/Groups/{other.group['id']}"
    answers = [
        scim.get(url),
        scim.put(url, {"schemas": [GROUP], "displayName": "Hijacked"}),
        scim.patch(url, ops({"op": "remove", "path": "members"})),
        scim.delete(url),
    ]
    for response in answers:
        assert response.status_code == 404
        assert response.get_json()["detail"] == "No such group."
    assert other.client.get(url).get_json() == other.group


def test_lists_and_filters_never_show_other_accounts(scim, other):
    scim.create_user("ann.own", title="Pharmacist")
    listed = scim.get("/Users").get_json()
    assert sorted(u["userName"] for u in listed["Resources"]) == ["ann.own", "main.contact"]
    assert listed["totalResults"] == 2
    for scim_filter in (
        'userName eq "bea.other"',
        'title eq "Pharmacist" and userName sw "b"',
        f'id eq "{other.user["id"]}"',
        f'groups.value eq "{other.group["id"]}"',
    ):
        assert filtered(scim, "/Users", scim_filter)["totalResults"] == 0, scim_filter
    groups = scim.get("/Groups?excludedAttributes=members&count=1000").get_json()
    assert groups["totalResults"] == 12
    assert "B Team" not in [g["displayName"] for g in groups["Resources"]]
    by_member = filtered(scim, "/Groups", f'members.value eq "{other.user["id"]}"')
    assert by_member["totalResults"] == 0
    everything = scim.post("/.search", {"schemas": [SEARCH], "count": 1000}).get_json()
    ids = {r["id"] for r in everything["Resources"]}
    assert other.user["id"] not in ids
    assert other.group["id"] not in ids
    assert everything["totalResults"] == 2 + 12


def test_other_accounts_user_cannot_join_a_group_or_be_a_manager(scim, other):
    team = scim.create_group("A Team")
    joined = scim.patch(
        f"/Groups/{team['id']}",
        ops({"op": "add", "path": "members", "value": [{"value": other.user["id"]}]}),
    )
    assert joined.status_code == 400
    created = scim.post(
        "/Groups",
        {"schemas": [GROUP], "displayName": "Mixed", "members": [{"value": other.user["id"]}]},
    )
    assert created.status_code == 400
    ann = scim.create_user("ann.own")
    managed = scim.patch(
        f"/Users/{ann['id']}",
        ops({"op": "add", "path": f"{ENTERPRISE}:manager", "value": other.user["id"]}),
    )
    assert managed.status_code == 400
    assert "members" not in scim.get(f"/Groups/{team['id']}").get_json()


def test_support_token_sees_every_account(scim, other, scim_client, make_token, db, operator):
    with db.transaction() as tx:
        new_users.create_support_user(
            tx, operator, user_name="support.staff", email="s@example.com"
        )
    ann = scim.create_user("ann.own")
    support = scim_client(make_token(None, "support"))
    listed = support.get("/Users?attributes=userName").get_json()
    assert sorted(u["userName"] for u in listed["Resources"]) == [
        "ann.own",
        "b.main",
        "bea.other",
        "main.contact",
    ]
    both = filtered(support, "/Users", 'userName eq "ann.own" or userName eq "bea.other"')
    assert both["totalResults"] == 2
    assert support.get(f"/Users/{other.user['id']}").get_json() == other.user
    assert support.get(f"/Users/{ann['id']}").status_code == 200
    groups = support.get("/Groups?excludedAttributes=members&count=1000").get_json()
    assert groups["totalResults"] == 12 + 12 + 1
    changed = support.patch(
        f"/Users/{other.user['id']}",
        ops({"op": "replace", "path": f"{COMMUNITY}:profile", "value": "knowledge"}),
    )
    assert changed.status_code == 200
    moved = other.client.get(f"/Users/{other.user['id']}").get_json()
    assert moved[COMMUNITY]["profile"] == "knowledge"
