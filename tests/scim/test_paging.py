"""Sorting and paging (RFC 7644 §3.4.2.3-4, RFC 9865 cursors): stable pages while users arrive."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from store import new_users
from store.models.directory import User

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"


def listed(scim, path="/Users", **params):
    response = scim.get(f"{path}?{urlencode(params)}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def user_names(body):
    return [r["userName"] for r in body["Resources"]]


@pytest.fixture
def five(scim):
    """Five users besides main.contact, created in this order."""
    for name in ("delta", "alpha", "Charlie", "bravo", "echo"):
        scim.create_user(name, name={"familyName": name.upper()})


def test_default_order_is_creation_order(scim, five):
    assert user_names(listed(scim)) == [
        "main.contact",
        "delta",
        "alpha",
        "Charlie",
        "bravo",
        "echo",
    ]


def test_a_filtered_page_sorted_on_emails_is_a_slice_of_the_whole(scim, five):
    """Pages are read as ids from the sort first, then their rows: the rows keep the order."""
    query = {"filter": 'emails.value co "@" and not (userName eq "echo")', "sortBy": "emails"}
    whole = user_names(listed(scim, **query))
    assert whole == ["alpha", "bravo", "Charlie", "delta", "main.contact"]
    for start in (1, 2, 4):
        page = listed(scim, **query, sortOrder="ascending", startIndex=start, count=2)
        assert user_names(page) == whole[start - 1 : start + 1]
        assert page["totalResults"] == 5 and page["startIndex"] == start
    backwards = listed(scim, **query, sortOrder="descending", startIndex=2, count=3)
    assert user_names(backwards) == list(reversed(whole))[1:4]


def test_sort_by_user_name_ignores_case(scim, five):
    ascending = ["alpha", "bravo", "Charlie", "delta", "echo", "main.contact"]
    assert user_names(listed(scim, sortBy="userName")) == ascending
    assert user_names(listed(scim, sortBy="userName", sortOrder="ascending")) == ascending
    descending = listed(scim, sortBy="userName", sortOrder="descending")
    assert user_names(descending) == list(reversed(ascending))


def test_sort_by_a_sub_attribute_and_by_emails(scim, five):
    by_family = listed(scim, sortBy="name.familyName", sortOrder="descending")
    assert user_names(by_family) == ["main.contact", "echo", "delta", "Charlie", "bravo", "alpha"]
    # Users are sorted on their primary email; each one's is <userName>@example....
    by_email = listed(scim, sortBy="emails")
    assert user_names(by_email) == ["alpha", "bravo", "Charlie", "delta", "echo", "main.contact"]


def test_sort_by_an_unknown_attribute_is_refused(scim):
    response = scim.get("/Users?sortBy=shoeSize")
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidPath"


def test_sort_groups_by_display_name(scim):
    body = listed(scim, "/Groups", sortBy="displayName", sortOrder="descending", count=2)
    assert [g["displayName"] for g in body["Resources"]] == ["Super User", "Security Reviewer"]


def test_start_index_and_count_page_through_the_results(scim, five):
    body = listed(scim, sortBy="userName", startIndex=2, count=2)
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 6
    assert body["startIndex"] == 2
    assert body["itemsPerPage"] == 2
    assert user_names(body) == ["bravo", "Charlie"]
    last = listed(scim, sortBy="userName", startIndex=6, count=2)
    assert (last["startIndex"], last["itemsPerPage"], user_names(last)) == (6, 1, ["main.contact"])
    past = listed(scim, sortBy="userName", startIndex=7, count=2)
    assert (past["totalResults"], past["itemsPerPage"], past["Resources"]) == (6, 0, [])


def test_out_of_range_start_index_and_count_are_interpreted(scim, five):
    # RFC 7644 §3.4.2.4: startIndex below 1 is 1, a negative count is 0.
    first = listed(scim, sortBy="userName", startIndex=0, count=1)
    assert (first["startIndex"], user_names(first)) == (1, ["alpha"])
    none = listed(scim, count=-3)
    assert (none["totalResults"], none["itemsPerPage"], none["Resources"]) == (6, 0, [])
    counted = listed(scim, count=0)
    assert (counted["totalResults"], counted["itemsPerPage"]) == (6, 0)


@pytest.mark.slow  # a thousand users
def test_count_is_clamped_to_max_results(db, scim, enterprise, operator):
    with db.transaction() as tx:
        for i in range(1001):
            new_users.create_user(
                tx, operator, account_id=enterprise.account.id, user_name=f"u{i:04}"
            )
    body = listed(scim, count=5000, attributes="userName")
    assert body["totalResults"] == 1002
    assert body["itemsPerPage"] == 1000
    assert len(body["Resources"]) == 1000
    cursor_page = listed(scim, count=5000, cursor="", attributes="userName")
    assert cursor_page["itemsPerPage"] == 1000
    assert "nextCursor" in cursor_page
    rest = listed(scim, count=5000, cursor=cursor_page["nextCursor"], attributes="userName")
    assert rest["itemsPerPage"] == 2
    assert "nextCursor" not in rest


def test_cursor_pages_follow_next_cursor_to_the_end(scim, five):
    first = listed(scim, sortBy="userName", count=2, cursor="")
    assert first["schemas"] == [LIST]
    assert first["itemsPerPage"] == 2
    assert user_names(first) == ["alpha", "bravo"]
    second = listed(scim, sortBy="userName", count=2, cursor=first["nextCursor"])
    assert user_names(second) == ["Charlie", "delta"]
    third = listed(scim, sortBy="userName", count=2, cursor=second["nextCursor"])
    assert user_names(third) == ["echo", "main.contact"]
    assert "nextCursor" not in third


def test_cursor_pages_carry_the_total_and_count_zero_gives_only_it(scim, five):
    first = listed(scim, sortBy="userName", count=2, cursor="")
    second = listed(scim, sortBy="userName", count=2, cursor=first["nextCursor"])
    assert first["totalResults"] == second["totalResults"] == 6
    filtered = listed(scim, filter='userName sw "e"', count=0, cursor="")
    assert filtered["totalResults"] == 1
    assert filtered["itemsPerPage"] == 0 and not filtered.get("Resources")
    groups = listed(scim, "/Groups", count=1, cursor="")
    assert groups["totalResults"] == 12  # the account's contact roles


def test_a_start_index_past_any_directory_gives_an_empty_page(scim, five):
    body = listed(scim, startIndex=10**20, count=3)
    assert body["totalResults"] == 6 and body["Resources"] == []
    searched = scim.post("/.search", {"schemas": [SEARCH], "startIndex": 10**20})
    assert searched.status_code == 200 and searched.get_json()["totalResults"] > 6


@pytest.mark.parametrize(
    "sort_by", ["emails.primary", "phoneNumbers.primary", "emails.type", "emails.display"]
)
def test_sorting_on_a_sub_attribute_of_emails_or_phone_numbers(scim, five, sort_by):
    body = listed(scim, sortBy=sort_by, count=3)
    assert body["totalResults"] == 6 and len(body["Resources"]) == 3
    root = scim.post("/.search", {"schemas": [SEARCH], "sortBy": sort_by, "count": 3})
    assert root.status_code == 200, root.get_json()


def _altered(cursor, position, value):
    """The cursor with one value changed: at position 1, the sort value (the last of the sort
    key's values; whether it is absent comes before it)."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    values = json.loads(raw)
    if position == 1:
        values[1][-1] = value
    else:
        values[position] = value
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort_by", "position", "value"),
    [
        ("active", 1, "abc"),
        ("active", 1, 5),
        ("active", 1, [1]),
        ("userName", 1, {"a": 1}),
        ("userName", 1, None),
        ("userName", 1, "a\x00"),
        ("userName", 1, "\ud800"),
        ("meta.lastModified", 1, "2026-11-30T07:11:41"),
        ("userName", 2, "2026-11-30T07:11:41"),
        ("userName", 2, "0001-01-01T00:00:00+14:00"),
        ("meta.lastModified", 1, "9999-12-31T23:59:59-14:00"),
        ("userName", 2, 17),
        ("userName", 3, ["not", "an", "id"]),
    ],
)
def test_a_cursor_altered_by_hand_is_invalid_not_an_error(scim, five, sort_by, position, value):
    first = listed(scim, sortBy=sort_by, count=1, cursor="")
    cursor = _altered(first["nextCursor"], position, value)
    response = scim.get(f"/Users?{urlencode({'sortBy': sort_by, 'count': 1, 'cursor': cursor})}")
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidCursor"


