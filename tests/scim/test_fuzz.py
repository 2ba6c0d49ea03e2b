"""Arbitrary JSON, bytes and query parameters at every SCIM endpoint an identity provider uses:
a SCIM error, never a server fault (no 5xx), on SQLite and PostgreSQL, answered by the
dispatcher and by Flask alike."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import form_body, fuzz_settings, json_values, no_server_fault, texts, values

pytestmark = pytest.mark.slow  # hundreds of requests

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

USER_ATTRIBUTES = [
    "userName", "externalId", "name", "displayName", "nickName", "profileUrl", "title",
    "userType", "preferredLanguage", "locale", "timezone", "active", "password", "emails",
    "phoneNumbers", "addresses", "ims", "photos", "roles", "entitlements", "groups", "id",
    "meta", ENTERPRISE, COMMUNITY,
]  # fmt: skip
PATHS = [
    "userName", "active", "name.givenName", 'emails[type eq "work"].value', "emails",
    "phoneNumbers", "members", 'members[value eq "x"]', f"{ENTERPRISE}:manager",
    f"{COMMUNITY}:profile", f"{COMMUNITY}:noLongerAtAccount", "displayName", "title",
]  # fmt: skip
FILTERS = [
    'userName eq "ada"', 'emails[type eq "work" and value co "@"]', "title pr",
    'meta.lastModified gt "2020-01-01T00:00:00Z"', f'{COMMUNITY}:profile eq "main"',
    'displayName sw "S"', "not (active eq true)", 'userName eq "a" or userName eq "b"',
]  # fmt: skip

# Values an identity provider would send, so that many requests get past the checks of the
# request into the store; each attribute is that or arbitrary JSON.
names = st.text(
    alphabet=st.characters(categories=["L", "N"], include_characters=".-_@"), min_size=1
)
addresses = st.one_of(st.builds("{}@example.com".format, names), texts)
plausible = {
    "userName": names,
    "externalId": names,
    "name": st.fixed_dictionaries({}, optional={"givenName": texts, "familyName": texts}),
    "displayName": texts,
    "title": texts,
    "active": st.one_of(st.booleans(), st.sampled_from(["True", "False"])),
    "password": texts,
    "emails": st.lists(
        st.fixed_dictionaries(
            {"value": addresses},
            optional={"type": st.sampled_from(["work", "home"]), "primary": st.booleans()},
        ),
        max_size=3,
    ),
    "phoneNumbers": st.lists(st.fixed_dictionaries({"value": texts}), max_size=2),
    ENTERPRISE: st.fixed_dictionaries(
        {}, optional={"department": texts, "manager": st.fixed_dictionaries({"value": texts})}
    ),
    COMMUNITY: st.fixed_dictionaries(
        {},
        optional={
            "profile": st.sampled_from(["client", "main", "knowledge", "guest", "x"]),
            "noLongerAtAccount": st.booleans(),
            "preferredContactMethod": st.sampled_from(["email", "phone", "fax"]),
        },
    ),
}


def _attribute(name: str) -> st.SearchStrategy[Any]:
    return st.one_of(plausible[name], json_values) if name in plausible else json_values


user_bodies = st.fixed_dictionaries(
    {
        "schemas": st.one_of(st.just([USER]), st.just([USER, ENTERPRISE]), json_values),
        "userName": _attribute("userName"),
    },
    optional={name: _attribute(name) for name in USER_ATTRIBUTES if name != "userName"},
)
group_bodies = st.fixed_dictionaries(
    {
        "schemas": st.one_of(st.just([GROUP]), json_values),
        "displayName": st.one_of(names, json_values),
    },
    optional={
        "externalId": json_values,
        "members": st.one_of(
            json_values, st.lists(st.fixed_dictionaries({"value": json_values}), max_size=3)
        ),
    },
)
patch_bodies = st.fixed_dictionaries(
    {
        "schemas": st.one_of(st.just([PATCH_OP]), json_values),
        "Operations": st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {"op": st.one_of(st.sampled_from(["add", "replace", "remove", "Add"]), texts)},
                    optional={
                        "path": st.one_of(st.sampled_from(PATHS), texts),
                        "value": st.one_of(
                            *(plausible[k] for k in ("userName", "active", "emails", COMMUNITY)),
                            json_values,
                        ),
                    },
                ),
                max_size=3,
            ),
        ),
    }
)
search_bodies = st.fixed_dictionaries(
    {"schemas": st.one_of(st.just([SEARCH]), json_values)},
    optional={
        "filter": st.one_of(st.sampled_from(FILTERS), texts, json_values),
        "attributes": json_values,
        "excludedAttributes": json_values,
        "sortBy": st.one_of(st.sampled_from(["userName", "meta.created", "x"]), json_values),
        "sortOrder": json_values,
        "startIndex": json_values,
        "count": json_values,
        "cursor": json_values,
    },
)
bulk_bodies = st.fixed_dictionaries(
    {
        "schemas": st.one_of(st.just([BULK]), json_values),
        "Operations": st.one_of(
            json_values,
            st.lists(
                st.fixed_dictionaries(
                    {
                        "method": st.one_of(
                            st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]), texts
                        )
                    },
                    optional={
                        "path": st.one_of(st.sampled_from(["/Users", "/Groups"]), texts),
                        "bulkId": json_values,
                        "version": json_values,
                        "data": st.one_of(user_bodies, group_bodies, patch_bodies, json_values),
                    },
                ),
                max_size=3,
            ),
        ),
    },
    optional={"failOnErrors": json_values},
)


def _encoded(body: Any) -> bytes:
    """JSON as a client writes it (NaN and infinities as Python's json does: no parser reads
    them), or bytes as they are."""
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def targets(scim: Any) -> dict[str, str]:
    """A user and a group to change."""
    user = scim.create_user("fuzzed.target")
    group = scim.create_group("Fuzzed group", [user["id"]])
    return {"user": user["id"], "group": group["id"]}


ENDPOINTS = [
    ("POST", "/Users", user_bodies),
    ("PUT", "/Users/{user}", user_bodies),
    ("PATCH", "/Users/{user}", patch_bodies),
    ("POST", "/Groups", group_bodies),
    ("PUT", "/Groups/{group}", group_bodies),
    ("PATCH", "/Groups/{group}", patch_bodies),
    ("POST", "/.search", search_bodies),
    ("POST", "/Users/.search", search_bodies),
    ("POST", "/Groups/.search", search_bodies),
    ("POST", "/Bulk", bulk_bodies),
]


@pytest.mark.parametrize(
    ("method", "path", "bodies"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _b in ENDPOINTS]
)
def test_every_body_is_answered(
    scim: Any, targets: dict[str, str], method: str, path: str, bodies: Any
) -> None:
    address = path.format(**targets)

    @fuzz_settings
    @given(
        body=st.one_of(bodies, json_values, st.binary(max_size=300)),
        if_match=st.one_of(st.none(), st.sampled_from(['W/"1"', "*", '"x"', ""])),
    )
    def send(body: Any, if_match: str | None) -> None:
        headers = {"If-Match": if_match} if if_match is not None else {}
        answer = scim.request(method, address, _encoded(body), headers=headers)
        no_server_fault(answer, f"{method} {address} {body!r}")

    send()


QUERY = {
    "filter": FILTERS,
    "attributes": ["userName", "emails.value", f"{COMMUNITY}:profile"],
    "excludedAttributes": ["members", "groups"],
    "sortBy": ["userName", "meta.created", "name.familyName"],
    "sortOrder": ["ascending", "descending"],
    "startIndex": ["1", "0", "-5"],
    "count": ["0", "1000", "1001"],
    "cursor": ["", "abc"],
}


@pytest.mark.parametrize("path", ["/Users", "/Groups", "/Users/{user}", "/Groups/{group}"])
def test_every_query_parameter_is_answered(scim: Any, targets: dict[str, str], path: str) -> None:
    address = path.format(**targets)
    known = {name: st.one_of(st.sampled_from(v), values) for name, v in QUERY.items()}

    @fuzz_settings
    @given(
        query=st.fixed_dictionaries({}, optional=known),
        extra=st.dictionaries(texts, values, max_size=1),
    )
    def ask(query: dict[str, Any], extra: dict[str, Any]) -> None:
        answer = scim.get(address, query_string=form_body(extra | query).decode("ascii"))
        no_server_fault(answer, f"GET {address}?{extra | query!r}")

    ask()


def test_any_id_in_a_path_is_answered(scim: Any) -> None:
    @fuzz_settings
    @given(
        resource_id=values,
        method=st.sampled_from(["GET", "DELETE", "PATCH", "PUT"]),
        kind=st.sampled_from(["Users", "Groups", "Schemas", "ResourceTypes"]),
    )
    def ask(resource_id: str | bytes, method: str, kind: str) -> None:
        raw = resource_id if isinstance(resource_id, bytes) else resource_id.encode()
        address = f"/{kind}/{quote(raw, safe='')}"
        body = b"{}" if method in ("PATCH", "PUT") else None
        answer = scim.request(method, address, body)
        no_server_fault(answer, f"{method} {address}")

    ask()
