"""What the service says about itself (RFC 7644 §4), /Me, and the root /.search."""

from __future__ import annotations

import pytest

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def anonymous(scim_client):
    return scim_client(None)


def test_service_provider_config_announces_what_is_supported(anonymous):
    response = anonymous.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.mimetype == "application/scim+json"
    config = response.get_json()
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert config["patch"] == {"supported": True}
    assert config["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    assert config["filter"] == {"supported": True, "maxResults": 1000}
    assert config["sort"] == {"supported": True}
    assert config["etag"] == {"supported": True}
    assert config["pagination"]["cursor"] is True
    assert config["pagination"]["index"] is True
    assert config["pagination"]["maxPageSize"] == 1000
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert config["meta"]["location"] == "http://localhost/scim/v2/ServiceProviderConfig"


def test_resource_types_name_users_groups_and_the_user_extensions(anonymous):
    body = anonymous.get("/ResourceTypes").get_json()
    assert body["totalResults"] == 2
    types = {t["id"]: t for t in body["Resources"]}
    assert set(types) == {"User", "Group"}
    assert (types["User"]["endpoint"], types["User"]["schema"]) == ("/Users", USER)
    assert (types["Group"]["endpoint"], types["Group"]["schema"]) == ("/Groups", GROUP)
    extensions = {e["schema"]: e["required"] for e in types["User"]["schemaExtensions"]}
    assert extensions == {ENTERPRISE: False, COMMUNITY: True}
    one = anonymous.get("/ResourceTypes/User").get_json()
    assert one["schemaExtensions"] == types["User"]["schemaExtensions"]
    assert anonymous.get("/ResourceTypes/Widget").status_code == 404


def test_schemas_describe_the_three_user_schemas_and_group(anonymous):
    body = anonymous.get("/Schemas").get_json()
    ids = [s["id"] for s in body["Resources"]]
    assert sorted(ids) == sorted([USER, ENTERPRISE, COMMUNITY, GROUP])
    community = anonymous.get(f"/Schemas/{COMMUNITY}").get_json()
    attributes = {a["name"]: a for a in community["attributes"]}
    assert {"account", "profile", "applications", "noLongerAtAccount"} <= set(attributes)
    assert attributes["account"]["mutability"] == "readOnly"
    assert attributes["profile"]["required"] is True
    manager = next(
        a
        for a in anonymous.get(f"/Schemas/{ENTERPRISE}").get_json()["attributes"]
        if a["name"] == "manager"
    )
    ref = next(s for s in manager["subAttributes"] if s["name"] == "$ref")
    assert ref["required"] is False
    assert anonymous.get("/Schemas/urn:nope").status_code == 404


def test_every_published_attribute_is_described(anonymous):
    """RFC 7643 §7: attributes Rollcall redefines keep a description, as the others have."""

    def undescribed(attributes, prefix=""):
        for attribute in attributes:
            name = prefix + attribute["name"]
            if not attribute.get("description"):
                yield name
            yield from undescribed(attribute.get("subAttributes") or [], name + ".")

    for schema in anonymous.get("/Schemas").get_json()["Resources"]:
        assert list(undescribed(schema["attributes"])) == [], schema["id"]


def test_the_group_schema_says_what_groups_really_allow(anonymous, scim):
    group = {a["name"]: a for a in anonymous.get(f"/Schemas/{GROUP}").get_json()["attributes"]}
    assert group["displayName"]["uniqueness"] == "server"
    ref = next(s for s in group["members"]["subAttributes"] if s["name"] == "$ref")
    assert ref["referenceTypes"] == ["User"]
    scim.create_group("Night Shift")
    again = scim.post("/Groups", {"schemas": [GROUP], "displayName": "night shift"})
    assert again.status_code == 409 and again.get_json()["scimType"] == "uniqueness"


def test_schemas_with_a_token_list_the_profiles_that_token_may_give(scim):
    community = scim.get(f"/Schemas/{COMMUNITY}").get_json()
    profile = next(a for a in community["attributes"] if a["name"] == "profile")
    assert profile["canonicalValues"] == ["client", "knowledge", "read_only"]


@pytest.mark.parametrize("path", ["/Schemas", "/ResourceTypes", "/ServiceProviderConfig"])
def test_discovery_takes_no_filter(anonymous, path):
    response = anonymous.get(f"{path}?filter=id pr")
    assert response.status_code == 403


def test_me_with_a_provisioning_token_is_not_implemented(scim):
    response = scim.get("/Me")
    assert response.status_code == 501
    assert response.get_json()["status"] == "501"
    assert "provisioning token" in response.get_json()["detail"]


def test_me_without_a_token_is_401(anonymous):
    assert anonymous.get("/Me").status_code == 401


def test_root_search_returns_users_and_groups(scim):
    alice = scim.create_user("alice")
    team = scim.create_group("Support Team", [alice["id"]])
    response = scim.post(
        "/.search",
        {
            "schemas": [SEARCH],
            "filter": 'userName eq "alice" or displayName sw "Support"',
            "attributes": ["userName", "displayName"],
        },
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["totalResults"] == 2
    assert body["Resources"] == [
        {"schemas": [USER], "id": alice["id"], "userName": "alice"},
        {"schemas": [GROUP], "id": team["id"], "displayName": "Support Team"},
    ]


def test_root_search_pages_across_both_resource_types(scim):
    scim.create_user("alice")
    every = scim.post("/.search", {"schemas": [SEARCH], "count": 100}).get_json()
    assert every["totalResults"] == 2 + 12
    page = scim.post("/.search", {"schemas": [SEARCH], "startIndex": 2, "count": 3}).get_json()
    assert page["startIndex"] == 2
    assert page["itemsPerPage"] == 3
    assert [r["id"] for r in page["Resources"]] == [r["id"] for r in every["Resources"][1:4]]
    assert "userName" in page["Resources"][0]
    assert "displayName" in page["Resources"][1]


def test_root_search_sorts_across_both_resource_types(scim):
    for name in ("delta", "alpha"):
        scim.create_user(name, displayName=name.capitalize())
    scim.create_group("Bravo Team")

    def shown(**params):
        body = scim.post(
            "/.search", {"schemas": [SEARCH], "filter": "displayName pr", **params}
        ).get_json()
        assert body["totalResults"] == 2 + 1 + 12
        return [r["displayName"] for r in body["Resources"]]

    ascending = shown(sortBy="displayName")
    assert ascending == sorted(ascending, key=str.lower)
    assert ascending.index("Alpha") < ascending.index("Bravo Team") < ascending.index("Delta")
    descending = shown(sortBy="displayName", sortOrder="descending")
    assert descending == list(reversed(ascending))
    assert shown(sortBy="displayName", startIndex=3, count=4) == ascending[2:6]
    # userName is a User attribute: groups, which lack it, have no value and so come last
    # ascending and first descending (RFC 7644 §3.4.2.3).
    by_user_name = scim.post(
        "/.search", {"schemas": [SEARCH], "sortBy": "userName", "sortOrder": "descending"}
    ).get_json()["Resources"]
    assert all("userName" not in r for r in by_user_name[:-3])
    assert [r.get("userName") for r in by_user_name[-3:]] == ["main.contact", "delta", "alpha"]
    ascending_names = scim.post(
        "/.search", {"schemas": [SEARCH], "sortBy": "userName", "count": 3}
    ).get_json()["Resources"]
    assert [r.get("userName") for r in ascending_names] == ["alpha", "delta", "main.contact"]
    newest_first = scim.post(
        "/.search", {"schemas": [SEARCH], "sortBy": "meta.created", "sortOrder": "descending"}
    ).get_json()["Resources"]
    assert newest_first[0]["displayName"] == "Bravo Team"


@pytest.mark.parametrize("sort_by", ["id", "externalId", "emails", "meta.lastModified", "active"])
def test_root_search_sorts_on_any_attribute(scim, sort_by):
    scim.create_user("alice", externalId="a-1", emails=[{"value": "a@example.com"}])
    response = scim.post("/.search", {"schemas": [SEARCH], "sortBy": sort_by, "count": 5})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["totalResults"] == 2 + 12 and body["itemsPerPage"] == 5


def test_root_search_refuses_cursors(scim):
    response = scim.post("/.search", {"schemas": [SEARCH], "cursor": ""})
    assert response.status_code == 400
    assert response.get_json()["scimType"] == "invalidValue"
