"""The audit trail: one event per change, written in the change's own transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from store.actors import Actor
from store.db import Tx
from store.errors import Forbidden, InvalidInput
from store.models.logs import AuditEvent

LABEL_LENGTH = AuditEvent.__table__.c.actor_label.type.length


def record(tx: Tx, actor: Actor, action: str, **about: Any) -> AuditEvent:
    """Write the event of a change in its transaction; `about` as `event_values` takes it."""
    recorded = AuditEvent(**event_values(actor, action, **about))
    tx.add(recorded)
    return recorded


def event_values(
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: object,
    account_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of the event `record` writes (for writing it without a session). A label
    longer than its column (a token named at length: "token " and 255 characters) is cut to fit;
    the actor's id names the actor in full."""
    return {
        "actor_type": actor.type.value,
        "actor_id": actor.id,
        "actor_label": actor.label[:LABEL_LENGTH],
        "door": actor.door.value,
        "action": action,
        "account_id": account_id,
        "target_type": target_type,
        "target_id": str(target_id),
        "changes": changes or {},
    }


def events_for(tx: Tx, target_type: str, target_id: object) -> Sequence[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.target_type == target_type, AuditEvent.target_id == str(target_id))
        .order_by(AuditEvent.id)
    )
    return tx.scalars(query).all()


MAX_ID = 2**63 - 1  # the largest number an event can have (a BIGINT key)


def recent(
    tx: Tx,
    actor: Actor,
    *,
    account_id: uuid.UUID | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[AuditEvent]:
    """The newest events first, for support (optionally one account's, or one action prefix);
    `before_id` pages back. Main contacts see their own account's."""
    if not actor.privileged:
        if actor.account_id is None or not actor.manages_users:
            raise Forbidden("Only support staff and main contacts read the audit log.")
        account_id = actor.account_id
    query = select(AuditEvent)
    if account_id is not None:
        query = query.where(AuditEvent.account_id == account_id)
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    if before_id is not None:
        if not 0 < before_id <= MAX_ID:
            raise InvalidInput("That page of the audit log does not exist.", field="before")
        query = query.where(AuditEvent.id < before_id)
    return tx.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