def test_cursor_paging_by_post_search(scim, five):
    first = scim.post("/Users/.search", {"schemas": [SEARCH], "cursor": "", "count": 4}).get_json()
    assert len(first["Resources"]) == 4
    rest = scim.post(
        "/Users/.search", {"schemas": [SEARCH], "cursor": first["nextCursor"], "count": 4}
    ).get_json()
    assert user_names(first) + user_names(rest) == user_names(listed(scim))


def test_invalid_cursor_is_refused(scim, five):
    for cursor in ("not-a-cursor!", "WyJ4Il0"):
        response = scim.get(f"/Users?{urlencode({'cursor': cursor, 'count': 2})}")
        assert response.status_code == 400
        body = response.get_json()
        assert body["status"] == "400"
        assert body["scimType"] == "invalidCursor"


def test_cursor_of_another_search_is_refused(scim, five):
    first = listed(scim, sortBy="userName", count=2, cursor="")
    other = scim.get(f"/Users?{urlencode({'cursor': first['nextCursor'], 'count': 2})}")
    assert other.status_code == 400
    assert other.get_json()["scimType"] == "invalidCursor"


def test_cursor_and_start_index_together_are_refused(scim):
    for query in ("cursor=&startIndex=1", "cursor=&startIndex=3&count=2"):
        response = scim.get(f"/Users?{query}")
        assert response.status_code == 400
        assert response.get_json()["status"] == "400"
        assert "startIndex or cursor" in response.get_json()["detail"]
    searched = scim.post("/Users/.search", {"schemas": [SEARCH], "cursor": "", "startIndex": 1})
    assert searched.status_code == 400


