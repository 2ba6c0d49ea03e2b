"""A person's own profile: "Edit Basic Information", password change, email change (FAQ 6).

Changing the password needs the current one; changing the email address needs the current
password and takes effect only when the new address confirms it by its link, while the old
address is told.
"""

from __future__ import annotations

import uuid
from typing import Any

from store import (
    audit,
    links,
    outbox,
    passwords,
    rules,
    sessions,
    sign_in_names,
    user_fields,
    user_mail,
    users,
)
from store.actors import Actor, Door
from store.db import Tx, now
from store.errors import InvalidInput
from store.models.directory import User, fold, primary_entry
from store.rows import locked


def _self(user: User) -> Actor:
    return Actor.for_user(user, Door.PORTAL)


def _user(tx: Tx, user_id: uuid.UUID) -> User:
    user = locked(tx, User, user_id)
    if user is None:
        raise InvalidInput("No such user.")
    return user


def update_basic_information(
    tx: Tx,
    user_id: uuid.UUID,
    *,
    given_name: str | None,
    family_name: str | None,
    phone: str | None,
    preferred_contact_method: str,
) -> User:
    """Name, phone and preferred contact method; only what changed is written."""
    user = _user(tx, user_id)
    changes: dict[str, Any] = {
        "given_name": given_name,
        "family_name": family_name,
        "preferred_contact_method": preferred_contact_method,
    }
    phone = (phone or "").strip()
    first = user.phone_numbers[0] if user.phone_numbers else None
    if phone != (first.value if first else ""):
        others = [
            {"value": p.value, "type": p.type, "primary": False, "display": p.display}
            for p in user.phone_numbers[1:]
        ]
        mine = [{"value": phone, "type": first.type if first else "work", "primary": True}]
        changes["phone_numbers"] = (mine if phone else []) + others
    if preferred_contact_method == "phone" and not phone:
        raise InvalidInput(
            "Give a phone number to be contacted by phone.", field="preferred_contact_method"
        )
    clean = user_fields.normalize(tx, user, changes)
    diff = user_fields.changed(user, clean)
    if not diff:
        return user
    return users.update_user(tx, _self(user), user.id, diff)


def _check_current_password(user: User, current_password: str) -> None:
    if not passwords.verify_password(user.password_hash, current_password):
        raise InvalidInput("The current password is not correct.", field="current_password")


def change_password(tx: Tx, user_id: uuid.UUID, current_password: str, new_password: str) -> User:
    """A new password, proved by the current one; every session of the user ends (the page
    signs this browser in again)."""
    user = _user(tx, user_id)
    _check_current_password(user, current_password)
    if current_password == new_password:
        raise InvalidInput("The new password must differ from the current one.", field="password")
    user = users.update_user(tx, _self(user), user.id, {"password": new_password}, proven=True)
    sessions.end_all(tx, user)
    outbox.enqueue_email(tx, user, "password_changed", how="changed", user_name=user.user_name)
    return user


def request_email_change(tx: Tx, user_id: uuid.UUID, new_email: str, current_password: str) -> str:
    """Mail a confirmation link to the new address and a notice to the current one; returns
    the new address as it will be stored."""
    user = _user(tx, user_id)
    _check_current_password(user, current_password)
    asked = user_mail.ask_to_confirm(tx, _self(user), user, new_email, field="new_email")
    if asked is None:
        raise InvalidInput("That is already your email address.", field="new_email")
    return asked


def confirm_email_change(tx: Tx, token: str) -> User:
    """The new address followed its link: it becomes the primary (and verified) address."""
    link = links.consume(tx, links.CHANGE_EMAIL, token)
    user = _user(tx, link.user_id)
    actor = _self(user)
    rules.check_ownership(actor, user, ["emails"])
    new_email = link.payload["email"]
    sign_in_names.ensure_free(tx, actor, user, new_email, field="new_email")
    names_before = sign_in_names.names_held(user)
    old = primary_entry(user.emails)
    emails = [
        {"value": new_email, "type": old.type if old else "work", "primary": True},
        *(
            {"value": e.value, "type": e.type, "primary": False, "display": e.display}
            for e in user.emails
            if e is not old and fold(e.value) != fold(new_email)
        ),
    ]
    changes = user_fields.assign(user, user_fields.normalize(tx, user, {"emails": emails}))
    user.email_verified = True
    user.modified_at = now()
    tx.flush()
    sign_in_names.claim(tx, user, names_before)
    audit.record(
        tx,
        actor,
        "user.email_changed",
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes=changes,
    )
    return user
