"""Filters (RFC 7644 §3.4.2.2) on /Users, /Groups and their .search, answered by the database."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def found(scim, scim_filter, path="/Users"):
    response = scim.get(f"{path}?{urlencode({'filter': scim_filter})}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["totalResults"] == len(body["Resources"])
    return sorted(r.get("userName") or r["displayName"] for r in body["Resources"])


@pytest.fixture
def people(scim):
    """Three users besides the account's main contact (main.contact, family name Main)."""
    alice = scim.create_user(
        "Alice.Adams",
        externalId="Okta-1",
        title="Nurse",
        name={"givenName": "Alice", "familyName": "Adams"},
        emails=[
            {"value": "Alice@Work.example.com", "type": "work", "primary": True},
            {"value": "alice@home.example.com", "type": "home"},
        ],
        **{COMMUNITY: {"profile": "knowledge"}, ENTERPRISE: {"department": "Cardiology"}},
    )
    bob = scim.create_user(
        "bob.brown",
        externalId="okta-2",
        name={"givenName": "Bob", "familyName": "Brown"},
        emails=[{"value": "bob@home.example.com", "type": "home"}],
    )
    carol = scim.create_user("carol.cruz", name={"givenName": "Carol", "familyName": "Cruz"})
    return {"alice": alice, "bob": bob, "carol": carol}


def test_eq_on_user_name_ignores_case(scim, people):
    assert found(scim, 'userName eq "alice.adams"') == ["Alice.Adams"]
    assert found(scim, 'userName eq "ALICE.ADAMS"') == ["Alice.Adams"]
    assert found(scim, 'userName eq "alice"') == []


def test_ne_includes_users_without_the_value(scim, people):
    assert found(scim, 'userName ne "carol.cruz"') == ["Alice.Adams", "bob.brown", "main.contact"]
    assert found(scim, 'title ne "Nurse"') == ["bob.brown", "carol.cruz", "main.contact"]


def test_co_sw_ew_ignore_case(scim, people):
    assert found(scim, 'name.givenName co "O"') == ["bob.brown", "carol.cruz"]
    assert found(scim, 'userName sw "B"') == ["bob.brown"]
    assert found(scim, 'userName ew "ADAMS"') == ["Alice.Adams"]


def test_like_wildcards_in_a_value_are_taken_literally(scim):
    scim.create_user("a_b")
    scim.create_user("axb")
    scim.create_user("100%")
    assert found(scim, 'userName co "a_b"') == ["a_b"]
    assert found(scim, 'userName ew "0%"') == ["100%"]


def test_pr_and_not_pr(scim, people):
    assert found(scim, "title pr") == ["Alice.Adams"]
    assert found(scim, "not (title pr)") == ["bob.brown", "carol.cruz", "main.contact"]
    assert found(scim, "externalId pr") == ["Alice.Adams", "bob.brown"]


def test_ordering_comparisons_on_text(scim, people):
    # Family names: Adams, Brown, Cruz, Main.
    assert found(scim, 'name.familyName gt "Brown"') == ["carol.cruz", "main.contact"]
    assert found(scim, 'name.familyName ge "Brown"') == ["bob.brown", "carol.cruz", "main.contact"]
    assert found(scim, 'name.familyName lt "Brown"') == ["Alice.Adams"]
    assert found(scim, 'name.familyName le "brown"') == ["Alice.Adams", "bob.brown"]


def test_and_or_not_with_grouping(scim, people):
    assert found(scim, 'userName sw "a" or userName sw "b" and name.familyName eq "Cruz"') == [
        "Alice.Adams"
    ]
    assert found(
        scim, '(userName sw "a" or userName sw "b") and not (name.familyName eq "Brown")'
    ) == ["Alice.Adams"]
    assert found(scim, 'not (userName sw "a" or userName sw "b")') == [
        "carol.cruz",
        "main.contact",
    ]


def test_value_paths_select_within_one_email(scim, people):
    # carol.cruz has the default work email of the test client.
    assert found(scim, 'emails[type eq "work" and value co "@work."]') == ["Alice.Adams"]
    assert found(scim, 'emails[type eq "home"]') == ["Alice.Adams", "bob.brown"]
    # Both conditions must hold for the same email, not for two different ones.
    assert found(scim, 'emails[type eq "home" and value co "@work."]') == []


