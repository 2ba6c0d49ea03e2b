"""SCIM requests that race: each in a thread of its own with its own transaction, as an identity
provider's parallel pushes arrive. (SQLite takes writers one at a time; PostgreSQL is where
requests really overlap.)"""

from __future__ import annotations

import random

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


def members_patch(*operations: dict) -> dict:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def add_member(user_id: str) -> dict:
    return {"op": "add", "path": "members", "value": [{"value": user_id}]}


def member_values(scim, group_id: str) -> list[str]:
    return sorted(m["value"] for m in scim.get(f"/Groups/{group_id}").get_json()["members"])


def test_if_match_lets_one_parallel_group_patch_per_version_through(
    scim, scim_client, make_token, enterprise
):
    """Member adds made against one version of a group: exactly one goes through; the others
    are told the group changed since (412) and add nobody."""
    token = make_token(enterprise.account, "entra")
    people = [scim.create_user(f"versioned.{i}")["id"] for i in range(8)]
    group = scim.create_group("One version")
    version = group["meta"]["version"]

    def add(i: int) -> int:
        patch = members_patch(add_member(people[i]))
        headers = {"If-Match": version}
        return (
            scim_client(token).patch(f"/Groups/{group['id']}", patch, headers=headers).status_code
        )

    statuses = race(len(people), add)
    assert sorted(statuses) == [204] + [412] * (len(people) - 1)
    assert member_values(scim, group["id"]) == [people[statuses.index(204)]]


def test_if_match_lets_one_parallel_user_patch_per_version_through(
    scim, scim_client, make_token, enterprise
):
    token = make_token(enterprise.account, "entra")
    user = scim.create_user("versioned.person")
    titles = [f"Title {i}" for i in range(6)]

    def change(i: int) -> int:
        patch = members_patch({"op": "replace", "path": "title", "value": titles[i]})
        headers = {"If-Match": user["meta"]["version"]}
        return scim_client(token).patch(f"/Users/{user['id']}", patch, headers=headers).status_code

    statuses = race(len(titles), change)
    assert sorted(statuses) == [200] + [412] * (len(titles) - 1)
    assert scim.get(f"/Users/{user['id']}").get_json()["title"] == titles[statuses.index(200)]


@pytest.mark.parametrize("round_", range(3))
def test_a_rename_with_a_member_add_keeps_parallel_member_adds(
    scim, scim_client, make_token, enterprise, round_
):
    """A PATCH that renames the group and adds a member races plain member adds: every add
    answered 204 stays (the rename's request must not write back the members it read before
    the others committed)."""
    token = make_token(enterprise.account, "entra")
    people = [scim.create_user(f"renamed.{round_}.{i}")["id"] for i in range(8)]
    group = scim.create_group(f"Before {round_}")
    rename_and_add = members_patch(
        {"op": "replace", "path": "displayName", "value": f"After {round_}"}, add_member(people[0])
    )

    def patch(i: int) -> int:
        body = rename_and_add if i == 0 else members_patch(add_member(people[i]))
        return scim_client(token).patch(f"/Groups/{group['id']}", body).status_code

    assert race(len(people), patch) == [204] * len(people)
    assert member_values(scim, group["id"]) == sorted(people)
    assert scim.get(f"/Groups/{group['id']}").get_json()["displayName"] == f"After {round_}"


def test_replacing_members_while_others_are_added_removes_every_earlier_add(
    scim, scim_client, make_token, enterprise
):
    """`replace members` makes the membership exactly the set given, even while other requests
    add members: the adds that went in before it are gone, those after it stay. The version
    each 204 answers with tells which went first."""
    token = make_token(enterprise.account, "entra")
    people = [scim.create_user(f"replaced.{i}")["id"] for i in range(10)]
    group = scim.create_group("Replaced", people[:2])
    replacement = {"op": "replace", "path": "members", "value": [{"value": people[2]}]}

    def patch(i: int) -> tuple[int, int]:
        body = members_patch(replacement if i == 0 else add_member(people[i + 2]))
        response = scim_client(token).patch(f"/Groups/{group['id']}", body)
        return response.status_code, int(response.headers["ETag"].strip('W/"'))

    results = race(8, patch)
    assert [status for status, _ in results] == [204] * 8
    replaced_at = results[0][1]
    later = [
        people[i + 2] for i, (_, version) in enumerate(results[1:], 1) if version > replaced_at
    ]
    assert member_values(scim, group["id"]) == sorted([people[2], *later])


def test_deleting_members_while_their_group_changes_neither_deadlocks_nor_fails(
    scim, scim_client, make_token, enterprise
):
    """A deletion takes the user's groups' locks before the user's, as a group's change does
    (the groups get new versions): racing member removals and deletions of the same people
    each get their answer, none a fault."""
    token = make_token(enterprise.account, "okta")
    people = [scim.create_user(f"leaving.{i}")["id"] for i in range(4)]
    group = scim.create_group("Leavers", members=people)
    before = scim.get(f"/Groups/{group['id']}").headers["ETag"]

    def work(i: int) -> int:
        client = scim_client(token)
        person = people[i % 4]
        if i < 4:
            return client.delete(f"/Users/{person}").status_code
        removal = {"op": "remove", "path": f'members[value eq "{person}"]'}
        return client.patch(f"/Groups/{group['id']}", members_patch(removal)).status_code

    statuses = race(8, work)
    assert statuses[:4] == [204] * 4
    assert all(status in (204, 400) for status in statuses[4:]), statuses
    after = scim.get(f"/Groups/{group['id']}", headers={"If-None-Match": before})
    assert after.status_code == 200 and after.get_json().get("members", []) == []


