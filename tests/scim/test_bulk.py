"""/Bulk (RFC 7644 §3.7): operations in order, bulkId references, failOnErrors, limits."""

from __future__ import annotations

import time

import pytest

from tests.scim_http import ScimClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def bulk(scim, *operations, **extra):
    response = scim.post("/Bulk", {"schemas": [BULK], "Operations": list(operations), **extra})
    assert response.status_code == 200, response.get_json()
    assert response.mimetype == "application/scim+json"
    body = response.get_json()
    assert body["schemas"] == [BULK_RESPONSE]
    return body["Operations"]


def create_user(bulk_id, user_name):
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER], "userName": user_name},
    }


def user_names(scim):
    return sorted(u["userName"] for u in scim.get("/Users").get_json()["Resources"])


def test_a_group_can_name_a_user_created_earlier_by_bulk_id(scim):
    results = bulk(
        scim,
        create_user("qwerty", "alice"),
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "ytrewq",
            "data": {
                "schemas": [GROUP],
                "displayName": "Tour Guides",
                "members": [{"type": "User", "value": "bulkId:qwerty"}],
            },
        },
    )
    assert [(r["method"], r["bulkId"], r["status"]) for r in results] == [
        ("POST", "qwerty", "201"),
        ("POST", "ytrewq", "201"),
    ]
    user = scim.get(results[0]["location"].removeprefix("http://localhost/scim/v2"))
    group = scim.get(results[1]["location"].removeprefix("http://localhost/scim/v2"))
    # The user's version as created; joining the group then gave it a new one.
    assert (results[0]["version"], user.headers["ETag"]) == ('W/"1"', 'W/"2"')
    assert results[1]["version"] == group.headers["ETag"]
    assert [m["value"] for m in group.get_json()["members"]] == [user.get_json()["id"]]


def test_text_that_looks_like_a_bulk_id_is_data_not_a_reference(scim):
    """RFC 7644 §3.7.2: `bulkId:x` stands for a created resource where a reference is given
    (a member's or a manager's value, a PATCH operation's value); a name is kept as sent."""
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    boss = create_user("boss", "boss")
    worker = create_user("w", "worker")
    worker["data"] |= {
        "displayName": "bulkId:boss",
        enterprise: {"manager": {"value": "bulkId:boss"}},
    }
    group = {
        "method": "POST",
        "path": "/Groups",
        "bulkId": "g",
        "data": {"schemas": [GROUP], "displayName": "bulkId:w", "members": [{"value": "bulkId:w"}]},
    }
    results = bulk(scim, boss, worker, group)
    assert [r["status"] for r in results] == ["201", "201", "201"]
    boss_id, worker_id = (r["location"].rsplit("/", 1)[1] for r in results[:2])
    stored = scim.get(f"/Users/{worker_id}").get_json()
    assert stored["displayName"] == "bulkId:boss"
    assert stored[enterprise]["manager"]["value"] == boss_id
    made = scim.get(results[2]["location"].removeprefix("http://localhost/scim/v2")).get_json()
    assert made["displayName"] == "bulkId:w"
    assert [m["value"] for m in made["members"]] == [worker_id]


def create_group(bulk_id, name, *member_bulk_ids):
    return {
        "method": "POST",
        "path": "/Groups",
        "bulkId": bulk_id,
        "data": {
            "schemas": [GROUP],
            "displayName": name,
            "members": [{"value": f"bulkId:{m}"} for m in member_bulk_ids],
        },
    }


def test_an_operation_naming_a_later_post_waits_for_it(scim):
    """RFC 7644 §3.7.1: the client's intent is kept whatever the order of the operations."""
    results = bulk(
        scim,
        create_group("g2", "Night Shift", "u2"),
        {
            "method": "PATCH",
            "path": "/Users/bulkId:u2",
            "data": {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "title", "value": "Nurse"}],
            },
        },
        create_user("u2", "bob"),
    )
    assert [r["status"] for r in results] == ["201", "200", "201"]
    assert [r["method"] for r in results] == ["POST", "PATCH", "POST"]
    bob = scim.get(results[2]["location"].removeprefix("http://localhost/scim/v2")).get_json()
    assert bob["title"] == "Nurse"
    group = scim.get(results[0]["location"].removeprefix("http://localhost/scim/v2")).get_json()
    assert [m["value"] for m in group["members"]] == [bob["id"]]


