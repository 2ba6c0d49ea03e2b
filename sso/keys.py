"""The issuer name and the keys tokens are signed with (kept in the database by store)."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from store import signing_keys
from store.actors import Actor, Door
from store.db import Tx

ALGORITHM = signing_keys.ALGORITHM


def issuer() -> str:
    """ROLLCALL_ISSUER when set (production), else the URL this request came to."""
    configured = current_app.config["ROLLCALL_SETTINGS"].issuer
    return (configured or request.host_url).rstrip("/")


def signing_key(tx: Tx) -> RSAKey:
    """The key that signs now (made on first use of a new deployment)."""
    return signing_keys.signing_key(tx, Actor.system(Door.SSO, "token signing"))


def signing_key_set(tx: Tx) -> KeySet:
    return KeySet([signing_key(tx)])


def jwks(tx: Tx) -> dict[str, Any]:
    return signing_keys.jwks(tx)


def verification_keys(tx: Tx) -> KeySet:
    return KeySet.import_key_set(jwks(tx))


def id_token_claims(tx: Any, token: str | None) -> dict[str, Any] | None:
    """The claims of an ID token we signed (expired ones too, as the spec allows)."""
    if not token:
        return None
    try:
        decoded = jwt.decode(token, verification_keys(tx), algorithms=[ALGORITHM])
    except (JoseError, ValueError):
        return None
    if str(decoded.header.get("typ", "JWT")).lower() == "at+jwt":
        return None  # an access token is no ID token
    found = dict(decoded.claims)
    return found if found.get("iss") == issuer() else None
