"""The casting layer: store rows to SCIM resources, SCIM resources to store fields."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from scim2_models import (
    Address,
    Extension,
    GroupMembership,
    InvalidValueException,
    Meta,
    PhoneNumber,
)

from scim.schemas import Community, Email, Enterprise, Group, Manager, Member, Name, UserResource
from store.listing import UserView
from store.models import directory
from store.user_fields import OTHER_ATTRIBUTES

NAME_FIELDS = {
    "given_name": "given_name",
    "family_name": "family_name",
    "middle_name": "middle_name",
    "honorific_prefix": "honorific_prefix",
    "honorific_suffix": "honorific_suffix",
    "formatted": "formatted_name",
}
PLAIN_FIELDS = (
    "display_name",
    "nick_name",
    "title",
    "user_type",
    "preferred_language",
    "locale",
    "timezone",
)
ENTERPRISE_FIELDS = ("employee_number", "cost_center", "organization", "division", "department")
OTHER_FIELDS = {
    "ims": "ims",
    "photos": "photos",
    "entitlements": "entitlements",
    "roles": "roles",
    "x509Certificates": "x509_certificates",
}
assert set(OTHER_FIELDS) == set(OTHER_ATTRIBUTES)


def etag(version: int) -> str:
    return f'W/"{version}"'


def user_to_scim(user: directory.User, base: str) -> Any:
    """The full SCIM representation of a user (projection is applied when dumping)."""
    return view_to_scim(UserView.of(user), base, user.account.name if user.account else None)


def view_to_scim(view: UserView, base: str, account: str | None) -> Any:
    """`user_to_scim` of a user read as a view; `account` is its account's name."""
    user = view.user
    names = {key: getattr(user, column) for key, column in NAME_FIELDS.items()}
    resource = UserResource(
        id=str(user.id),
        external_id=user.external_id,
        user_name=user.user_name,
        name=Name(**names) if any(names.values()) else None,
        profile_url=user.profile_url,
        active=user.active,
        emails=[
            Email(value=e.value, type=e.type, primary=e.primary, display=e.display)
            for e in view.emails
        ]
        or None,
        phone_numbers=[
            PhoneNumber(value=p.value, type=p.type, primary=p.primary, display=p.display)
            for p in view.phone_numbers
        ]
        or None,
        addresses=[Address.model_validate(a) for a in user.addresses] or None,
        groups=[
            GroupMembership(
                value=str(g.id), display=g.display_name, type="direct", ref=f"{base}/Groups/{g.id}"
            )
            for g in view.groups
        ]
        or None,
        meta=_meta("User", user, f"{base}/Users/{user.id}"),
        **{field: getattr(user, field) for field in PLAIN_FIELDS},
        **{
            attr: user.other_attributes[name]
            for name, attr in OTHER_FIELDS.items()
            if user.other_attributes.get(name)
        },
    )
    enterprise = {field: getattr(user, field) for field in ENTERPRISE_FIELDS}
    if user.manager_id is not None:
        enterprise["manager"] = Manager(
            value=str(user.manager_id), ref=f"{base}/Users/{user.manager_id}"
        )
    if any(enterprise.values()):
        resource[Enterprise] = Enterprise(**enterprise)
    resource[Community] = Community(
        account=account,
        profile=user.profile,
        applications=list(view.application_keys) or None,
        no_longer_at_account=user.no_longer_at_account,
        preferred_contact_method=user.preferred_contact_method,
        last_login=user.last_login_at,
    )
    return resource


