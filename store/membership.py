"""Attaching a person without an account (a guest, someone who registered) to an account: the
step support takes once it knows whose client the person is (SPEC §1 Support staff)."""

from __future__ import annotations

import uuid

from store import audit, rules, users
from store.actors import Actor
from store.db import Tx, now
from store.errors import Conflict, Forbidden, NotFound
from store.models.directory import Account, User
from store.profiles import AccountKind, default_profile


def attach_to_account(
    tx: Tx, actor: Actor, user_id: uuid.UUID, account_id: uuid.UUID, *, profile: str | None = None
) -> User:
    """Make a person without an account a user of this one, with the account kind's default
    profile unless another is named (checked as every profile change is). Only support staff
    attach people: a main contact cannot reach a person outside their account."""
    if not actor.privileged:
        raise Forbidden("Only support staff can attach a person to an account.")
    account = tx.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.")
    rules.ensure_may_add_users(actor, account.kind)  # an Office account's come from Office
    user = users.get_user(tx, actor, user_id, lock=True)
    if user.is_support:
        raise Conflict(f"{user.user_name} is support staff, who belong to no account.")
    if user.account_id is not None:
        if user.account_id == account.id:
            return user
        raise Conflict(
            f"{user.user_name} is already a user of {user.account.name}; a person belongs to one "
            "account."
        )
    kind = AccountKind(account.kind)
    chosen = rules.check_profile(actor, account, None, profile) if profile else None
    before = user.profile
    user.account_id = account.id
    user.profile = (chosen or default_profile(kind)).value
    user.modified_at = now()
    tx.flush()
    tx.expire(user, ["account"])
    audit.record(
        tx,
        actor,
        "user.attached_to_account",
        target_type="user",
        target_id=user.id,
        account_id=account.id,
        changes={"account": [None, account.name], "profile": [before, user.profile]},
    )
    return user
