"""Forgotten username or password, the reset that unlocks (SPEC §2, FAQ 5, 8), and the first
password chosen from the sign-in mail.

Asking never tells whether an address or username is known: the same answer comes back after
the same work. A page only queues the request (`ask`, one insert, whatever it names); who it names,
and what to mail them, is worked out after the response by whoever sends mail (`answer`), so
neither the answer nor its timing depends on whether the person exists.
A login reaches the one user it signs in (store.sign_in_names), and the mail goes to that
user's own address; while that address waits to be confirmed, the confirmation link goes instead.
"""

from __future__ import annotations

from typing import Any

from store import (
    audit,
    federation,
    links,
    outbox,
    registration,
    sessions,
    sign_in_names,
    users,
)
from store.actors import Actor, Door
from store.db import Tx
from store.errors import Forbidden
from store.models.directory import User, fold
from store.models.sign_in import UserLink

USERNAME = "username"  # Forgot Username: an email address
PASSWORD_RESET = "password_reset"  # Forgot Password: a username or an email address
VERIFICATION = "verification"  # the verification link again: a username or an email address


def ask(tx: Tx, what: str, login: str) -> None:
    """Queue a page's request (`what`: USERNAME, PASSWORD_RESET or VERIFICATION) for `answer`."""
    if what not in _ANSWERS:
        raise ValueError(f"Unknown recovery request {what!r}.")
    outbox.enqueue(tx, outbox.RECOVERY, {"what": what, "login": login})


def answer(tx: Tx, request: dict[str, Any]) -> None:
    """Do what a queued request asks, for whoever it names (nothing for nobody)."""
    what, login = request.get("what"), request.get("login")
    if what in _ANSWERS and isinstance(login, str):
        _ANSWERS[what](tx, login)


def _reached(tx: Tx, login: str) -> User | None:
    """The active user with an address whom a typed login signs in; when that address waits
    to be confirmed, the user is sent the confirmation link and None is returned."""
    user = sign_in_names.find(tx, login)
    if user is None or not user.active or user.primary_email is None:
        return None
    if not sign_in_names.confirmed(user):
        sign_in_names.send_verification(tx, user)
        return None
    return user


def send_username(tx: Tx, login: str) -> None:
    """Mail the username of the user an address (or username) signs in to that user."""
    user = _reached(tx, login)
    if user is not None:
        outbox.enqueue_email(tx, user, "forgot_username", user_names=[user.user_name])


def send_password_reset(tx: Tx, login: str) -> None:
    """Mail a reset link to the user a username or address signs in; a user whose organization
    must sign them in (issue 21) is told where instead."""
    user = _reached(tx, login)
    if user is None:
        return
    connection = federation.required_for(tx, user)
    if connection is not None:  # no Rollcall password to reset: the mail says where to sign in
        where = federation.where_to_sign_in(connection)
        outbox.enqueue_email(tx, user, "federated_sign_in", where=where, user_name=user.user_name)
        return
    token = links.issue(tx, user, links.RESET_PASSWORD)
    outbox.enqueue_email(
        tx, user, "reset_password", link=f"/reset/{token}", user_name=user.user_name
    )


def reset_password(tx: Tx, token: str, password: str) -> User:
    """Set a new password through a reset link: the account is unlocked, its address counts as
    verified (the link reached it), and every session of the user ends."""
    link = links.consume(tx, links.RESET_PASSWORD, token)
    user, actor, unlocked = _choose_password(tx, link, password)
    sessions.end_all(tx, user)
    _record(tx, actor, user, "user.password_reset", unlocked)
    outbox.enqueue_email(
        tx, user, "password_changed", how="reset", unlocked=unlocked, user_name=user.user_name
    )
    return user


def set_first_password(tx: Tx, token: str, password: str) -> User:
    """Choose the first password through the link of the sign-in mail of a new (or activated)
    user: as with a reset, the address counts as verified, since the link reached it."""
    link = links.consume(tx, links.SET_PASSWORD, token)
    user, actor, unlocked = _choose_password(tx, link, password)
    _record(tx, actor, user, "user.password_set", unlocked)
    return user


def _choose_password(tx: Tx, link: UserLink, password: str) -> tuple[User, Actor, bool]:
    user = tx.get(User, link.user_id)
    assert user is not None
    if not user.active:
        raise Forbidden(
            "This account has been deactivated; a main contact of your organization can "
            "activate it again."
        )
    connection = federation.required_for(tx, user)
    if connection is not None:
        raise Forbidden(federation.where_to_sign_in(connection))
    actor = Actor.for_user(user, Door.PORTAL)
    # The link, mailed to their address, proved it is them.
    user = users.update_user(tx, actor, user.id, {"password": password}, proven=True)
    unlocked = user.locked_at is not None
    user.locked_at = None
    user.failed_logins = 0
    sent_to = (link.payload or {}).get("email")
    if sent_to is None or fold(sent_to) == fold(user.primary_email or ""):
        user.email_verified = True  # the address the link reached, not one still to confirm
    return user, actor, unlocked


def _record(tx: Tx, actor: Actor, user: User, action: str, unlocked: bool) -> None:
    audit.record(
        tx,
        actor,
        action,
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes={"unlocked": unlocked},
    )


def reset_link_user(tx: Tx, token: str) -> User:
    """The user a reset link is for, if it can still be used (the page shows whose it is)."""
    link = links.peek(tx, links.RESET_PASSWORD, token)
    user = tx.get(User, link.user_id)
    assert user is not None
    return user


_ANSWERS = {
    USERNAME: send_username,
    PASSWORD_RESET: send_password_reset,
    VERIFICATION: registration.resend_verification,
}
