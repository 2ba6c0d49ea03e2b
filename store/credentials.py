"""Provisioning tokens: bearer secrets an identity provider uses for SCIM.

The token is shown once; only its SHA-256 is stored (it is random and long, so a slow hash adds
nothing). Each belongs to one account, or is a support token that may address every account.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, select, update

from store import audit, rules
from store.actors import Actor
from store.db import Reads, Tx, fetch, now
from store.errors import Forbidden, NotFound
from store.hashes import digest
from store.models import Account, ProvisioningCredential
from store.validation import clean_text

PREFIX = "rc_"
# Recording every use would turn each SCIM read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_credential(
    tx: Tx,
    actor: Actor,
    *,
    account_id: uuid.UUID | None,
    name: str,
) -> tuple[ProvisioningCredential, str]:
    """Make a token for the account (None: a support token); returns it with its secret."""
    if account_id is None:
        if not actor.privileged:
            raise Forbidden("Only support staff can create support tokens.")
    else:
        account = tx.get(Account, account_id)
        if account is None:
            raise NotFound("No such account.")
        rules.ensure_manages(actor, account)
        if actor.is_identity_provider:
            raise Forbidden("A provisioning token cannot create other tokens.")
    token = PREFIX + secrets.token_urlsafe(32)
    credential = ProvisioningCredential(
        account_id=account_id,
        is_support=account_id is None,
        name=clean_text(ProvisioningCredential, "name", name, required=True),
        token_hash=digest(token),
        token_hint=token[: len(PREFIX) + 6],
        created_by=actor.label,
    )
    tx.add(credential)
    tx.flush()
    audit.record(
        tx,
        actor,
        "credential.created",
        target_type="credential",
        target_id=credential.id,
        account_id=account_id,
        changes={"name": credential.name, "support": credential.is_support},
    )
    return credential, token


class LiveCredential(NamedTuple):
    """What a request needs of the credential it came with (a plain row, not a tracked one)."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    is_support: bool
    name: str
    last_used_at: datetime | None


def find_live(tx: Reads, token: str) -> LiveCredential | None:
    """The unrevoked credential this token belongs to, in one indexed query (every SCIM request
    asks)."""
    rows = fetch(tx, _LIVE, {"token_hash": digest(token)})
    return LiveCredential(*rows[0]) if rows else None


class AccountRow(NamedTuple):
    """What the rules of a change need of an account (a plain row, not a tracked one)."""

    id: uuid.UUID
    kind: str


def find_live_in_account(tx: Reads, token: str) -> tuple[LiveCredential, AccountRow] | None:
    """`find_live` for a credential of an account, with that account, in one query; None for a
    token that is not live or belongs to no account (support)."""
    rows = fetch(tx, _LIVE_IN_ACCOUNT, {"token_hash": digest(token)})
    if not rows:
        return None
    *credential, kind = rows[0]
    live = LiveCredential(*credential)
    return live, AccountRow(live.account_id, kind)


def needs_use_recorded(credential: LiveCredential) -> bool:
    last = credential.last_used_at
    return last is None or now() - last >= LAST_USED_RESOLUTION


def record_use(tx: Tx, credential_id: uuid.UUID) -> None:
    tx.execute(
        update(ProvisioningCredential)
        .where(ProvisioningCredential.id == credential_id)
        .values(last_used_at=now())
    )


def authenticate(tx: Tx, token: str) -> LiveCredential | None:
    """The live credential for this token, recording when it was last used."""
    credential = find_live(tx, token)
    if credential is not None and needs_use_recorded(credential):
        record_use(tx, credential.id)
    return credential


def revoke_credential(tx: Tx, actor: Actor, credential_id: uuid.UUID) -> ProvisioningCredential:
    credential = tx.get(ProvisioningCredential, credential_id)
    if credential is None:
        raise NotFound("No such token.")
    if credential.account_id is None:
        if not actor.privileged:
            raise NotFound("No such token.")
    else:
        rules.ensure_manages(actor, tx.get(Account, credential.account_id))
    if credential.revoked_at is None:
        credential.revoked_at = now()
        audit.record(
            tx,
            actor,
            "credential.revoked",
            target_type="credential",
            target_id=credential.id,
            account_id=credential.account_id,
            changes={"name": credential.name},
        )
    return credential


def credentials_of(tx: Tx, actor: Actor, account_id: uuid.UUID) -> Sequence[ProvisioningCredential]:
    rules.ensure_visible(actor, account_id, "account")
    query = (
        select(ProvisioningCredential)
        .where(ProvisioningCredential.account_id == account_id)
        .order_by(ProvisioningCredential.created_at)
    )
    return tx.scalars(query).all()


_TABLE = ProvisioningCredential.__table__
LIVE_COLUMNS = tuple(_TABLE.c[name] for name in LiveCredential._fields)
LIVE = (_TABLE.c.token_hash == bindparam("token_hash")) & _TABLE.c.revoked_at.is_(None)
"""The credential of the token whose digest is the parameter `token_hash`, if it is live."""
_LIVE = select(*LIVE_COLUMNS).where(LIVE)
_LIVE_IN_ACCOUNT = (
    select(*LIVE_COLUMNS, Account.kind).join(Account, Account.id == _TABLE.c.account_id).where(LIVE)
)
