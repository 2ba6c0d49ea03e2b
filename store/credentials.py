"""Provisioning tokens: bearer secrets an identity provider uses for SCIM.

The token is shown once; only its SHA-256 is stored (it is random and long, so a slow hash adds
nothing). Each belongs to one account, or is a support token that may address every account. A
token minted by a person in the console remembers them, and ends when they stop counting as a
main contact (SPEC §1 Users, "No Longer at Account": the tokens they minted end).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import bindparam, exists, select, update

from store import audit, rules
from store.actors import Actor, ActorType, Door
from store.db import Tx, now
from store.errors import Forbidden, NotFound
from store.hashes import digest
from store.models.directory import Account
from store.models.sign_in import ProvisioningCredential
from store.statements import Prepared, Reads, fetch
from store.validation import clean_name

if TYPE_CHECKING:
    from store.db import Database
    from store.statements import Condition

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
        name=clean_name(ProvisioningCredential, "name", name, "The token's name"),
        token_hash=digest(token),
        token_hint=token[: len(PREFIX) + 6],
        created_by=actor.label,
        minted_by_user_id=_person(actor),
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


def _person(actor: Actor) -> uuid.UUID | None:
    """The person minting a token in the console (a main contact, support staff); None for the
    operator."""
    if actor.type not in (ActorType.USER, ActorType.SUPPORT) or actor.is_provisioning_client:
        return None
    return uuid.UUID(actor.id) if actor.id else None


def revoke_minted_by(tx: Tx, actor: Actor, user_id: uuid.UUID, reason: str) -> int:
    """End every live token this person minted (they no longer count as a main contact, or are
    deleted); each revocation is audited with the reason. Returns how many ended."""
    ended = tx.execute(
        update(ProvisioningCredential)
        .where(
            ProvisioningCredential.minted_by_user_id == user_id,
            ProvisioningCredential.revoked_at.is_(None),
        )
        .values(revoked_at=now())
        .returning(
            ProvisioningCredential.id,
            ProvisioningCredential.account_id,
            ProvisioningCredential.name,
        )
        .execution_options(synchronize_session=False)
    ).all()
    for credential_id, account_id, name in ended:
        audit.record(
            tx,
            actor,
            "credential.revoked",
            target_type="credential",
            target_id=credential_id,
            account_id=account_id,
            changes={"name": name, "reason": reason},
        )
    return len(ended)


class LiveCredential(NamedTuple):
    """What a request needs of the credential it came with (a plain row, not a tracked one)."""

    id: uuid.UUID
    account_id: uuid.UUID | None
    is_support: bool
    name: str
    last_used_at: datetime | None
    minted_by_user_id: uuid.UUID | None  # a person's token, minted in the console


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


def actor(credential: LiveCredential, door: Door = Door.SCIM) -> Actor:
    """Who acts with a live credential: support's tooling, or an account's identity provider."""
    kind = ActorType.SUPPORT if credential.is_support else ActorType.CREDENTIAL
    return Actor(
        kind,
        f"token {credential.name}",
        door,
        str(credential.id),
        credential.account_id,
        manages_users=True,
        minted_by_person=credential.minted_by_user_id is not None,
    )


def needs_use_recorded(credential: LiveCredential) -> bool:
    last = credential.last_used_at
    return last is None or now() - last >= LAST_USED_RESOLUTION


def record_use(tx: Tx, credential_id: uuid.UUID) -> None:
    tx.execute(
        update(ProvisioningCredential)
        .where(
            ProvisioningCredential.id == credential_id,
            ProvisioningCredential.revoked_at.is_(None),  # a use refused is no use
        )
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


def credentials_of(
    tx: Tx, actor: Actor, account_id: uuid.UUID | None
) -> Sequence[ProvisioningCredential]:
    """An account's tokens, or (`account_id` None) support's, which only support may list."""
    if account_id is None:
        if not actor.privileged:
            raise Forbidden("Only support staff see support tokens.")
        is_theirs = ProvisioningCredential.account_id.is_(None)
    else:
        rules.ensure_visible(actor, account_id, "account")
        is_theirs = ProvisioningCredential.account_id == account_id
    query = select(ProvisioningCredential).where(is_theirs)
    return tx.scalars(query.order_by(ProvisioningCredential.created_at)).all()


_TABLE = ProvisioningCredential.__table__
LIVE_COLUMNS = tuple(_TABLE.c[name] for name in LiveCredential._fields)
LIVE = (_TABLE.c.token_hash == bindparam("token_hash")) & _TABLE.c.revoked_at.is_(None)
"""The credential of the token whose digest is the parameter `token_hash`, if it is live."""
_LIVE = Prepared(select(*LIVE_COLUMNS).where(LIVE))
_WITH_ACCOUNT = _TABLE.join(Account, Account.id == _TABLE.c.account_id)
_LIVE_IN_ACCOUNT = Prepared(
    select(*LIVE_COLUMNS, Account.kind).select_from(_WITH_ACCOUNT).where(LIVE)
)

STILL_LIVE = exists(
    select(1)
    .select_from(_WITH_ACCOUNT)
    .where(
        LIVE,
        _TABLE.c.id == bindparam("live_id"),
        _TABLE.c.name == bindparam("live_name"),
        _TABLE.c.account_id == bindparam("live_account_id"),
        Account.kind == bindparam("live_kind"),
    )
)
"""The credential of `token_hash` is live, and still the credential `live_id` named `live_name`
of the account `live_account_id` of kind `live_kind`: what a cached credential was when it was
read. Checked on the write's own snapshot, so a revocation holds for every request that starts
after it commits."""


class CachedCredential(NamedTuple):
    credential: LiveCredential
    account: AccountRow
    still_live: Condition  # for Database.insert_together's `only_if`


class CredentialCache:
    """The live credentials of accounts this process has lately seen, by their token's digest.

    An identity provider creating users sends the same token thousands of times; reading it
    before each create is a round trip. A write that trusts a cached credential checks, in its
    own statement, that it is still live and as cached (`still_live`); if not, nothing is
    written and the caller forgets it and reads it again. Entries live `ttl` seconds, at most
    `size` of them."""

    def __init__(self, size: int = 64, ttl: float = 60.0) -> None:
        self.size, self.ttl = size, ttl
        self._known: dict[str, tuple[float, CachedCredential]] = {}  # oldest read first
        self._changing = threading.Lock()  # a server may run requests in threads

    def find(self, db: Database, token: str) -> CachedCredential | None:
        """The live credential of an account this token belongs to, with its account; None
        for a token that is not live or belongs to no account (support)."""
        key = digest(token)
        kept = self._known.get(key)
        if kept is not None and time.monotonic() - kept[0] < self.ttl:
            return kept[1]
        with db.reading() as tx:
            found = find_live_in_account(tx, token)
        if found is None:
            self._known.pop(key, None)
            return None
        credential, account = found
        still = {
            "token_hash": key,
            "live_id": credential.id,
            "live_name": credential.name,
            "live_account_id": account.id,
            "live_kind": account.kind,
        }
        recalled = CachedCredential(credential, account, (STILL_LIVE, still))
        with self._changing:
            self._known.pop(key, None)  # read again: now the newest
            if len(self._known) >= self.size:
                self._known.pop(next(iter(self._known)))  # the oldest read
            self._known[key] = (time.monotonic(), recalled)
        return recalled

    def used(self, token: str) -> None:
        """The use of this token has just been recorded (`record_use`)."""
        key = digest(token)
        with self._changing:
            kept = self._known.get(key)
            if kept is not None:
                at, recalled = kept
                credential = recalled.credential._replace(last_used_at=now())
                self._known[key] = (at, recalled._replace(credential=credential))

    def forget(self, token: str) -> None:
        with self._changing:
            self._known.pop(digest(token), None)
