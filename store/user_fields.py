"""The writable attributes of a user: how a value is checked, compared and stored.

Operations hand a mapping of field -> new value to `normalize`, compare it with `current`, and
write it with `assign`; the same three steps serve create, update and replace.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from store import passwords
from store.db import Tx, now
from store.errors import InvalidInput
from store.models.directory import (
    Application,
    User,
    UserEmail,
    UserPhoneNumber,
    fold,
    primary_email_key,
)
from store.validation import clean_bool, clean_email, clean_name, clean_text

TEXT_FIELDS = (
    "external_id",
    "given_name",
    "family_name",
    "middle_name",
    "honorific_prefix",
    "honorific_suffix",
    "formatted_name",
    "display_name",
    "nick_name",
    "title",
    "user_type",
    "preferred_language",
    "locale",
    "timezone",
    "profile_url",
    "employee_number",
    "cost_center",
    "organization",
    "division",
    "department",
)
# Cleared by a full replacement (SCIM PUT) when not given.
REPLACEABLE = (
    *TEXT_FIELDS,
    "emails",
    "phone_numbers",
    "addresses",
    "manager_id",
    "other_attributes",
)
# Attributes an identity provider may send that Rollcall keeps as given, without rules of its own.
OTHER_ATTRIBUTES = ("ims", "photos", "entitlements", "roles", "x509Certificates")
# Kept by a full replacement unless given: community state and credentials.
KEPT = (
    "user_name",
    "active",
    "profile",
    "no_longer_at_account",
    "preferred_contact_method",
    "password",
    "applications",
)
FIELDS = frozenset(REPLACEABLE + KEPT)
# The names people see for fields (the console's and profile's labels), used in refusals.
LABELS = {
    "given_name": "First Name",
    "family_name": "Last Name",
    "user_name": "Username",
    "external_id": "External ID",
    "profile_url": "Profile URL",
    "no_longer_at_account": "No Longer at Account",
    "emails": "Email",
    "phone_numbers": "Phone",
}
CONTACT_METHODS = ("email", "phone")


@dataclass(frozen=True)
class EmailAddress:
    value: str
    type: str | None = "work"
    primary: bool = False
    display: str | None = None


@dataclass(frozen=True)
class PhoneNumber:
    value: str
    type: str | None = "work"
    primary: bool = False
    display: str | None = None


def normalize(
    tx: Tx | None, user: User, changes: Mapping[str, Any], *, pushed: bool = False
) -> dict[str, Any]:
    """Check every value; unknown fields and bad values are refused before anything is written.
    `tx` reads the users and applications some values name.

    `pushed`: the values come from an identity provider, whose password policy governs.
    """
    unknown = sorted(set(changes) - FIELDS)
    if unknown:
        raise InvalidInput(f"Users have no field {', '.join(unknown)}.", field=unknown[0])
    clean: dict[str, Any] = {}
    for field, value in changes.items():
        if field in TEXT_FIELDS:
            clean[field] = clean_text(User, field, value, label=label(field))
        elif field == "user_name":
            clean[field] = clean_name(User, field, value, label(field))
        elif field == "emails":
            clean[field] = _multi(value, EmailAddress, UserEmail, clean_email)
        elif field == "phone_numbers":
            clean[field] = _multi(value, PhoneNumber, UserPhoneNumber, _clean_phone)
        elif field == "addresses":
            clean[field] = _addresses(value)
        elif field == "other_attributes":
            clean[field] = _other_attributes(value)
        elif field == "manager_id":
            clean[field] = _manager(tx, user, value)
        elif field in ("active", "no_longer_at_account"):
            clean[field] = clean_bool(value, field, label=label(field))
        elif field == "preferred_contact_method":
            clean[field] = _contact_method(value)
        elif field == "password":
            clean[field] = _password(
                value, clean.get("user_name") or changes.get("user_name") or user.user_name, pushed
            )
        elif field == "applications":
            clean[field] = _applications(tx, user, value)
        else:  # profile: checked against the account by rules.check_profile
            clean[field] = value
    return clean


def current(user: User, field: str) -> Any:
    """The stored value in the shape `normalize` produces, so the two compare."""
    if field == "emails":
        return [EmailAddress(e.value, e.type, e.primary, e.display) for e in user.emails]
    if field == "phone_numbers":
        return [PhoneNumber(p.value, p.type, p.primary, p.display) for p in user.phone_numbers]
    if field == "applications":
        return sorted(a.key for a in user.applications)
    if field == "password":
        return None
    return getattr(user, field)


def changed(user: User, clean: Mapping[str, Any]) -> dict[str, Any]:
    """Only what differs; a password given is always a change (hashes cannot be compared)."""
    result = {}
    for field, value in clean.items():
        shown = sorted(a.key for a in value) if field == "applications" else value
        if field == "password" or current(user, field) != shown:
            result[field] = value
    return result


def assign(user: User, clean: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Write the values; returns the audit form {field: [before, after]} (passwords hidden)."""
    before = {field: current(user, field) for field in clean}
    fill(user, clean)
    return {
        field: ["(hidden)", "(changed)"]
        if field == "password"
        else [_plain(value), _plain(current(user, field))]
        for field, value in before.items()
    }


