"""A user's SCIM JSON built straight from its stored values, for the hot reads and creations.

scim2-models validates and serializes a user in about a third of a millisecond; identity providers
read a user before every push, so the plain responses (no `attributes`/`excludedAttributes`) are
written here as dicts instead. The output is the one `mapping.user_to_scim` + `render` gives, key
for key and byte for byte (tests/scim/test_lean_reads.py compares them); requests with a projection
still take the scim2-models path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scim2_models import Address, Entitlement, Im, Photo, Role, X509Certificate

from scim.mapping import ENTERPRISE_FIELDS, NAME_FIELDS, OTHER_FIELDS, etag
from scim.schemas import COMMUNITY_URN, ENTERPRISE_URN
from store.listing import UserView

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST_RESPONSE_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

# Attribute order of the models (scim.schemas.User and its extensions), which the JSON follows.
_NAME_KEYS = (
    ("formatted", "formatted_name"),
    ("familyName", "family_name"),
    ("givenName", "given_name"),
    ("middleName", "middle_name"),
    ("honorificPrefix", "honorific_prefix"),
    ("honorificSuffix", "honorific_suffix"),
)
_PLAIN_KEYS = (
    ("displayName", "display_name"),
    ("nickName", "nick_name"),
    ("profileUrl", "profile_url"),
    ("title", "title"),
    ("userType", "user_type"),
    ("preferredLanguage", "preferred_language"),
    ("locale", "locale"),
    ("timezone", "timezone"),
)
_ENTERPRISE_KEYS = (
    ("employeeNumber", "employee_number"),
    ("costCenter", "cost_center"),
    ("organization", "organization"),
    ("division", "division"),
    ("department", "department"),
)
# Kept as the identity provider sent them, so each item still goes through its scim2-models
# class: the rare user that has them pays for it, and the output stays the library's.
# `ims` and `photos` come before addresses and groups, the others after.
_KEPT_BEFORE = {"ims": Im, "photos": Photo}
_KEPT_AFTER = {"entitlements": Entitlement, "roles": Role, "x509Certificates": X509Certificate}

assert {column for _, column in _NAME_KEYS} == set(NAME_FIELDS.values())
assert {column for _, column in _ENTERPRISE_KEYS} == set(ENTERPRISE_FIELDS)
assert {*_KEPT_BEFORE, *_KEPT_AFTER} == set(OTHER_FIELDS)


def user_json(view: UserView, base: str) -> dict[str, Any]:
    """The full representation of a user, as a GET answers it."""
    user = view.user
    document = head(USER_URN, "User", user, f"{base}/Users/{user.id}")
    document["userName"] = user.user_name
    names = [(key, getattr(user, column)) for key, column in _NAME_KEYS]
    if any(value for _, value in names):
        document["name"] = {key: value for key, value in names if value is not None}
    for key, column in _PLAIN_KEYS:
        value = getattr(user, column)
        if value is not None:
            document[key] = value
    document["active"] = user.active
    if view.emails:
        document["emails"] = [_entry(e) for e in view.emails]
    if view.phone_numbers:
        document["phoneNumbers"] = [_entry(p) for p in view.phone_numbers]
    other = user.other_attributes or {}
    for key, model in _KEPT_BEFORE.items():
        if other.get(key):
            document[key] = [_as_sent(model, item) for item in other[key]]
    if user.addresses:
        document["addresses"] = [_as_sent(Address, item) for item in user.addresses]
    if view.groups:
        document["groups"] = [_group(g, base) for g in view.groups]
    for key, model in _KEPT_AFTER.items():
        if other.get(key):
            document[key] = [_as_sent(model, item) for item in other[key]]
    enterprise = _enterprise(user, base)
    if enterprise is not None:
        document["schemas"].append(ENTERPRISE_URN)
        document[ENTERPRISE_URN] = enterprise
    document["schemas"].append(COMMUNITY_URN)
    document[COMMUNITY_URN] = _community(view)
    return document


def head(urn: str, resource_type: str, row: Any, location: str) -> dict[str, Any]:
    """What every resource begins with: its schema, id, externalId and meta."""
    document: dict[str, Any] = {"schemas": [urn], "id": str(row.id)}
    if row.external_id is not None:
        document["externalId"] = row.external_id
    document["meta"] = {
        "resourceType": resource_type,
        "created": moment(row.created_at),
        "lastModified": moment(row.modified_at),
        "location": location,
        "version": etag(row.version),
    }
    return document


def list_response(
    documents: list[dict[str, Any]],
    total: int,
    *,
    start_index: int = 1,
    by_cursor: bool = False,
    next_cursor: str | None = None,
) -> dict[str, Any]:
    """A ListResponse of a page holding these resources: paged by index, or by cursor (RFC
    9865: no startIndex, and the next page's cursor while there is one)."""
    response: dict[str, Any] = {"schemas": [LIST_RESPONSE_URN], "totalResults": total}
    if not by_cursor:
        response["startIndex"] = start_index
    response["itemsPerPage"] = len(documents)
    if next_cursor is not None:
        response["nextCursor"] = next_cursor
    response["Resources"] = documents
    return response


def moment(value: datetime) -> str:
    """A dateTime as pydantic writes a UTC one (the store hands back UTC only)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _entry(item: Any) -> dict[str, Any]:
    entry = {"value": item.value}
    if item.display is not None:
        entry["display"] = item.display
    if item.type is not None:
        entry["type"] = item.type
    entry["primary"] = item.primary
    return entry


def _group(group: Any, base: str) -> dict[str, Any]:
    return {
        "value": str(group.id),
        "$ref": f"{base}/Groups/{group.id}",
        "display": group.display_name,
        "type": "direct",
    }


def _as_sent(model: Any, item: dict[str, Any]) -> dict[str, Any]:
    return model.model_validate(item).model_dump(
        scim_ctx=None, exclude_none=True, by_alias=True, mode="json"
    )


def _enterprise(user: Any, base: str) -> dict[str, Any] | None:
    values = [(key, getattr(user, column)) for key, column in _ENTERPRISE_KEYS]
    if not any(value for _, value in values) and user.manager_id is None:
        return None
    extension = {key: value for key, value in values if value is not None}
    if user.manager_id is not None:
        extension["manager"] = {
            "value": str(user.manager_id),
            "$ref": f"{base}/Users/{user.manager_id}",
        }
    return extension


def _community(view: UserView) -> dict[str, Any]:
    user = view.user
    community: dict[str, Any] = {}
    if user.profile is not None:
        community["profile"] = user.profile
    if view.application_keys:
        community["applications"] = list(view.application_keys)
    community["noLongerAtAccount"] = user.no_longer_at_account
    community["preferredContactMethod"] = user.preferred_contact_method
    if user.last_login_at is not None:
        community["lastLogin"] = moment(user.last_login_at)
    return community
