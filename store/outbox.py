"""Messages to send once the change that causes them commits: mails and logout notifications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from store.db import Tx, now
from store.models.directory import User
from store.models.logs import OutboxMessage

EMAIL = "email"
BACKCHANNEL_LOGOUT = "backchannel_logout"
# A page's request for a username, a reset or a verification link, answered after the response
# by whoever sends mail (store.recovery.ask and answer).
RECOVERY = "recovery_request"
_QUEUED = "rollcall.queued_kinds"


def enqueue(tx: Tx, kind: str, payload: dict[str, Any]) -> OutboxMessage:
    """Queue a message in the change's transaction; `queued_kinds` tells whoever committed it."""
    message = OutboxMessage(kind=kind, payload=payload)
    tx.add(message)
    mark_queued(tx.info, kind)
    return message


def mark_queued(info: dict[str, Any], kind: str) -> None:
    """Note in a change's `info` that it queues a message of `kind` (`enqueue` does; a change
    written without a session, `Database.insert_together`, passes its own `info`)."""
    info.setdefault(_QUEUED, set()).add(kind)


def queued_kinds(committed: Any) -> frozenset[str]:
    """The kinds of message a committed change queued (its `info`, a session's or that of rows
    written together)."""
    return frozenset(committed.info.get(_QUEUED, ()))


def enqueue_email(tx: Tx, user: User, template: str, **context: Any) -> OutboxMessage | None:
    """Queue a templated mail to the user's primary address; users without one get none."""
    address = user.primary_email
    if address is None:
        return None
    return enqueue(tx, EMAIL, email_payload(address, user.id, template, **context))


def email_payload(address: str, user_id: Any, template: str, **context: Any) -> dict[str, Any]:
    """What a templated mail to a user's address is queued as."""
    return {"template": template, "to": address, "user_id": str(user_id), **context}


def pending(tx: Tx, kind: str | None = None) -> Sequence[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return tx.scalars(query.order_by(OutboxMessage.id)).all()


def claim(tx: Tx, kind: str, limit: int, lease: timedelta) -> list[OutboxMessage]:
    """Take up to `limit` due messages of a kind for one sender: they are hidden from other
    senders for `lease` (a crashed sender's messages come back then) and count an attempt."""
    moment = now()
    rows = tx.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.kind == kind,
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.available_at <= moment,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.available_at = moment + lease
        row.attempts += 1
    return list(rows)


def backlog(tx: Tx) -> dict[str, tuple[int, float]]:
    """Per kind, how many messages wait and the age in seconds of the oldest (for monitoring:
    a growing backlog means a sender is down or failing)."""
    moment = now()
    rows = tx.execute(
        select(OutboxMessage.kind, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.sent_at.is_(None))
        .group_by(OutboxMessage.kind)
    ).all()
    return {kind: (count, (moment - oldest).total_seconds()) for kind, count, oldest in rows}
