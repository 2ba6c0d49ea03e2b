"""What identity providers pushed: each change request and its outcome, kept for 30 days.

Written in a transaction of its own after the request, so refused requests are logged too.
Passwords never reach the log; entries past the retention period go as new ones are written.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from time import monotonic
from typing import Any

from sqlalchemy import delete, select

from store import rules
from store.actors import Actor
from store.db import Tx, now
from store.models.logs import ProvisioningLogEntry

RETENTION = timedelta(days=30)
MAX_REQUEST_CHARS = 16_000
HIDDEN = "(hidden)"
PURGE_EVERY = 600.0  # seconds between the purges of one process
_next_purge = 0.0  # when this process purges next (time.monotonic): at its first write


def record(tx: Tx, **about: Any) -> ProvisioningLogEntry:
    """Write an entry in the transaction given; `about` as `entry_values` takes it."""
    written = ProvisioningLogEntry(**entry_values(**about))
    tx.add(written)
    if purge_due():
        purge(tx)
    return written


def entry_values(
    *,
    credential_id: str | None,
    account_id: uuid.UUID | None,
    method: str,
    path: str,
    status: int,
    request: Any,
    outcome: str | None,
    resource_id: str | None = None,
) -> dict[str, Any]:
    """The columns of the entry `record` writes (for writing it without a session)."""
    return {
        "credential_id": uuid.UUID(credential_id) if credential_id else None,
        "account_id": account_id,
        "method": method,
        "path": _printable(path[:1024]),
        "status": status,
        "request": _summary(request),
        "outcome": _printable(outcome) if outcome is not None else None,
        "resource_id": _printable(resource_id[:64]) if resource_id else None,
    }


def purge_due() -> bool:
    """Whether this write should also purge: a process's first, then one every ten minutes,
    often enough to keep 30 days and rarely enough to cost nothing a client feels. A purge
    undone with its request's transaction waits for the next one."""
    global _next_purge
    moment = monotonic()
    if moment < _next_purge:
        return False
    _next_purge = moment + PURGE_EVERY
    return True


def entries(
    tx: Tx, actor: Actor, account_id: uuid.UUID, *, limit: int = 100
) -> Sequence[ProvisioningLogEntry]:
    """The account's newest entries of the retention period, newest first."""
    rules.ensure_visible(actor, account_id, "account")
    query = (
        select(ProvisioningLogEntry)
        .where(
            ProvisioningLogEntry.account_id == account_id,
            ProvisioningLogEntry.at >= now() - RETENTION,
        )
        .order_by(ProvisioningLogEntry.at.desc(), ProvisioningLogEntry.id.desc())
        .limit(limit)
    )
    return tx.scalars(query).all()


def purge(tx: Tx) -> int:
    """Forget entries older than the retention period; returns how many went."""
    result = tx.execute(
        delete(ProvisioningLogEntry).where(ProvisioningLogEntry.at < now() - RETENTION)
    )
    return result.rowcount or 0


def redact(payload: Any) -> Any:
    """The payload with every password value hidden, however it is named (`password`, or
    qualified by its schema's URN, in any case), PATCH operations on it included."""
    if isinstance(payload, dict):
        hides = _names_password(str(payload.get("path", "")))
        return {
            key: HIDDEN
            if _names_password(key) or (hides and key.lower() == "value")
            else redact(value)
            for key, value in payload.items()
        }
    if isinstance(payload, list):
        return [redact(item) for item in payload]
    return payload


def _names_password(name: str) -> bool:
    """Whether an attribute name or PATCH path addresses the password: its last part, after
    a schema URN's colon or a sub-attribute's dot, is `password`."""
    return re.split(r"[:.]", name.strip())[-1].lower() == "password"


def _summary(request: Any) -> Any:
    if request is None:
        return None
    text = json.dumps(request, default=str)
    redacted = request
    if "password" in text.lower():  # what redact hides is named so (JSON keeps it ASCII)
        redacted = redact(request)
        text = json.dumps(redacted, default=str)
    if len(text) > MAX_REQUEST_CHARS:
        return {"truncated": True, "characters": len(text)}
    return redacted


def _printable(text: str) -> str:
    """Text as the log can keep it: a NUL (which a request path may carry) stands as U+FFFD."""
    return text.replace("\x00", "\ufffd")
