"""Mails a main contact (or support) sends to a user from the console: a password reset link, and
the confirmation of an address they changed (also sent when people change their own, from
`store.self_service`). The links are `store.links` ones, opened by the self-service pages. (The
sign-in mail of a new or activated user is sent by `store.users`.)"""

from __future__ import annotations

import uuid

from store import audit, links, outbox, rules, sign_in_names, users
from store.actors import Actor
from store.db import Tx
from store.errors import Conflict, InvalidInput
from store.models.directory import User, fold
from store.validation import clean_email


def send_password_reset(tx: Tx, actor: Actor, user_id: uuid.UUID) -> User:
    """Reset Password: the user is mailed a single-use reset link; nothing else changes."""
    user = users.get_user(tx, actor, user_id, related=True)
    rules.ensure_manages(actor, user.account)
    if not user.active:
        raise Conflict(f"{user.user_name} is inactive; activate them first.")
    if user.primary_email is None:
        raise InvalidInput(f"{user.user_name} has no email address to send a reset link to.")
    token = links.issue(tx, user, links.RESET_PASSWORD)
    outbox.enqueue_email(
        tx,
        user,
        "reset_password",
        link=f"/reset/{token}",
        user_name=user.user_name,
        sent_by=users.changed_by(actor, user),
    )
    audit.record(
        tx,
        actor,
        "user.password_reset_sent",
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes={"to": user.primary_email},
    )
    return user


def request_email_change(tx: Tx, actor: Actor, user_id: uuid.UUID, new_email: str) -> str | None:
    """A main contact changes a user's address (`ask_to_confirm`)."""
    user = users.get_user(tx, actor, user_id, related=True)
    rules.ensure_manages(actor, user.account)
    return ask_to_confirm(tx, actor, user, new_email, field="emails")


def ask_to_confirm(tx: Tx, actor: Actor, user: User, new_email: str, *, field: str) -> str | None:
    """An email change (SPEC §2 Password change): the new address gets a confirmation link, the
    address changes when it is followed, and the current address is told. Returns the new
    address as it will be stored, or None when it is the current one (nothing is sent)."""
    if fold(new_email.strip()) == fold(user.primary_email or ""):
        return None  # the current address (or, left empty, still none)
    rules.check_ownership(actor, user, ["emails"])
    new_email = clean_email(new_email, field)
    sign_in_names.ensure_free(tx, actor, user, new_email, field=field)
    token = links.issue(tx, user, links.CHANGE_EMAIL, {"email": new_email})
    outbox.enqueue(
        tx,
        outbox.EMAIL,
        {
            "template": "email_change_confirm",
            "to": new_email,
            "user_id": str(user.id),
            "link": f"/profile/email/{token}",
            "new_email": new_email,
            "user_name": user.user_name,
            "changed_by": users.changed_by(actor, user),
        },
    )
    outbox.enqueue_email(
        tx,
        user,
        "email_change_notice",
        new_email=new_email,
        user_name=user.user_name,
        changed_by=users.changed_by(actor, user),
    )
    audit.record(
        tx,
        actor,
        "user.email_change_requested",
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes={"new_email": new_email},
    )
    return new_email