def test_operations_waiting_on_each_other_in_a_circle_are_409(scim):
    results = bulk(
        scim,
        create_group("a", "Team A", "b"),
        create_group("b", "Team B", "a"),
        create_user("c", "carol"),
    )
    assert [r["status"] for r in results] == ["409", "409", "201"]
    assert "circle" in results[0]["response"]["detail"]
    assert "Team A" not in [g["displayName"] for g in scim.get("/Groups").get_json()["Resources"]]


def test_an_operation_naming_a_failed_post_fails_itself(scim):
    scim.create_user("taken")
    results = bulk(scim, create_group("g", "Team", "u"), create_user("u", "taken"))
    assert [r["status"] for r in results] == ["400", "409"]
    assert "bulkId u" in results[0]["response"]["detail"]


def test_a_bulk_id_named_by_two_posts_is_refused_the_second_time(scim):
    results = bulk(scim, create_user("a", "first"), create_user("a", "second"))
    assert [r["status"] for r in results] == ["201", "400"]
    assert "two operations" in results[1]["response"]["detail"]
    assert "second" not in user_names(scim)


def test_bulk_ids_and_versions_of_the_wrong_type_are_refused(scim):
    alice = scim.create_user("alice")
    odd_ids = ["", 7, ["a"], {"a": 1}]
    results = bulk(
        scim,
        *({**create_user("x", f"odd.{i}"), "bulkId": value} for i, value in enumerate(odd_ids)),
        {"method": "DELETE", "path": f"/Users/{alice['id']}", "version": 5},
        {"method": "DELETE", "path": f"/Users/{alice['id']}", "version": ['W/"1"']},
    )
    assert [r["status"] for r in results] == ["400"] * 6
    assert all(r["response"]["scimType"] == "invalidValue" for r in results)
    assert user_names(scim) == ["alice", "main.contact"]


def test_put_patch_and_delete_address_resources_by_id_or_bulk_id(scim):
    alice = scim.create_user("alice")
    results = bulk(
        scim,
        create_user("b", "bob"),
        {
            "method": "PATCH",
            "path": "/Users/bulkId:b",
            "data": {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "title", "value": "Clerk"}],
            },
        },
        {
            "method": "PUT",
            "path": f"/Users/{alice['id']}",
            "version": 'W/"1"',
            "data": {"schemas": [USER], "userName": "alice", "title": "Nurse"},
        },
        {"method": "DELETE", "path": "/Users/bulkId:b"},
    )
    bob_url = results[0]["location"]
    assert [(r["method"], r["status"], r.get("location")) for r in results] == [
        ("POST", "201", bob_url),
        ("PATCH", "200", bob_url),
        ("PUT", "200", f"http://localhost/scim/v2/Users/{alice['id']}"),
        ("DELETE", "204", bob_url),
    ]
    assert results[2]["version"] == 'W/"2"'
    assert scim.get(f"/Users/{alice['id']}").get_json()["title"] == "Nurse"
    assert user_names(scim) == ["alice", "main.contact"]


def test_each_operation_reports_its_own_error_and_the_others_go_on(scim):
    alice = scim.create_user("alice")
    results = bulk(
        scim,
        create_user("1", "ALICE"),
        {
            "method": "PUT",
            "path": f"/Users/{alice['id']}",
            "version": 'W/"9"',
            "data": {"schemas": [USER], "userName": "alice", "title": "Nurse"},
        },
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "2",
            "data": {"schemas": [GROUP], "displayName": "G", "members": [{"value": "bulkId:x"}]},
        },
        create_user("3", "carol"),
    )
    assert [r["status"] for r in results] == ["409", "412", "400", "201"]
    assert results[0]["response"]["scimType"] == "uniqueness"
    assert "location" not in results[0]
    assert results[1]["location"] == f"http://localhost/scim/v2/Users/{alice['id']}"
    assert results[1]["response"]["status"] == "412"
    assert "bulkId x" in results[2]["response"]["detail"]
    assert user_names(scim) == ["alice", "carol", "main.contact"]


def test_fail_on_errors_stops_after_that_many_errors(scim):
    results = bulk(
        scim,
        create_user("1", "main.contact"),
        create_user("2", "dan"),
        create_user("3", "MAIN.CONTACT"),
        create_user("4", "eve"),
        failOnErrors=2,
    )
    assert [(r["bulkId"], r["status"]) for r in results] == [
        ("1", "409"),
        ("2", "201"),
        ("3", "409"),
    ]
    assert user_names(scim) == ["dan", "main.contact"]


@pytest.mark.parametrize("value", [0, True, 1.5, "1"])
def test_fail_on_errors_must_be_a_positive_integer(scim, value):
    """RFC 7644 §3.7.3: an integer; JSON's true is not one, though Python counts it as 1."""
    response = scim.post("/Bulk", {"schemas": [BULK], "failOnErrors": value, "Operations": []})
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"


