"""Single-use recovery codes: ten per person, shown once, kept as the SHA-256 of the user's id and
the code (about 50 random bits each, so a fast digest is enough: the lockout stops guessing long
before), each marked used by one update so that it works once, whatever runs at the same time."""

from __future__ import annotations

import secrets
import uuid

from sqlalchemy import delete, func, select, update

from store import audit, outbox
from store.actors import Actor, Door
from store.db import Tx, now
from store.hashes import digest
from store.models.directory import User
from store.models.security import RecoveryCode

COUNT = 10
_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i to misread
_LENGTH = 10


def issue(tx: Tx, user: User) -> list[str]:
    """Ten new codes for the person, as shown (`abcde-23456`); their old codes stop working."""
    discard(tx, user.id)
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH)) for _ in range(COUNT)]
    tx.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(user.id, c)) for c in codes)
    tx.flush()
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def use(tx: Tx, user: User, code: str) -> bool:
    """Spend one of the person's codes (typed in any case, with or without the dash); the
    person is mailed how many are left. False for a code that is not theirs or was used."""
    typed = "".join((code or "").split()).replace("-", "").lower()
    if len(typed) != _LENGTH:
        return False
    used = tx.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(user.id, typed),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return False
    remaining = left(tx, user.id)
    audit.record(
        tx,
        Actor.for_user(user, Door.SSO),
        "user.recovery_code_used",
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes={"recovery_codes_left": remaining},
    )
    outbox.enqueue_email(tx, user, "recovery_code_used", left=remaining)
    return True


def left(tx: Tx, user_id: uuid.UUID) -> int:
    """How many of the person's codes are unused."""
    return tx.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )


def discard(tx: Tx, user_id: uuid.UUID) -> None:
    """The person's codes, used or not, are gone."""
    tx.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


def _hash(user_id: uuid.UUID, code: str) -> str:
    return digest(f"{user_id}:{code}")
