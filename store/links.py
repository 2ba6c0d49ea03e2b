"""Single-use emailed links: verify an address, reset a password, choose a first password,
confirm a new address.

The mail carries a random token; only its SHA-256 is kept. A link works once and until it expires;
issuing a new link for the same purpose makes the user's earlier ones expire, so only the newest
mail works.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from store.db import Tx, now
from store.errors import DomainError
from store.hashes import digest
from store.models.directory import User
from store.models.sign_in import UserLink

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
SET_PASSWORD = "set_password"
CHANGE_EMAIL = "change_email"

LIFETIMES = {
    VERIFY_EMAIL: timedelta(hours=24),
    RESET_PASSWORD: timedelta(hours=1),
    # A first password is chosen from the sign-in mail, which may wait in an inbox for days.
    SET_PASSWORD: timedelta(days=7),
    CHANGE_EMAIL: timedelta(hours=24),
}

REFUSALS = {
    "unknown": "This link is not valid. Check that you copied the whole address from the mail.",
    "used": "This link was already used; each link works once.",
    "expired": "This link has expired, or a newer mail replaced it.",
}


class LinkRefused(DomainError):
    """A link that cannot be used; `reason` is unknown, used or expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSALS[reason])
        self.reason = reason


def issue(tx: Tx, user: User, purpose: str, payload: dict[str, Any] | None = None) -> str:
    """A new link's token (for the mail); the user's earlier links of this purpose expire."""
    moment = now()
    tx.execute(
        update(UserLink)
        .where(
            UserLink.user_id == user.id,
            UserLink.purpose == purpose,
            UserLink.used_at.is_(None),
            UserLink.expires_at > moment,
        )
        .values(expires_at=moment)
        .execution_options(synchronize_session=False)
    )
    token, values = new_link(user.id, purpose, payload, moment)
    tx.add(UserLink(**values))
    return token


def new_link(
    user_id: Any, purpose: str, payload: dict[str, Any] | None = None, moment: Any = None
) -> tuple[str, dict[str, Any]]:
    """A fresh link's token (for the mail) and its row's values (the token stored hashed)."""
    moment = moment or now()
    token = secrets.token_urlsafe(32)
    values = {
        "purpose": purpose,
        "token_hash": digest(token),
        "user_id": user_id,
        "payload": payload or {},
        "created_at": moment,
        "expires_at": moment + LIFETIMES[purpose],
    }
    return token, values


def peek(tx: Tx, purpose: str, token: str) -> UserLink:
    """The usable link of a token, without using it up (to show the page it opens)."""
    link = tx.scalar(
        select(UserLink).where(UserLink.token_hash == digest(token), UserLink.purpose == purpose)
    )
    _check(link)
    assert link is not None
    return link


def consume(tx: Tx, purpose: str, token: str) -> UserLink:
    """Use the link up: of two concurrent uses, exactly one succeeds."""
    moment = now()
    used = tx.execute(
        update(UserLink)
        .where(
            UserLink.token_hash == digest(token),
            UserLink.purpose == purpose,
            UserLink.used_at.is_(None),
            UserLink.expires_at > moment,
        )
        .values(used_at=moment)
        .returning(UserLink.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if used is None:
        peek(tx, purpose, token)  # raises with the reason
        raise LinkRefused("used")
    link = tx.get(UserLink, used, populate_existing=True)
    assert link is not None
    return link


def _check(link: UserLink | None) -> None:
    if link is None:
        raise LinkRefused("unknown")
    if link.used_at is not None:
        raise LinkRefused("used")
    if link.expires_at <= now():
        raise LinkRefused("expired")
