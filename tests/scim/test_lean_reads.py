"""The fast paths answer exactly as scim2-models would: users (GET by id, the `userName eq`
lookup, pages, the responses to changes; scim.user_json) and groups (GET, pages, creation and
replacement; scim.group_json) are built as plain dicts; these tests put them byte for byte beside
the scim2-models rendering of the same resource (scim.mapping + scim.responses)."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
from scim2_models import Context
from sqlalchemy import update

from scim import mapping, responses, search
from scim.schemas import Group, UserResource
from scim.user_json import user_json
from store import groups, listing, users
from store.models.directory import User
from tests.scim.resources import COMMUNITY, USER, rich_body

BASE = "http://localhost/scim/v2"
RESPONSE_CONTEXTS = (
    Context.RESOURCE_QUERY_RESPONSE,
    Context.RESOURCE_CREATION_RESPONSE,
    Context.RESOURCE_REPLACEMENT_RESPONSE,
    Context.RESOURCE_PATCH_RESPONSE,
)


def full_rendering(app, db, actor, user_id, context=Context.RESOURCE_QUERY_RESPONSE) -> bytes:
    with app.test_request_context(), db.transaction(write=False) as tx:
        user = users.get_user(tx, actor, uuid.UUID(str(user_id)), related=True)
        return responses.render(mapping.user_to_scim(user, BASE), context).get_data()


def full_search(app, db, actor, args) -> bytes:
    with app.test_request_context(), db.transaction(write=False) as tx:
        query = search.from_query(UserResource, args)
        found = search.search_users(tx, actor, query, BASE, lean=False)
        return responses.scim_json(found).get_data()


def test_get_by_id_is_byte_for_byte_the_scim2_models_rendering(app, db, scim, enterprise, rich):
    response = scim.get(f"/Users/{rich}")
    assert response.status_code == 200
    body = response.get_json()
    assert {g["display"] for g in body["groups"]} == {"Zeta team", "alpha team"}
    assert body[COMMUNITY]["applications"] == ["connected_health"]
    assert body[COMMUNITY]["lastLogin"] == "2024-05-06T07:08:09Z"
    assert response.get_data() == full_rendering(app, db, enterprise.okta, rich)
    assert response.headers["ETag"] == body["meta"]["version"]
    assert response.mimetype == "application/scim+json"


def test_every_response_context_renders_a_user_alike(app, db, enterprise, rich):
    with app.test_request_context(), db.transaction(write=False) as tx:
        view = listing.user_view(tx, enterprise.okta, rich)
        lean = responses.scim_json(user_json(view, BASE))
    for context in RESPONSE_CONTEXTS:
        assert lean.get_data() == full_rendering(app, db, enterprise.okta, rich, context)


def test_a_bare_user_renders_alike(app, db, scim, enterprise):
    bare = scim.post("/Users", {"schemas": [USER], "userName": "bare"}).get_json()
    with db.transaction() as tx:
        tx.execute(update(User).where(User.id == uuid.UUID(bare["id"])).values(profile=None))
    response = scim.get(f"/Users/{bare['id']}")
    assert "emails" not in response.get_json()
    assert response.get_data() == full_rendering(app, db, enterprise.okta, bare["id"])


def test_user_name_lookup_is_byte_for_byte_the_search(app, db, scim, enterprise, rich):
    for text in ('userName eq "rich.person"', 'USERNAME EQ "RICH.PERSON"', 'userName eq "nobody"'):
        for extra in ("", "&startIndex=1&count=100", "&count=1"):
            response = scim.get("/Users?filter=" + quote(text) + extra)
            assert response.status_code == 200
            args = {"filter": text}
            expected = full_search(app, db, enterprise.okta, args)
            assert response.get_data() == expected, (text, extra)


@pytest.mark.parametrize(
    "query",
    [
        'filter=userName eq "rich.person"&startIndex=2',
        'filter=userName eq "rich.person"&count=0',
        'filter=userName eq "rich.person"&attributes=userName',
        'filter=userName eq "rich.person"&excludedAttributes=emails',
        'filter=userName eq "rich.person"&sortBy=title',
        'filter=userName  eq "rich.person"',
        'filter=userName eq "rich\\u002eperson"',
        'filter=userName eq "rich.person" or userName eq "boss"',
    ],
)
def test_other_searches_take_the_full_path(app, db, scim, enterprise, rich, query):
    assert search.user_name_lookup(dict(p.split("=", 1) for p in query.split("&"))) is None
    response = scim.get("/Users?" + quote(query, safe="=&"))
    args = dict(p.split("=", 1) for p in query.split("&"))
    if response.status_code == 200:
        assert response.get_data() == full_search(app, db, enterprise.okta, args)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "startIndex=2&count=2",
        "count=0",
        "startIndex=99",
        "sortBy=userName&sortOrder=descending",
        'filter=emails.value co "example"&sortBy=name.familyName',
        "filter=active eq true&count=1",
    ],
)
def test_list_pages_are_byte_for_byte_the_scim2_models_rendering(
    app, db, scim, enterprise, rich, query
):
    scim.create_user("second.person")
    scim.create_user("third.person")
    args = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    response = scim.get("/Users?" + quote(query, safe="=&"))
    assert response.status_code == 200
    assert response.get_data() == full_search(app, db, enterprise.okta, args), query
    searched = scim.post("/Users/.search", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        **{k: int(v) if v.isdigit() else v for k, v in args.items()},
    })  # fmt: skip
    assert searched.get_data() == response.get_data()


@pytest.mark.parametrize(
    "extra", ["", '&filter=userName co "person"', "&sortBy=userName&sortOrder=descending"]
)
def test_cursor_pages_are_byte_for_byte_the_scim2_models_rendering(
    app, db, scim, enterprise, rich, extra
):
    for name in ("second.person", "third.person", "fourth.person"):
        scim.create_user(name)
    cursor, pages = "", 0
    while cursor is not None:
        query = f"cursor={cursor}&count=2{extra}"
        args = dict(p.split("=", 1) for p in query.split("&"))
        response = scim.get("/Users?" + quote(query, safe="=&"))
        assert response.status_code == 200, response.get_data()
        assert response.get_data() == full_search(app, db, enterprise.okta, args), query
        assert "startIndex" not in response.get_json()
        cursor, pages = response.get_json().get("nextCursor"), pages + 1
    assert pages >= 2


def test_the_lookup_sees_only_the_callers_users(scim, scim_client, make_account, make_token, rich):
    other = scim_client(make_token(make_account(), "other"))
    body = other.get("/Users?filter=" + quote('userName eq "rich.person"')).get_json()
    assert body["totalResults"] == 0
    assert other.get(f"/Users/{rich}").status_code == 404


def test_changes_answer_with_the_scim2_models_rendering(app, db, scim, enterprise):
    boss = scim.create_user("boss")
    created = scim.post("/Users", rich_body(boss["id"]))
    user_id = created.get_json()["id"]
    expected = full_rendering(app, db, enterprise.okta, user_id)
    assert created.get_data() == expected
    assert created.headers["Location"] == created.get_json()["meta"]["location"]
    patched = scim.patch(
        f"/Users/{user_id}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Dean"}],
        },
    )
    assert patched.status_code == 200
    assert patched.get_data() == full_rendering(app, db, enterprise.okta, user_id)
    replaced = scim.put(f"/Users/{user_id}", rich_body(boss["id"]))
    assert replaced.status_code == 200
    assert replaced.get_data() == full_rendering(app, db, enterprise.okta, user_id)


@pytest.mark.parametrize("projection", ["", f"&attributes={COMMUNITY}:account,userName"])
def test_a_page_shows_each_user_as_the_scim2_models_rendering_of_the_user(
    app, db, scim, enterprise, rich, projection
):
    """Pages read their users as plain rows, not as the ORM objects a change renders."""
    scim.create_user("second.person")
    listed = scim.get(f"/Users?count=10{projection}").get_json()["Resources"]
    assert {r["userName"] for r in listed} == {
        "boss",
        "Rich.Person",
        "second.person",
        "main.contact",
    }
    for resource in listed:
        args = {"filter": f'id eq "{resource["id"]}"'}
        if projection:
            args["attributes"] = f"{COMMUNITY}:account,userName"
            expected = json.loads(full_search(app, db, enterprise.okta, args))["Resources"][0]
            assert expected[COMMUNITY]["account"] == enterprise.account.name
        else:
            expected = json.loads(full_rendering(app, db, enterprise.okta, resource["id"]))
        assert resource == expected


GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def full_group(app, db, actor, group_id) -> bytes:
    with app.test_request_context(), db.transaction(write=False) as tx:
        group = groups.get_group(tx, actor, uuid.UUID(group_id))
        members = listing.member_ids(tx, [group.id])[group.id]
        resource = mapping.group_to_scim(group, BASE, members)
        return responses.render(resource, Context.RESOURCE_QUERY_RESPONSE).get_data()


def full_group_search(app, db, actor, args) -> bytes:
    with app.test_request_context(), db.transaction(write=False) as tx:
        query = search.from_query(Group, args)
        found = search.search_groups(tx, actor, query, BASE, lean=False)
        return responses.scim_json(found).get_data()


@pytest.fixture
def teams(scim, rich):
    """A group with members and an externalId, one whose externalId was cleared by a PUT, and
    the account's contact roles, which have no members."""
    second = scim.create_user("second.person")
    team = scim.post("/Groups", {
        "schemas": [GROUP], "displayName": "Team", "externalId": "okta-team",
        "members": [{"value": second["id"]}, {"value": str(rich)}],
    }).get_json()  # fmt: skip
    cleared = scim.create_group("Cleared", [second["id"]])
    body = {"schemas": [GROUP], "displayName": "Cleared", "members": []}
    assert scim.put(f"/Groups/{cleared['id']}", body).status_code == 200
    return [team["id"], cleared["id"]]