def user_fields(resource: Any) -> dict[str, Any]:
    """Store fields from a SCIM user: every replaceable field, plus community state if sent."""
    name = resource.name or Name()
    fields: dict[str, Any] = {
        "user_name": resource.user_name,
        "external_id": resource.external_id,
        "profile_url": _text(resource.profile_url),
        **{column: getattr(name, key) for key, column in NAME_FIELDS.items()},
        **{field: _text(getattr(resource, field)) for field in PLAIN_FIELDS},
        "emails": _unique(_entry(e) for e in resource.emails or [] if _given(e.value)),
        "phone_numbers": _unique(
            _entry(p) for p in resource.phone_numbers or [] if _given(p.value)
        ),
        "addresses": [_dump(a) for a in resource.addresses or []],
        "other_attributes": {
            name: _unique((_dump(item) for item in getattr(resource, attr) or []), fold=False)
            for name, attr in OTHER_FIELDS.items()
            if getattr(resource, attr)
        },
    }
    enterprise = extension(resource, Enterprise) or Enterprise()
    fields |= {field: getattr(enterprise, field) for field in ENTERPRISE_FIELDS}
    fields["manager_id"] = enterprise.manager.value if enterprise.manager else None
    if resource.active is not None:
        fields["active"] = resource.active
    if resource.password:
        fields["password"] = resource.password
    community = extension(resource, Community)
    if community is not None:
        for field in ("profile", "no_longer_at_account", "preferred_contact_method"):
            value = getattr(community, field)
            if value is not None:
                fields[field] = value
        # Removing the last application (a PATCH `remove`) leaves the attribute unassigned.
        fields["applications"] = list(community.applications or [])
    return fields


def extension(resource: Any, kind: type[Extension]) -> Any:
    """`resource[kind]`, read as the attribute scim2-models keeps it in (named after the class):
    the path lookup `[]` makes costs a creation a fiftieth of its time."""
    return getattr(resource, kind.__name__)


def _given(value: Any) -> bool:
    """Whether an email or phone number has a value: clearing it (Entra ID replaces
    `emails[type eq "work"].value` with "" when the source attribute is emptied) removes it."""
    return value is not None and str(value).strip() != ""


def _unique(entries: Iterable[dict[str, Any]], fold: bool = True) -> list[dict[str, Any]]:
    """Each value once (RFC 7644 §3.5.2.1: adding a value already there changes nothing): the
    same value and type (compared by their keys, `directory.fold`, with `fold`) is one entry,
    primary if either copy was."""
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        key = (str(entry.get("value")), str(entry.get("type")))
        if fold:
            key = (directory.fold(key[0]), directory.fold(key[1]))
        if key not in kept:
            kept[key] = dict(entry)
        elif entry.get("primary"):
            kept[key]["primary"] = True
    return list(kept.values())


def group_to_scim(group: directory.Group, base: str, members: Sequence[uuid.UUID] | None) -> Group:
    """A group with its members' ids; `members` None leaves them out (excludedAttributes)."""
    return Group(
        id=str(group.id),
        external_id=group.external_id,
        display_name=group.display_name,
        members=[Member(value=str(m), type="User", ref=f"{base}/Users/{m}") for m in members]
        if members
        else None,
        meta=_meta("Group", group, f"{base}/Groups/{group.id}"),
    )


def member_ids(group: Group) -> list[uuid.UUID]:
    """The user ids a SCIM group names as members."""
    return [member_id(member.value) for member in group.members or []]


def member_id(value: Any) -> uuid.UUID:
    """A member's user id; a value that is no id is refused naming it (as the all-zero id it
    would be refused as "No user 00000000-…", which says nothing of what was sent)."""
    named = parse_id(value)
    if named.int == 0:
        raise InvalidValueException(
            detail=f"{str(value)[:80]!r} is not a user id: a group's members are named by "
            "their users' ids."
        )
    return named


def parse_id(value: Any) -> uuid.UUID:
    """A resource id from the wire; one that is not a UUID as Rollcall writes them (8-4-4-4-12
    hex digits; `{...}`, `urn:uuid:` and 32 bare digits are other spellings) belongs to nobody
    (the all-zero id)."""
    text = str(value)
    if len(text) != 36:
        return uuid.UUID(int=0)
    try:
        return uuid.UUID(text)
    except ValueError:
        return uuid.UUID(int=0)


def _meta(kind: str, row: Any, location: str) -> Meta:
    return Meta(
        resource_type=kind,
        created=row.created_at,
        last_modified=row.modified_at,
        version=etag(row.version),
        location=location,
    )


def _entry(item: Any) -> dict[str, Any]:
    return {
        "value": str(item.value) if item.value is not None else None,
        "type": _text(item.type),
        "primary": bool(item.primary),
        "display": item.display,
    }


def _dump(item: Any) -> dict[str, Any]:
    return item.model_dump(scim_ctx=None, exclude_none=True, by_alias=True, mode="json")


def _text(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    return str(value) if value is not None else None
