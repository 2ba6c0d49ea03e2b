"""SCIM requests that race: each in a thread of its own with its own transaction, as an identity
provider's parallel pushes arrive. (SQLite takes writers one at a time; PostgreSQL is where
requests really overlap.)"""

from __future__ import annotations

import pytest

from tests.racing import race

pytestmark = pytest.mark.slow  # racing requests in threads

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_parallel_scim_member_adds_to_one_group_all_succeed(
    scim, scim_client, make_token, enterprise
):
    """Okta and Entra ID push one group's members in parallel: each PATCH waits for the one
    before (the group row is locked), none fails for having read the group before the lock."""
    token = make_token(enterprise.account, "entra")
    people = [scim.create_user(f"pushed.{i}")["id"] for i in range(8)]
    group = scim.create_group("Pushed in parallel")

    def add(i: int) -> int:
        operation = {"op": "add", "path": "members", "value": [{"value": people[i]}]}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        return scim_client(token).patch(f"/Groups/{group['id']}", body).status_code

    assert race(len(people), add) == [204] * len(people)
    members = scim.get(f"/Groups/{group['id']}").get_json()["members"]
    assert sorted(m["value"] for m in members) == sorted(people)


def test_parallel_scim_patches_of_one_user_all_apply(scim, scim_client, make_token, enterprise):
    token = make_token(enterprise.account, "entra")
    user = scim.create_user("busy.person")
    fields = ["title", "displayName", "nickName", "locale", "timezone", "userType"]

    def change(i: int) -> int:
        operation = {"op": "replace", "path": fields[i], "value": f"v{i}"}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        return scim_client(token).patch(f"/Users/{user['id']}", body).status_code

    assert race(len(fields), change) == [200] * len(fields)
    after = scim.get(f"/Users/{user['id']}").get_json()
    assert [after[field] for field in fields] == [f"v{i}" for i in range(len(fields))]