def test_a_group_is_byte_for_byte_the_scim2_models_rendering(app, db, scim, enterprise, teams):
    for group_id in teams:
        response = scim.get(f"/Groups/{group_id}")
        assert response.status_code == 200
        assert response.get_data() == full_group(app, db, enterprise.okta, group_id)
        assert response.headers["ETag"] == response.get_json()["meta"]["version"]
        again = scim.get(f"/Groups/{group_id}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
    team = scim.get(f"/Groups/{teams[0]}").get_json()
    assert team["externalId"] == "okta-team" and len(team["members"]) == 2


@pytest.mark.parametrize(
    "query", ["", "count=3&startIndex=2", 'filter=displayName eq "Team"', "sortBy=displayName"]
)
def test_group_pages_are_byte_for_byte_the_scim2_models_rendering(
    app, db, scim, enterprise, teams, query
):
    args = dict(p.split("=", 1) for p in query.split("&")) if query else {}
    response = scim.get("/Groups?" + quote(query, safe="=&"))
    assert response.status_code == 200
    assert response.get_data() == full_group_search(app, db, enterprise.okta, args), query
    cursor = ""
    while cursor is not None:
        paged = {**args, "cursor": cursor, "count": "5"}
        paged.pop("startIndex", None)
        response = scim.get("/Groups?" + "&".join(f"{k}={quote(v)}" for k, v in paged.items()))
        assert response.status_code == 200, response.get_data()
        assert response.get_data() == full_group_search(app, db, enterprise.okta, paged)
        cursor = response.get_json().get("nextCursor")


def test_group_changes_answer_with_the_scim2_models_rendering(app, db, scim, enterprise, rich):
    second = scim.create_user("second.person")
    body = {"schemas": [GROUP], "displayName": "Team", "externalId": "okta-team",
            "members": [{"value": second["id"]}, {"value": str(rich)}]}  # fmt: skip
    created = scim.post("/Groups", body)
    assert created.status_code == 201
    group_id = created.get_json()["id"]
    assert created.get_data() == full_group(app, db, enterprise.okta, group_id)
    assert created.headers["Location"] == created.get_json()["meta"]["location"]
    assert created.headers["ETag"] == created.get_json()["meta"]["version"]
    replaced = scim.put(f"/Groups/{group_id}", {**body, "members": [{"value": second["id"]}]})
    assert replaced.status_code == 200
    assert replaced.get_data() == full_group(app, db, enterprise.okta, group_id)
    assert [m["value"] for m in replaced.get_json()["members"]] == [second["id"]]
    projected = scim.put(f"/Groups/{group_id}?attributes=displayName", body)
    assert projected.status_code == 200 and "members" not in projected.get_json()
