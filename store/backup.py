"""Backup and move: the whole directory as JSON Lines, read back into an empty database.

One line per row, `{"table": ..., "row": {...}}`, tables in the order their foreign keys need:
deployment settings, the CSC directory, accounts, applications, clients, groups, users and what
hangs off them (addresses, sign-in names, memberships, grants, consents, CSC requests, passkeys,
authenticator apps, recovery codes). Secrets stay behind: provisioning tokens and client
secrets are not written (give clients new ones with `rollcall client secret`, and federation
connections theirs again in the console), nor are sessions, codes, tokens, links, signing keys,
the outbox or logs, which a move does not carry. Password hashes, authenticator apps' secrets,
recovery codes' hashes and the CSC directory are, unless asked not to, so people keep their
passwords and second factors.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import Table, Uuid, func, insert, select, update

from store import audit
from store.actors import Actor
from store.db import Base, Database, UTCDateTime
from store.errors import Conflict, InvalidInput

TABLES = (
    "deployment_settings",
    "csc_directory",
    "accounts",
    "applications",
    "oauth_clients",
    "groups",
    "federation_connections",
    "federation_domains",
    "users",
    "user_emails",
    "user_phone_numbers",
    "sign_in_names",
    "memberships",
    "application_grants",
    "group_applications",
    "oauth_consents",
    "csc_access_requests",
    "passkeys",
    "totp_factors",
    "recovery_codes",
)
LEFT_OUT = {"oauth_clients": {"secret_hash"}}  # secrets stay behind
BLANKED = {"federation_connections": {"client_secret": ""}}  # required, so written empty
PASSWORDS = {"users": {"password_hash"}}
# Left out with the passwords: what proves a person or a CSC login besides the password.
SECRET_TABLES = {"totp_factors", "recovery_codes", "csc_directory"}
BATCH = 500


def export(database: Database, out: IO[str], *, passwords: bool = True) -> dict[str, int]:
    """Write every row of the directory's tables to `out`; returns the count per table."""
    counts: dict[str, int] = {}
    with database.transaction(write=False) as tx:
        for name in TABLES:
            if not passwords and name in SECRET_TABLES:
                continue
            table = _table(name)
            skipped = _skipped(name, passwords)
            columns = [c for c in table.columns if c.name not in skipped]
            counts[name] = 0
            blanked = BLANKED.get(name, {})
            for row in tx.execute(select(*columns)).mappings():
                line = {"table": name, "row": _dumped(row) | blanked}
                out.write(json.dumps(line) + "\n")
                counts[name] += 1
    return counts


def import_(database: Database, actor: Actor, lines: Iterable[str]) -> dict[str, int]:
    """Read an export into this database, which must hold no accounts or users yet (a move or a
    restore, not a merge); all of it or, on any error, nothing."""
    counts: dict[str, int] = {}
    with database.transaction() as tx:
        for name in ("accounts", "users"):
            if tx.scalar(select(func.count()).select_from(_table(name))):
                raise Conflict(f"This database already holds {name}: import into an empty one.")
        for name, rows in _batches(lines):
            table = _table(name)
            own = _self_references(table)
            loaded = [_loaded(table, row) for row in rows]
            tx.execute(insert(table), [r | dict.fromkeys(own) for r in loaded])
            kept = [c.name for c in table.columns if c.onupdate is not None]
            for column in own:  # a row may name one that comes after it
                for r in loaded:
                    if r.get(column) is not None:
                        values = {column: r[column]} | {k: r[k] for k in kept if k in r}
                        tx.execute(update(table).where(table.c.id == r["id"]).values(values))
            counts[name] = counts.get(name, 0) + len(rows)
        audit.record(
            tx,
            actor,
            "directory.imported",
            target_type="directory",
            target_id=None,
            account_id=None,
            changes=counts,
        )
    return counts


def _batches(lines: Iterable[str]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Rows per table in runs of up to BATCH, tables known and in order."""
    name, rows, seen = None, [], []  # type: ignore[var-annotated]
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            table, row = entry["table"], entry["row"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"Line {number} is not an export line: {exc}") from exc
        if table not in TABLES or not isinstance(row, dict):
            raise InvalidInput(f"Line {number} names no table of the directory: {table!r}.")
        if table != name:
            if rows:
                yield name, rows
            if table in seen or (seen and TABLES.index(table) < TABLES.index(seen[-1])):
                raise InvalidInput(f"Line {number}: {table} comes out of order.")
            name, rows = table, []
            seen.append(table)
        rows.append(row)
        if len(rows) >= BATCH:
            yield name, rows
            rows = []
    if rows:
        yield name, rows  # type: ignore[misc]


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _skipped(name: str, passwords: bool) -> set[str]:
    table = _table(name)
    generated = {c.name for c in table.primary_key if c.autoincrement is True}
    return (
        generated | LEFT_OUT.get(name, set()) | (set() if passwords else PASSWORDS.get(name, set()))
    )


def _self_references(table: Table) -> list[str]:
    return [c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]


def _dumped(row: Any) -> dict[str, Any]:
    return {key: _plain(value) for key, value in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def _loaded(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A row as the columns take it; unknown columns refused (an export of another version)."""
    unknown = set(row) - set(table.columns.keys())
    if unknown:
        raise InvalidInput(f"{table.name} has no column {', '.join(sorted(unknown))}.")
    loaded = {}
    for key, value in row.items():
        kind = table.columns[key].type
        if value is None:
            loaded[key] = None
        elif isinstance(kind, Uuid):
            loaded[key] = uuid.UUID(value)
        elif isinstance(kind, UTCDateTime):
            loaded[key] = datetime.fromisoformat(value)
        elif isinstance(value, dict) and set(value) == {"base64"}:
            loaded[key] = base64.b64decode(value["base64"])
        else:
            loaded[key] = value
    return loaded