def test_emails_match_ignoring_case(scim, people):
    assert found(scim, 'emails.value eq "alice@WORK.example.com"') == ["Alice.Adams"]
    assert found(scim, 'emails eq "BOB@home.example.com"') == ["bob.brown"]
    assert found(scim, 'emails.value sw "ALICE@"') == ["Alice.Adams"]


def test_extension_attributes_by_urn(scim, people):
    assert found(scim, f'{COMMUNITY}:profile eq "knowledge"') == ["Alice.Adams"]
    assert found(scim, f'{COMMUNITY}:profile eq "main"') == ["main.contact"]
    assert found(scim, f'{ENTERPRISE}:department eq "cardiology"') == ["Alice.Adams"]
    assert found(scim, f"{COMMUNITY}:noLongerAtAccount eq false") == [
        "Alice.Adams",
        "bob.brown",
        "carol.cruz",
        "main.contact",
    ]


def test_core_attributes_by_full_urn(scim, people):
    core = "urn:ietf:params:scim:schemas:core:2.0:User"
    assert found(scim, f'{core}:userName eq "carol.cruz"') == ["carol.cruz"]


def test_external_id_is_matched_exactly(scim, people):
    assert found(scim, 'externalId eq "Okta-1"') == ["Alice.Adams"]
    assert found(scim, 'externalId eq "okta-1"') == []
    assert found(scim, 'externalId eq "okta-2"') == ["bob.brown"]


def test_active_flag(scim, people):
    scim.patch(
        f"/Users/{people['bob']['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert found(scim, "active eq false") == ["bob.brown"]
    assert found(scim, 'active eq true and userName sw "b"') == []


def test_booleans_quoted_as_strings_mean_what_they_say(scim, people):
    scim.patch(
        f"/Users/{people['bob']['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert found(scim, 'active eq "false"') == ["bob.brown"]
    assert found(scim, 'active eq "False"') == ["bob.brown"]
    assert found(scim, 'active ne "TRUE"') == ["bob.brown"]
    assert found(scim, 'emails[primary eq "false"]') == ["Alice.Adams", "bob.brown"]


@pytest.mark.parametrize("scim_filter", ['active eq "yes"', "active gt false", 'active co "t"'])
def test_booleans_refuse_other_values_and_operators(scim, people, scim_filter):
    response = scim.get(f"/Users?{urlencode({'filter': scim_filter})}")
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidFilter"


def test_complex_attributes_are_present_when_a_sub_attribute_is(scim, people):
    assert found(scim, "name pr") == ["Alice.Adams", "bob.brown", "carol.cruz", "main.contact"]
    assert found(scim, "not (name pr)") == []
    manager = f"{ENTERPRISE}:manager"
    assert found(scim, f"{manager} pr") == []
    scim.patch(
        f"/Users/{people['bob']['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "add", "path": manager, "value": people["alice"]["id"]}],
        },
    )
    assert found(scim, f"{manager} pr") == ["bob.brown"]


@pytest.mark.parametrize(
    ("moment", "after"),
    [("0001-01-01T00:00:00+14:00", 4), ("9999-12-31T23:59:59-14:00", 0)],
)
def test_dates_at_the_ends_of_the_calendar_compare(scim, people, moment, after):
    assert len(found(scim, f'meta.lastModified gt "{moment}"')) == after
    assert len(found(scim, f'meta.created le "{moment}"')) == 4 - after


def test_a_value_path_on_an_attribute_not_filtered_on_says_which(scim):
    """Addresses are not filtered on: the refusal names them, not a sub-attribute ("value")
    the filter never wrote."""
    scim_filter = 'addresses[type eq "work"].locality eq "Seattle"'
    response = scim.get(f"/Users?{urlencode({'filter': scim_filter})}")
    assert response.status_code == 400 and response.get_json()["scimType"] == "invalidFilter"
    assert response.get_json()["detail"] == "Filtering and sorting on addresses are not supported."


@pytest.mark.parametrize(
    "scim_filter", ['userName eq "a\x00"', 'title co "\x00"', 'emails[value sw "\x00"]']
)
def test_a_nul_in_a_filter_is_invalid_filter(scim, people, scim_filter):
    response = scim.get(f"/Users?{urlencode({'filter': scim_filter})}")
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidFilter"


@pytest.mark.parametrize("escape", ["\\u0000", "a\\u0000b", "\\ud800"])
@pytest.mark.parametrize("path", ["/Users", "/Groups"])
def test_an_escape_no_stored_text_can_hold_matches_nothing(scim, people, escape, path):
    attribute = "userName" if path == "/Users" else "externalId"
    for op in ("eq", "co", "sw"):
        assert found(scim, f'{attribute} {op} "{escape}"', path) == []
    everyone = found(scim, f"{attribute} pr or not ({attribute} pr)", path)
    assert found(scim, f'{attribute} ne "{escape}"', path) == everyone


def test_last_modified_after_a_moment(scim, people):
    moment = people["carol"]["meta"]["lastModified"]
    assert found(scim, f'meta.lastModified gt "{moment}"') == []
    scim.patch(
        f"/Users/{people['alice']['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Dr"}]},
    )
    assert found(scim, f'meta.lastModified gt "{moment}"') == ["Alice.Adams"]
    assert found(scim, f'meta.lastModified ge "{moment}"') == ["Alice.Adams", "carol.cruz"]
    assert found(scim, 'meta.created lt "2000-01-01T00:00:00Z"') == []


