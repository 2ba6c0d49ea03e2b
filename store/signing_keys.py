"""Signing keys in the database: every server process signs with, and publishes, the same keys.

Rotation publishes the new key before it signs anything (relying parties refresh their JWKS
cache in the meantime) and keeps the old key published until what it signed has expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy import or_, select

from store import audit
from store.actors import Actor
from store.db import Tx, now
from store.errors import Forbidden
from store.models import SigningKey

ALGORITHM = "RS256"
# Longest life of anything a key signs (ID and access tokens live far less).
MAX_SIGNED_LIFETIME = timedelta(hours=24)


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
    return RSAKey.import_key(key.private_jwk)


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