def test_index_pages_while_users_are_added(scim, make_user, enterprise):
    existing = {str(make_user(enterprise.account, f"start.{i:02}").id) for i in range(11)}
    existing.add(str(enterprise.main.id))
    seen: list[str] = []
    start, added = 1, 0
    while True:
        body = listed(scim, startIndex=start, count=5, attributes="userName")
        seen += [r["id"] for r in body["Resources"]]
        if start + 5 > body["totalResults"]:
            break
        for _ in range(2):
            make_user(enterprise.account, f"new.{added:02}")
            added += 1
        start += 5
    assert len(seen) == len(set(seen)), "a user was listed twice"
    assert existing <= set(seen), "a user that existed at the start was skipped"
    assert added >= 4


def test_cursor_pages_while_users_are_added_on_both_sides(scim, make_user, enterprise):
    existing = {str(make_user(enterprise.account, f"m.{i:02}").id) for i in range(11)}
    existing.add(str(enterprise.main.id))
    seen: list[str] = []
    cursor, added = "", 0
    while True:
        body = listed(scim, sortBy="userName", count=4, cursor=cursor, attributes="userName")
        seen += [r["id"] for r in body["Resources"]]
        if "nextCursor" not in body:
            break
        cursor = body["nextCursor"]
        # One before every page already read, one after: neither may shift what comes next.
        make_user(enterprise.account, f"a.{added:02}")
        make_user(enterprise.account, f"z.{added:02}")
        added += 1
    assert len(seen) == len(set(seen)), "a user was listed twice"
    assert existing <= set(seen), "a user that existed at the start was skipped"
    assert added >= 3


