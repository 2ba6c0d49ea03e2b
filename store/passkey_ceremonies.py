"""What every WebAuthn ceremony shares: the relying party the keys are made for, and the
challenges handed to browsers.

A ceremony starts with a random challenge kept here (its SHA-256, for `CHALLENGE_LIFETIME`) and
ends by using it once: the browser's answer names its challenge in `clientDataJSON`, which is
looked up and deleted before anything else is checked, so a replayed answer finds nothing.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_client_data_json
from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

from store.db import Tx, now
from store.errors import InvalidInput
from store.hashes import digest
from store.models.directory import User
from store.models.security import Passkey, PasskeyChallenge

CHALLENGE_LIFETIME = timedelta(minutes=5)
TIMEOUT_MS = 120_000  # what the browser is told; the challenge outlives it

REGISTER = "register"
SECOND_FACTOR = "second_factor"
PASSWORDLESS = "passwordless"

UNREADABLE = "The browser's answer could not be read."
EXPIRED = "This request has expired or was already used. Please start again."


@dataclass(frozen=True)
class RelyingParty:
    """Who the keys are made for (WebAuthn's relying party): the host name of the issuer's URL as
    the RP id, and its origin, which every browser answer must come from."""

    id: str
    origin: str
    name: str = "Success Community"

    @classmethod
    def of(cls, url: str) -> RelyingParty:
        """The relying party of the OpenID Provider's public URL (ROLLCALL_ISSUER, or the URL a
        request came to)."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise InvalidInput(f"Passkeys need an http(s) address, not {url!r}.")
        host = parts.hostname
        if _is_address(host):
            raise InvalidInput(
                f"Passkeys need a host name, not the address {host}: open Rollcall by its name "
                "(http://localhost in development) or set ROLLCALL_ISSUER."
            )
        default_port = 443 if parts.scheme == "https" else 80
        port = f":{parts.port}" if parts.port and parts.port != default_port else ""
        return cls(id=host, origin=f"{parts.scheme}://{host}{port}")


def issue_challenge(tx: Tx, purpose: str, user: User | None) -> bytes:
    """A new challenge for a ceremony of this person (none: a passwordless sign-in); expired
    ones are swept away on the way."""
    moment = now()
    tx.execute(
        delete(PasskeyChallenge)
        .where(PasskeyChallenge.expires_at <= moment)
        .execution_options(synchronize_session=False)
    )
    challenge = secrets.token_bytes(32)
    tx.add(
        PasskeyChallenge(
            challenge_hash=digest(bytes_to_base64url(challenge)),
            purpose=purpose,
            user_id=user.id if user else None,
            created_at=moment,
            expires_at=moment + CHALLENGE_LIFETIME,
        )
    )
    tx.flush()
    return challenge


def use_challenge(tx: Tx, client_data_json: bytes, purpose: str, user: User | None) -> bytes:
    """The challenge the answer names, used up: it must have been given for this ceremony and
    person, and not have expired."""
    try:
        challenge = parse_client_data_json(client_data_json).challenge
    except Exception as error:  # py_webauthn lets whatever json and base64 raise through
        raise InvalidInput(UNREADABLE) from error
    whose = (
        PasskeyChallenge.user_id.is_(None) if user is None else PasskeyChallenge.user_id == user.id
    )
    used = tx.execute(
        delete(PasskeyChallenge)
        .where(
            PasskeyChallenge.challenge_hash == digest(bytes_to_base64url(challenge)),
            PasskeyChallenge.purpose == purpose,
            PasskeyChallenge.expires_at > now(),
            whose,
        )
        .returning(PasskeyChallenge.challenge_hash)
        .execution_options(synchronize_session=False)
    ).scalar()
    if used is None:
        raise InvalidInput(EXPIRED)
    return challenge


def descriptors(keys: Sequence[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    """The keys as a browser is told of them (to use one, or not to make one twice)."""
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(key.credential_id),
            transports=[AuthenticatorTransport(t) for t in key.transports or []] or None,
        )
        for key in keys
    ]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
