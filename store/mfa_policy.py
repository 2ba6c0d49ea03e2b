"""Who must sign in with a second factor: each account's policy, set by its main contacts (and
support), and support's switch requiring one of everybody in the deployment."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from store import audit
from store.actors import Actor, ActorType
from store.db import Tx, now
from store.errors import Forbidden, InvalidInput, NotFound
from store.models.directory import Account
from store.models.security import DeploymentSetting
from store.profiles import counts_as_main_contact
from store.rows import locked

OPTIONAL = "optional"
MAIN_CONTACTS = "main_contacts"
EVERYONE = "everyone"
POLICIES = {
    OPTIONAL: "Optional: people may set up a second factor",
    MAIN_CONTACTS: "Required for main contacts",
    EVERYONE: "Required for everyone in the account",
}
REQUIRED_EVERYWHERE = "mfa_required"  # the deployment setting's key


def required_for(tx: Tx, user: Any) -> bool:
    """Whether the user must sign in with a second factor: everybody when support requires it
    deployment-wide; else as their account's policy says (main contacts: while they are one)."""
    if required_everywhere(tx):
        return True
    if user.account_id is None:
        return False
    policy = tx.scalar(select(Account.mfa_policy).where(Account.id == user.account_id))
    return policy == EVERYONE or (policy == MAIN_CONTACTS and counts_as_main_contact(user))


def policy_of(tx: Tx, actor: Actor, account_id: uuid.UUID) -> str:
    """The account's policy, for the people who may set it."""
    return _account(tx, actor, account_id).mfa_policy


def set_policy(tx: Tx, actor: Actor, account_id: uuid.UUID, policy: str) -> Account:
    """Set who in the account must use a second factor; the account's main contacts and support
    may (an identity provider's token may not: it is not a person of the account)."""
    if policy not in POLICIES:
        raise InvalidInput(f"The policy must be one of {', '.join(POLICIES)}.", field="policy")
    account = _account(tx, actor, account_id, lock=True)
    before = account.mfa_policy
    if before != policy:
        account.mfa_policy = policy
        audit.record(
            tx,
            actor,
            "account.mfa_policy_changed",
            target_type="account",
            target_id=account.id,
            account_id=account.id,
            changes={"mfa_policy": [before, policy]},
        )
    return account


def required_everywhere(tx: Tx) -> bool:
    """Whether support requires a second factor of every person in the deployment."""
    setting = tx.get(DeploymentSetting, REQUIRED_EVERYWHERE)
    return bool(setting and setting.value)


def require_everywhere(tx: Tx, actor: Actor, required: bool) -> None:
    """Support's switch: a second factor for every person (support included), or back to each
    account's policy."""
    if not actor.privileged:
        raise Forbidden("Only support staff require a second factor of everybody.")
    setting = locked(tx, DeploymentSetting, REQUIRED_EVERYWHERE)
    before = bool(setting and setting.value)
    if setting is None:
        setting = DeploymentSetting(key=REQUIRED_EVERYWHERE, value=required)
        tx.add(setting)
    setting.value, setting.changed_at = required, now()
    if before != required:
        audit.record(
            tx,
            actor,
            "deployment.mfa_required_changed",
            target_type="deployment",
            target_id=REQUIRED_EVERYWHERE,
            account_id=None,
            changes={"mfa_required": [before, required]},
        )
    tx.flush()


def _account(tx: Tx, actor: Actor, account_id: uuid.UUID, *, lock: bool = False) -> Account:
    own = actor.type == ActorType.USER and actor.manages_users and actor.account_id == account_id
    if not (actor.privileged or own):
        raise Forbidden("Only the account's main contacts and support set its sign-in policy.")
    account = locked(tx, Account, account_id) if lock else tx.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.")
    return account