def test_total_results_counts_every_match_not_just_the_page(scim, people):
    body = scim.get("/Users?" + urlencode({"filter": 'userName co "."', "count": 1})).get_json()
    assert body["totalResults"] == 4
    assert body["itemsPerPage"] == 1


def test_groups_by_display_name_and_members(scim, people):
    alice, bob = people["alice"], people["bob"]
    team = scim.create_group("Night Shift", [alice["id"]])
    scim.create_group("Day Shift", [bob["id"]])
    assert found(scim, 'displayName eq "night shift"', "/Groups") == ["Night Shift"]
    assert found(scim, 'displayName ew "Shift"', "/Groups") == ["Day Shift", "Night Shift"]
    assert found(scim, f'members.value eq "{alice["id"]}"', "/Groups") == ["Night Shift"]
    assert found(scim, f'members[value eq "{bob["id"]}"]', "/Groups") == ["Day Shift"]
    assert found(scim, "members pr", "/Groups") == ["Day Shift", "Night Shift"]
    assert found(scim, f'id eq "{team["id"]}"', "/Groups") == ["Night Shift"]


def test_users_by_group_membership(scim, people):
    team = scim.create_group("Night Shift", [people["carol"]["id"]])
    assert found(scim, f'groups.value eq "{team["id"]}"') == ["carol.cruz"]
    assert found(scim, 'groups.display eq "night shift"') == ["carol.cruz"]


def test_search_by_post_applies_the_same_filter(scim, people):
    response = scim.post(
        "/Users/.search",
        {"schemas": [SEARCH], "filter": 'emails[type eq "home"]', "attributes": ["userName"]},
    )
    assert response.status_code == 200
    resources = response.get_json()["Resources"]
    assert sorted(r["userName"] for r in resources) == ["Alice.Adams", "bob.brown"]
    assert all(set(r) == {"schemas", "id", "userName"} for r in resources)
    groups = scim.post(
        "/Groups/.search", {"schemas": [SEARCH], "filter": 'displayName sw "super"'}
    ).get_json()
    assert [g["displayName"] for g in groups["Resources"]] == ["Super User"]


@pytest.mark.parametrize(
    ("path", "scim_filter"),
    [
        ("/Users", 'shoeSize eq "42"'),
        ("/Users", f'{COMMUNITY}:favouriteColour eq "red"'),
        ("/Groups", 'userName eq "alice"'),
    ],
)
def test_unknown_attribute_is_invalid_filter(scim, path, scim_filter):
    response = scim.get(f"{path}?{urlencode({'filter': scim_filter})}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["status"] == "400"
    assert body["scimType"] == "invalidFilter"


@pytest.mark.parametrize(
    "scim_filter",
    [
        "userName eq",
        'userName xx "a"',
        '(userName eq "a"',
        'emails[type eq "work"',
        'userName eq "a" and',
        "active gt false",
        'meta.created ge "not a date"',
    ],
)
def test_malformed_filter_is_invalid_filter(scim, scim_filter):
    response = scim.get(f"/Users?{urlencode({'filter': scim_filter})}")
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidFilter"
    searched = scim.post("/Users/.search", {"schemas": [SEARCH], "filter": scim_filter})
    assert searched.status_code == 400
    assert searched.get_json()["scimType"] == "invalidFilter"