@pytest.fixture
def varied(db, scim):
    """Users whose sort values differ in kind: some unset, some repeated, some changed later."""
    boss = scim.create_user("boss")
    made = [boss]
    for i, name in enumerate(["kim", "lee", "max", "ned", "oli"]):
        extra = {"externalId": f"x{i % 2}"} if i % 3 else {}
        if i % 2:
            extra[ENTERPRISE] = {"manager": {"value": boss["id"]}}
        made.append(scim.create_user(name, active=i != 2, **extra))
    scim.patch(
        f"/Users/{made[1]['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
    )
    with db.transaction() as tx:
        for user, day in ((made[2], 3), (made[4], 1), (made[5], 3)):
            tx.get(User, uuid.UUID(user["id"])).last_login_at = datetime(2026, 1, day, tzinfo=UTC)


@pytest.mark.parametrize("order", ["ascending", "descending"])
@pytest.mark.parametrize(
    "sort_by",
    [
        "meta.created",
        "meta.lastModified",
        "id",
        "active",
        "externalId",
        "emails",
        f"{COMMUNITY}:lastLogin",
        f"{ENTERPRISE}:manager.value",
    ],
)
def test_cursor_pages_give_the_order_of_index_pages(scim, varied, sort_by, order):
    everything = listed(scim, sortBy=sort_by, sortOrder=order, attributes="userName")
    expected = [r["id"] for r in everything["Resources"]]
    assert len(expected) == everything["totalResults"] == 7
    seen: list[str] = []
    cursor = ""
    for _ in range(7):
        page = listed(scim, sortBy=sort_by, sortOrder=order, count=2, cursor=cursor)
        seen += [r["id"] for r in page["Resources"]]
        if "nextCursor" not in page:
            break
        cursor = page["nextCursor"]
    assert seen == expected


SORT_VALUES = {
    "externalId": lambda r: r.get("externalId"),
    "title": lambda r: r.get("title"),
    f"{COMMUNITY}:lastLogin": lambda r: r.get(COMMUNITY, {}).get("lastLogin"),
    f"{ENTERPRISE}:manager.value": lambda r: r.get(ENTERPRISE, {}).get("manager", {}).get("value"),
}


@pytest.mark.parametrize("sort_by", list(SORT_VALUES))
def test_users_without_the_sort_value_come_last_ascending_and_first_descending(
    scim, varied, sort_by
):
    """RFC 7644 §3.4.2.3, by index, by cursor and in the root /.search alike."""
    for order in ("ascending", "descending"):
        everything = listed(scim, sortBy=sort_by, sortOrder=order)["Resources"]
        present = [SORT_VALUES[sort_by](r) is not None for r in everything]
        assert any(present) and not all(present)
        assert present == sorted(present, reverse=order == "ascending"), (order, present)
        ids = [r["id"] for r in everything]
        cursor, seen = "", []
        while cursor is not None:
            page = listed(scim, sortBy=sort_by, sortOrder=order, count=2, cursor=cursor)
            seen += [r["id"] for r in page["Resources"]]
            cursor = page.get("nextCursor")
        assert seen == ids
        body = {"schemas": [SEARCH], "sortBy": sort_by, "sortOrder": order, "count": 50}
        root = scim.post("/.search", body).get_json()["Resources"]
        assert [r["id"] for r in root if "userName" in r] == ids


def test_sort_order_is_read_in_any_case(scim, five):
    lower = user_names(listed(scim, sortBy="userName", sortOrder="descending"))
    assert user_names(listed(scim, sortBy="userName", sortOrder="DESCENDING")) == lower
    body = {"schemas": [SEARCH], "sortBy": "userName", "sortOrder": "Descending"}
    searched = scim.post("/Users/.search", body).get_json()
    assert user_names(searched) == lower


def test_attributes_and_excluded_attributes_together_are_refused_in_words(scim, five):
    first = listed(scim, count=1)["Resources"][0]
    both = {"attributes": "userName", "excludedAttributes": "name"}
    for response in (
        scim.get(f"/Users?{urlencode(both)}"),
        scim.get(f"/Users/{first['id']}?{urlencode(both)}"),
        scim.post(
            "/Users/.search",
            {"schemas": [SEARCH], "attributes": ["userName"], "excludedAttributes": ["name"]},
        ),
    ):
        assert response.status_code == 400
        body = response.get_json()
        assert body["scimType"] == "invalidValue"
        assert "not both" in body["detail"] and "excluded_attributes" not in body["detail"]
