"""Checks of single values against the columns they go into, so bad input never reaches SQL."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email

from store.db import Base
from store.errors import InvalidInput
from store.models.directory import fold

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode's control characters (category Cc)


def storable(text: str) -> bool:
    """Whether a text column can hold this text: valid Unicode (a \\ud800 escape decodes to half
    a character) without NUL (\\u0000), which PostgreSQL refuses outright."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def clean_text(
    model: type[Base], field: str, value: Any, *, required: bool = False, label: str | None = None
) -> str | None:
    """Strip a text value and check it fits its column; empty becomes None unless required."""
    label = label or field
    if value is None:
        if required:
            raise InvalidInput(f"{label} is required.", field=field)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{label} must be text.", field=field)
    value = value.strip()
    if not value:
        if required:
            raise InvalidInput(f"{label} is required.", field=field)
        return None
    if _CONTROL.search(value):
        raise InvalidInput(f"{label} must not contain control characters.", field=field)
    length = getattr(model.__table__.c[field].type, "length", None)
    if length is not None and len(value) > length:
        raise InvalidInput(f"{label} is longer than {length} characters.", field=field)
    folded = model.__table__.c.get(f"{field}_ci")
    if folded is not None:
        _check_folded(value, folded.type.length, label, field)
    return value


def clean_name(model: type[Base], field: str, value: Any, label: str) -> str:
    """A name that tells one thing from another (a userName, a token's name): `clean_text`,
    required, with nothing invisible in it. Zero-width and direction characters (Unicode's
    format characters, Cf) survive normalization and case folding, so "a\u200bb" would sit
    beside "ab" looking the same (SPEC §1 Users: sign-in names are unambiguous), and a
    right-to-left override shows a name backwards; addresses are refused them by
    email-validator."""
    name = clean_text(model, field, value, required=True, label=label)
    assert name is not None
    if any(unicodedata.category(char) == "Cf" for char in name):
        raise InvalidInput(
            f"{label} must not contain invisible characters (such as a zero-width space).",
            field=field,
        )
    _refuse_other_dots(name, label, field)
    return name


# Full stops that IDNA (UTS #46) reads as "." in a domain, and that NFKC folding leaves as they
# are (U+3002, and U+FF61, which folds to it): "ceo@b\u3002example" is ceo@b.example to a mail
# server and to applications, but not to `fold`.
_DOTS_IN_DOMAINS = frozenset("\u3002\uff61")


def _refuse_other_dots(text: str, label: str, field: str) -> None:
    """An address's domain (after its last "@") is written with ASCII full stops."""
    if "@" in text and _DOTS_IN_DOMAINS & set(text.rpartition("@")[2]):
        raise InvalidInput(
            f"{label} must write its domain with ASCII full stops (.), not ideographic ones.",
            field=field,
        )


def clean_email(value: Any, field: str = "emails") -> str:
    """An address a mail server takes (RFC 5321/5322, and RFC 6531's internationalized ones),
    read by a real parser (email-validator) without asking DNS: every door's addresses come
    through here. Kept as written (stripped); compared by its key (`fold`). Quoted local parts,
    IP-address domains and special-use names (`.local`, `.invalid`, `localhost`) are refused;
    `.test`, RFC 2606's name for tests, is accepted."""
    if not isinstance(value, str):
        raise InvalidInput(f"{value!r} is not an email address.", field=field)
    address = value.strip()
    if len(address) > EMAIL_LENGTH:
        raise InvalidInput(
            f"An email address is at most {EMAIL_LENGTH} characters long.", field=field
        )
    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidInput(f"{address!r} is not an email address. {exc}", field=field) from None
    _refuse_other_dots(address, "An email address", field)
    _check_folded(address, EMAIL_LENGTH, "An email address", field)
    return address


EMAIL_LENGTH = 320  # the columns of an address and of its case-folded key


def _check_folded(value: str, length: int, label: str, field: str) -> None:
    """Names and addresses are kept beside their case-folded key, which some letters lengthen
    (ß folds to ss): the key must fit its column as well."""
    if len(fold(value)) > length:
        raise InvalidInput(
            f"{label} is longer than {length} characters when compared without case "
            "(some letters, such as ß, count twice).",
            field=field,
        )


def clean_bool(value: Any, field: str, *, label: str | None = None) -> bool:
    """Booleans, also as the strings "true"/"false" that some identity providers send."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidInput(f"{label or field} must be true or false.", field=field)
