"""Which second factors a person has enrolled: what sign-in asks once the password is right.

Kept apart from `store.mfa` (which counts wrong codes with `store.signin`) so that sign-in can
ask it too: a correct password resets the count of wrong attempts only for a person who gives no
second factor, else a guesser who knows the password would get 5 more tries at the code with
every sign-in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from store.db import Tx
from store.models.security import Passkey, RecoveryCode, TotpFactor

TOTP = "totp"
RECOVERY_CODES = "recovery_codes"
PASSKEY = "passkey"


def methods_of(tx: Tx, user: Any) -> set[str]:
    """The second factors the user can sign in with: `passkey` (a passkey or security key),
    `totp` (a confirmed authenticator app) and `recovery_codes` (unused ones left), read in one
    statement."""
    totp = exists().where(TotpFactor.user_id == user.id, TotpFactor.confirmed_at.is_not(None))
    codes = exists().where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    keys = exists().where(Passkey.user_id == user.id)
    has_totp, has_codes, has_keys = tx.execute(select(totp, codes, keys)).one()
    found = ((TOTP, has_totp), (RECOVERY_CODES, has_codes), (PASSKEY, has_keys))
    return {method for method, on in found if on}