def test_parallel_replacements_of_one_user_leave_one_email_and_one_phone(
    scim, scim_client, make_token, enterprise
):
    """Each PUT locks the user, then reads what it replaces: read with the lock, a PUT that
    waited saw the emails as they were before the one it waited for, and the user ended with
    the addresses of several (all primary, on PostgreSQL)."""
    token = make_token(enterprise.account, "okta")
    for round_ in range(3):
        user = scim.create_user(f"replaced.{round_}")

        def replace(i: int, user=user, round_=round_) -> int:
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"replaced.{round_}",
                "emails": [{"value": f"r{round_}.{i}@example.test", "primary": True}],
                "phoneNumbers": [{"value": f"+1555000{round_}{i:03d}", "type": "work"}],
            }
            return scim_client(token).put(f"/Users/{user['id']}", body).status_code

        assert race(6, replace) == [200] * 6
        after = scim.get(f"/Users/{user['id']}").get_json()
        assert len(after["emails"]) == 1 and after["emails"][0]["primary"] is True
        assert len(after["phoneNumbers"]) == 1


def test_deleting_people_who_share_groups_in_parallel_never_deadlocks(
    scim, scim_client, make_token, enterprise
):
    """A deletion gives each group the person leaves a new version, locking the groups in the
    order of their ids: in the order its plan met the person's memberships, two deletions
    could each hold a group the other waited for (PostgreSQL ended one with a deadlock)."""
    token = make_token(enterprise.account, "okta")
    shuffled = random.Random(17)
    for round_ in range(2):
        people = [scim.create_user(f"leaver.{round_}.{i}")["id"] for i in range(8)]
        groups = [scim.create_group(f"Shared {round_}.{g}")["id"] for g in range(6)]
        joins = [(person, group) for person in people for group in groups]
        shuffled.shuffle(joins)  # memberships written in no order
        for person, group in joins:
            scim.patch(f"/Groups/{group}", members_patch(add_member(person)))

        def delete(i: int, people=people) -> int:
            return scim_client(token).delete(f"/Users/{people[i]}").status_code

        assert race(8, delete) == [204] * 8


COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
ROLES = ["IT Receiver", "Super User", "Security Reviewer", "Change Approver"]


def test_leaving_while_joining_a_contact_role_neither_deadlocks_nor_keeps_the_role(
    scim, scim_client, make_token, enterprise
):
    """Leaving ("No Longer at Account") takes the contact roles away, so its PATCH locks the roles
    before the user, as a member added to a role does; it locked the user first, and the two
    waited for each other (a 500 on PostgreSQL)."""
    token = make_token(enterprise.account, "okta")
    roles = [
        scim.get("/Groups", query_string={"filter": f'displayName eq "{name}"'}).get_json()[
            "Resources"
        ][0]["id"]
        for name in ROLES
    ]
    leave = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": f"{COMMUNITY}:noLongerAtAccount", "value": True}],
    }
    for round_ in range(2):
        people = [scim.create_user(f"leaving.role.{round_}.{i}")["id"] for i in range(4)]

        def work(i: int, people=people) -> int:
            client = scim_client(token)
            if i < 4:
                return client.patch(f"/Users/{people[i]}", leave).status_code
            person = people[i - 4]
            return client.patch(
                f"/Groups/{roles[i - 4]}", members_patch(add_member(person))
            ).status_code

        statuses = race(8, work)
        assert statuses[:4] == [200] * 4, statuses
        assert all(status in (204, 403) for status in statuses[4:]), statuses
        for person in people:
            assert "groups" not in scim.get(f"/Users/{person}").get_json()


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_a_manager_deleted_while_named_changes_the_version_of_everyone_named(
    scim, scim_client, make_token, enterprise
):
    """Deleting a manager clears `manager` of those they managed (ON DELETE SET NULL), a
    change their versions must show, including a user given this manager while the deletion
    waited for the manager's lock."""
    token = make_token(enterprise.account, "okta")
    for round_ in range(3):
        boss = scim.create_user(f"boss.{round_}")["id"]
        workers = [scim.create_user(f"worker.{round_}.{i}")["id"] for i in range(6)]
        named = {
            "schemas": [PATCH_OP],
            "Operations": [
                {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"value": boss}}
            ],
        }

        def work(i: int, boss=boss, workers=workers, named=named) -> tuple[int, str | None]:
            client = scim_client(token)
            if i == 6:
                return client.delete(f"/Users/{boss}").status_code, None
            if i == 7:
                return client.get(f"/Users/{boss}").status_code, None
            answer = client.patch(f"/Users/{workers[i]}", named)
            return answer.status_code, answer.headers.get("ETag")

        results = race(8, work)
        assert results[6][0] == 204
        for worker, (status, etag) in zip(workers, results[:6], strict=True):
            # 400: the manager was gone already; 409: it went while this change was written
            assert status in (200, 400, 409), status
            now = scim.get(f"/Users/{worker}")
            assert ENTERPRISE not in now.get_json() or "manager" not in now.get_json()[ENTERPRISE]
            if status == 200:
                assert now.headers["ETag"] != etag