def test_operations_that_are_not_bulk_operations_are_refused_one_by_one(scim):
    results = bulk(
        scim,
        {"method": "GET", "path": "/Users"},
        {"method": "POST", "path": "/Users", "data": {"schemas": [USER], "userName": "x"}},
        {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
        create_user("ok", "ok.user"),
    )
    assert [r["status"] for r in results] == ["400", "400", "400", "201"]
    assert "bulkId" in results[1]["response"]["detail"]


def test_more_than_a_thousand_operations_is_413(scim):
    operations = [create_user(str(i), f"user.{i}") for i in range(1001)]
    response = scim.post("/Bulk", {"schemas": [BULK], "Operations": operations})
    assert response.status_code == 413
    assert response.get_json()["status"] == "413"
    assert "1000" in response.get_json()["detail"]
    assert user_names(scim) == ["main.contact"]


def test_a_request_without_operations_is_invalid_syntax(scim):
    response = scim.post("/Bulk", {"schemas": [BULK]})
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidSyntax"


@pytest.mark.slow
def test_a_bulk_longer_than_its_budget_answers_every_operation(db, enterprise, make_token):
    """Operations start only within the request's budget (two thirds of its timeout): a Bulk
    that would outlast the worker is answered whole, the operations left saying they were not
    run, and only those that ran are applied."""
    from rollcall.app import create_app
    from rollcall.settings import Settings

    settings = Settings(database_url=db.url, request_timeout=5)
    scim = ScimClient(create_app(settings, db).test_client(), make_token(enterprise.account))
    # Creates of active users with an address, each sent its sign-in mail: far more work than
    # the budget holds, on a fast machine too (a body well under the 1 MiB limit).
    operations = [
        {
            "method": "POST",
            "path": "/Users",
            "bulkId": f"u{n}",
            "data": {
                "schemas": [USER],
                "userName": f"budget{n}",
                "emails": [{"value": f"budget{n}@example.test", "primary": True}],
                "phoneNumbers": [{"value": f"+1 555 {n:04d}", "type": "work"}],
            },
        }
        for n in range(1000)
    ]
    started = time.monotonic()
    results = bulk(scim, *operations)
    took = time.monotonic() - started
    assert took < settings.request_timeout
    assert len(results) == 1000
    statuses = [r["status"] for r in results]
    ran = statuses.index("503")
    assert ran > 0 and set(statuses[:ran]) == {"201"} and set(statuses[ran:]) == {"503"}
    assert all("Not run" in r["response"]["detail"] for r in results[ran:])
    created = scim.get('/Users?filter=userName sw "budget"&count=1').get_json()
    assert created["totalResults"] == ran


def patch(operation):
    return {"schemas": [PATCH_OP], "Operations": [operation]}


def test_an_operation_waiting_for_a_post_runs_right_after_it_not_after_the_rest(scim):
    """RFC 7644 §3.7.1: operations run in order, one naming a later POST's bulkId as soon as
    that POST is done. Before, it ran after every other operation, so the DELETE below came
    first and the group's PUT failed on a user already gone."""
    group = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Team"}).get_json()
    results = bulk(
        scim,
        {
            "method": "PUT",
            "path": f"/Groups/{group['id']}",
            "data": {
                "schemas": [GROUP],
                "displayName": "Team",
                "members": [{"value": "bulkId:n1"}, {"value": "bulkId:n2"}],
            },
        },
        create_user("n1", "nina"),
        create_user("n2", "noah"),
        {"method": "DELETE", "path": "/Users/bulkId:n2"},
    )
    assert [r["status"] for r in results] == ["200", "201", "201", "204"]
    members = scim.get(f"/Groups/{group['id']}").get_json().get("members", [])
    nina = results[1]["location"].rsplit("/", 1)[1]
    assert [m["value"] for m in members] == [nina]


def test_a_bulk_id_in_a_patch_path_is_refused_not_ignored(scim):
    """`members[value eq "bulkId:r2"]` matched nothing and answered 200 with r2 still a member;
    bulkIds are resolved in values (RFC 7644 §3.7.2), so such a path is refused."""
    group = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Team"}).get_json()
    patch = {
        "method": "PATCH",
        "path": f"/Groups/{group['id']}",
        "data": {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "remove", "path": 'members[value eq "bulkId:r2"]'}],
        },
    }
    results = bulk(scim, create_user("r2", "rita"), patch)
    assert [r["status"] for r in results] == ["201", "400"]
    assert results[1]["response"]["scimType"] == "invalidPath"