def fill(user: User, clean: Mapping[str, Any]) -> None:
    """Write the values, as `assign` does, without telling what they replaced (a new user)."""
    for field, value in clean.items():
        if field == "emails":
            user.emails = [UserEmail(position=i, **_values(e)) for i, e in enumerate(value)]
            user.primary_email_ci = primary_email_key(user.emails)
        elif field == "phone_numbers":
            user.phone_numbers = [
                UserPhoneNumber(position=i, **_values(p)) for i, p in enumerate(value)
            ]
        elif field == "applications":
            user.applications = list(value)
        elif field == "password":
            user.password_hash = passwords.hash_password(value)
            user.password_changed_at = now()
        else:
            setattr(user, field, value)


def new_columns(
    values: Mapping[str, Any], clean: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """What `fill` writes into a new user, as plain rows for writing it without the ORM: the
    user's columns with the folded keys the model keeps beside them, its emails and its phone
    numbers (new_users.create_user_at_once; its tests compare the rows with the ORM's)."""
    if "applications" in clean:
        raise TypeError("applications are granted through the ORM")
    columns = dict(values)
    emails: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    for field, value in clean.items():
        if field == "emails":
            emails = [
                {"position": i, **_values(e), "value_ci": fold(e.value)}
                for i, e in enumerate(value)
            ]
        elif field == "phone_numbers":
            phones = [{"position": i, **_values(p)} for i, p in enumerate(value)]
        elif field == "password":
            columns["password_hash"] = passwords.hash_password(value)
            columns["password_changed_at"] = now()
        else:
            columns[field] = value
    columns["user_name_ci"] = fold(columns["user_name"])
    for name in ("given_name", "family_name"):
        columns[f"{name}_ci"] = fold(columns.get(name) or "")
    columns["primary_email_ci"] = primary_email_key(clean.get("emails") or ())
    return columns, emails, phones


def snapshot(user: User) -> dict[str, Any]:
    """The user's writable fields as plain JSON, for audit events of creation and deletion."""
    fields = (
        "user_name",
        *REPLACEABLE,
        "active",
        "profile",
        "no_longer_at_account",
        "preferred_contact_method",
        "applications",
    )
    values = {field: current(user, field) for field in fields}
    return {field: _plain(value) for field, value in values.items() if value not in (None, [], {})}


def _values(entry: EmailAddress | PhoneNumber) -> dict[str, Any]:
    """`dataclasses.asdict` of an entry, whose values are text and booleans, without the deep
    copy asdict makes (a tenth of a plain creation's own time)."""
    return dict(vars(entry))


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, EmailAddress | PhoneNumber):
        return _values(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def label(field: str) -> str:
    """A field's name as people see it: "First Name" for `given_name`."""
    return LABELS.get(field) or field.replace("_", " ").capitalize()


def _multi(value: Any, kind: type, model: type, check: Any) -> list[Any]:
    """A multi-valued attribute (emails, phoneNumbers): value, type, primary, display."""
    field = model.__tablename__.removeprefix("user_")
    name = label(field)
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{name} must be a list.", field=field)
    items = []
    for item in value:
        if isinstance(item, kind):
            item = _values(item)
        if not isinstance(item, Mapping) or "value" not in item:
            raise InvalidInput(f"Each {name} needs a value.", field=field)
        extra = set(item) - {"value", "type", "primary", "display"}
        if extra:
            raise InvalidInput(f"{name} has no attribute {', '.join(sorted(extra))}.", field=field)
        items.append(
            kind(
                value=check(item["value"], field),
                type=clean_text(model, "type", item.get("type"), label=f"{name} type"),
                primary=clean_bool(item.get("primary", False), f"{name} primary"),
                display=clean_text(model, "display", item.get("display"), label=f"{name} display"),
            )
        )
    if sum(1 for item in items if item.primary) > 1:
        raise InvalidInput(f"Only one {name} can be primary.", field=field)
    return items


def _clean_phone(value: Any, field: str) -> str:
    phone = clean_text(UserPhoneNumber, "value", value, required=True, label="phone number")
    assert phone is not None
    return phone


def _addresses(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    allowed = {
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
        "type",
        "primary",
    }
    if not isinstance(value, list) or not all(isinstance(a, Mapping) for a in value):
        raise InvalidInput("addresses must be a list of objects.", field="addresses")
    for address in value:
        extra = set(address) - allowed
        if extra:
            raise InvalidInput(
                f"addresses have no attribute {', '.join(sorted(extra))}.", field="addresses"
            )
        if not all(isinstance(v, str | bool | None) for v in address.values()):
            raise InvalidInput("address attributes must be text.", field="addresses")
    return [dict(a) for a in value]


def _other_attributes(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("other attributes must be an object.", field="other_attributes")
    unknown = sorted(set(value) - set(OTHER_ATTRIBUTES))
    if unknown:
        raise InvalidInput(f"Users have no attribute {', '.join(unknown)}.", field=unknown[0])
    for name, items in value.items():
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise InvalidInput(f"{name} must be a list of objects.", field=name)
    return {name: [dict(i) for i in items] for name, items in value.items() if items}


def _manager(tx: Tx, user: User, value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        manager_id = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise InvalidInput(f"Manager {value!r} is not a user id.", field="manager_id") from None
    manager = tx.get(User, manager_id)
    if manager is None or manager.account_id != user.account_id or manager_id == user.id:
        raise InvalidInput(
            f"Manager {value} is not another user of this account.", field="manager_id"
        )
    return manager_id


def _contact_method(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in CONTACT_METHODS:
        raise InvalidInput(
            "Preferred contact method must be email or phone.", field="preferred_contact_method"
        )
    return value.strip().lower()


def _password(value: Any, user_name: str, pushed: bool) -> str:
    if not isinstance(value, str):
        raise InvalidInput("password must be text.", field="password")
    if pushed:
        passwords.check_pushed(value)
    else:
        passwords.check_policy(value, user_name)
    return value


def _applications(tx: Tx, user: User, value: Any) -> list[Application]:
    """The applications of these keys; none, or the ones the user holds (a PUT sends them
    again), are known without a query."""
    if value is None:
        return []
    if not isinstance(value, Iterable) or isinstance(value, str | bytes):
        raise InvalidInput("applications must be a list of application keys.", field="applications")
    keys = sorted(set(value))
    held = user.__dict__.get("applications")  # when loaded (read with the user, or new)
    if not keys:
        return []
    if held is not None and sorted(a.key for a in held) == keys:
        return sorted(held, key=lambda a: a.key)
    found = tx.scalars(select(Application).where(Application.key.in_(keys))).all()
    missing = sorted(set(keys) - {a.key for a in found})
    if missing:
        raise InvalidInput(f"Unknown application {', '.join(missing)}.", field="applications")
    return sorted(found, key=lambda a: a.key)
