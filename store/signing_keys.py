"""Signing keys in the database: every server process signs with, and publishes, the same keys.

Rotation publishes the new key before it signs anything (relying parties refresh their JWKS
cache in the meantime) and keeps the old key published until what it signed has expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import func, or_, select

from store import audit
from store.actors import Actor
from store.db import Tx, now
from store.errors import Forbidden
from store.models.sign_in import SigningKey

ALGORITHM = "RS256"
# Longest life of anything a key signs (ID and access tokens live far less).
MAX_SIGNED_LIFETIME = timedelta(hours=24)
# How long a process signs with the key it found before asking the database again.
CHECK_EVERY = timedelta(seconds=60)

# This process's memory: imported keys by kid, and per database the signing key and until when.
_IMPORTED_KEPT = 8
_imported: dict[str, RSAKey] = {}
_current: dict[str, tuple[RSAKey, datetime]] = {}


def generate(signs_from: datetime) -> SigningKey:
    key = RSAKey.generate_key(2048, auto_kid=True)
    public = key.as_dict(private=False) | {"use": "sig", "alg": ALGORITHM}
    return SigningKey(
        kid=key.kid,
        algorithm=ALGORITHM,
        private_jwk=key.as_dict(private=True),
        public_jwk=public,
        signs_from=signs_from,
    )


def current(tx: Tx, at: datetime | None = None) -> SigningKey | None:
    """The key that signs now: the newest one whose time has come and that is not retired."""
    moment = at or now()
    query = (
        select(SigningKey)
        .where(
            SigningKey.signs_from <= moment,
            or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > moment),
        )
        .order_by(SigningKey.signs_from.desc())
        .limit(1)
    )
    return tx.scalar(query)


def ensure_current(tx: Tx, actor: Actor) -> SigningKey:
    """The signing key, made on first use (a new deployment has none)."""
    key = current(tx)
    if key is None:
        key = generate(signs_from=now())
        tx.add(key)
        tx.flush()
        _audit(tx, actor, "signing_key.created", key)
    return key


def signing_key(tx: Tx, actor: Actor) -> RSAKey:
    """The key to sign with now, ready for use; the database is asked at most once a minute.

    Every process switches to a rotated key within `CHECK_EVERY` of its `signs_from` (at once in
    the process that rotated); the key it replaces stays published long after, so what either
    signs verifies. Tokens are issued often, and this saves a query on each.
    """
    moment = now()
    place = str(tx.get_bind().url)
    known = _current.get(place)
    if known is None or known[1] <= moment:
        key = ensure_current(tx, actor)
        upcoming = tx.scalar(
            select(func.min(SigningKey.signs_from)).where(SigningKey.signs_from > moment)
        )
        until = min(moment + CHECK_EVERY, upcoming or moment + CHECK_EVERY)
        known = _current[place] = (private_key(key), until)
    return known[0]


def forget() -> None:
    """Ask the database again at the next signing (after keys were changed behind our back)."""
    _current.clear()


def rotate(tx: Tx, actor: Actor, *, delay: timedelta = timedelta(hours=1)) -> SigningKey:
    """Add a key that signs after `delay`; the current one retires then, published a day more."""
    if not actor.privileged:
        raise Forbidden("Only the operator rotates signing keys.")
    old = current(tx)
    new = generate(signs_from=now() + delay)
    tx.add(new)
    if old is not None:
        old.retired_at = new.signs_from
        old.published_until = new.signs_from + MAX_SIGNED_LIFETIME
    tx.flush()
    _audit(tx, actor, "signing_key.rotated", new)
    forget()
    return new


def published(tx: Tx) -> Sequence[SigningKey]:
    """Keys relying parties must know: upcoming, current, and retired ones still verifying."""
    query = (
        select(SigningKey)
        .where(or_(SigningKey.published_until.is_(None), SigningKey.published_until > now()))
        .order_by(SigningKey.signs_from)
    )
    return tx.scalars(query).all()


def jwks(tx: Tx) -> dict[str, Any]:
    return {"keys": [key.public_jwk for key in published(tx)]}


def private_key(key: SigningKey) -> RSAKey:
    """The key ready to sign, imported once per process: an RSA import costs tens of milliseconds.

    The kid is the key's RFC 7638 thumbprint, so one kid never names two different keys.
    """
    imported = _imported.get(key.kid)
    if imported is None:
        if len(_imported) >= _IMPORTED_KEPT:
            _imported.clear()  # rotations are rare; the current key is imported again at once
        imported = _imported[key.kid] = RSAKey.import_key(key.private_jwk)
    return imported


def _audit(tx: Tx, actor: Actor, action: str, key: SigningKey) -> None:
    audit.record(
        tx,
        actor,
        action,
        target_type="signing_key",
        target_id=key.kid,
        account_id=None,
        changes={"signs_from": key.signs_from.isoformat()},
    )
