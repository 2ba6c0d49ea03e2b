"""The audit log as people read it (support's screen, SPEC §1 Support staff): who did what to
whom, the target named rather than numbered, the changes as a short list. Names are read for a
whole page at once, one query per kind of target."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from store.db import Tx
from store.models.directory import Account, Application, Group, User
from store.models.logs import AuditEvent
from store.models.sign_in import OAuthClient, ProvisioningCredential

SHORTEST = 60  # characters of a value shown; the rest is cut with an ellipsis


@dataclass(frozen=True)
class Line:
    id: int
    at: datetime
    who: str
    door: str
    what: str
    action: str
    target: str
    account: str | None
    account_id: uuid.UUID | None
    changes: list[str]


def lines(tx: Tx, events: Sequence[AuditEvent]) -> list[Line]:
    """The page of events, readable."""
    names = _names(tx, events)
    accounts = _accounts(tx, {e.account_id for e in events if e.account_id})
    return [
        Line(
            id=e.id,
            at=e.at,
            who=e.actor_label,
            door=e.door,
            what=e.action.replace("_", " ").replace(".", ": ", 1),
            action=e.action,
            target=names.get((e.target_type, e.target_id)) or _gone(e),
            account=accounts.get(e.account_id) if e.account_id else None,
            account_id=e.account_id,
            changes=changes(e.changes),
        )
        for e in events
    ]


def changes(recorded: dict[str, Any]) -> list[str]:
    """{field: [before, after]} as "field: before → after", other values as "field: value"."""
    shown = []
    for field, value in (recorded or {}).items():
        label = field.replace("_", " ")
        if isinstance(value, list) and len(value) == 2:
            shown.append(f"{label}: {_short(value[0])} → {_short(value[1])}")
        else:
            shown.append(f"{label}: {_short(value)}")
    return shown


def _short(value: Any) -> str:
    if value is None or value == "" or value == []:
        text = "(none)"
    elif isinstance(value, list):
        text = ", ".join(_plain(v) for v in value)
    else:
        text = _plain(value)
    return text if len(text) <= SHORTEST else text[: SHORTEST - 1] + "…"


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("value") or value.get("display") or value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _person(user: User) -> str:
    name = f"{user.given_name or ''} {user.family_name or ''}".strip()
    return f"{name} ({user.user_name})" if name else user.user_name


# Each kind of target: its model, and how it is named.
_KINDS: dict[str, tuple[Any, Any]] = {
    "user": (User, _person),
    "account": (Account, lambda a: a.name),
    "group": (Group, lambda g: g.display_name),
    "client": (OAuthClient, lambda c: c.name),
    "application": (Application, lambda a: a.name),
    "credential": (ProvisioningCredential, lambda c: f"token {c.name}"),
}


def _names(tx: Tx, events: Sequence[AuditEvent]) -> dict[tuple[str, str], str]:
    wanted: dict[str, set[uuid.UUID]] = {}
    for e in events:
        if e.target_type in _KINDS:
            try:
                wanted.setdefault(e.target_type, set()).add(uuid.UUID(e.target_id))
            except ValueError:
                continue
    names = {}
    for kind, ids in wanted.items():
        model, name = _KINDS[kind]
        for row in tx.scalars(select(model).where(model.id.in_(ids))):
            names[(kind, str(row.id))] = name(row)
    return names


def _accounts(tx: Tx, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(tx.execute(select(Account.id, Account.name).where(Account.id.in_(ids))).all())


def _gone(event: AuditEvent) -> str:
    """A target that no longer exists (deleted), named by what its event kept, if anything."""
    kept = event.changes or {}
    for field in ("user_name", "display_name", "name", "key"):
        value = kept.get(field)
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and value:
            return f"{value} (deleted)" if event.action.endswith("deleted") else value
    if event.target_type in _KINDS:
        return f"a deleted {event.target_type}"
    return event.target_type.replace("_", " ")
