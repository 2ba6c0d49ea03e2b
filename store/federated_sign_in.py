"""A sign-in at an organization's provider: the round trip kept on the server, and the link
from the provider's claim to the user of that account (issue 21).

`begin` keeps what the callback must match (the SHA-256 of `state`, the `nonce`, the PKCE
verifier, where to go next) for a few minutes; `finish` consumes it, so a state works once.
`link` finds the person among the users *of the connection's account only*: one organization's
provider can never sign in, or vouch for, another account's user (SPEC §1 Sign-in names).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from store import audit, new_users, sign_in_names, signin
from store.actors import Actor, Door
from store.assurance import ACR_VALUES, PASSWORD, Proof
from store.db import Tx, now
from store.errors import Conflict, Forbidden, InvalidInput
from store.federation import FederationRefused
from store.hashes import digest
from store.models.directory import User, fold
from store.models.security import FederationConnection, FederationLogin

LIFETIME = timedelta(minutes=10)  # time to sign in at the provider and come back
# The method references of RFC 8176 §2 (its IANA registry): the only `amr` values passed on.
RFC8176_METHODS = frozenset({
    "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin",
    "pwd", "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
})  # fmt: skip


@dataclass(frozen=True)
class Pending:
    """A sign-in sent upstream: what goes in the authorization request, and what comes back."""

    connection_id: uuid.UUID
    state: str
    nonce: str
    code_verifier: str
    next_path: str


def begin(tx: Tx, connection: FederationConnection, next_path: str) -> Pending:
    """Start a sign-in at the connection's provider; stale ones are cleared on the way."""
    tx.execute(delete(FederationLogin).where(FederationLogin.expires_at < now()))
    pending = Pending(
        connection_id=connection.id,
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
        next_path=next_path,
    )
    tx.add(
        FederationLogin(
            state_hash=digest(pending.state),
            connection_id=connection.id,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
            next_path=next_path,
            expires_at=now() + LIFETIME,
        )
    )
    return pending


def finish(tx: Tx, state: str) -> tuple[Pending, FederationConnection]:
    """The sign-in this `state` started, consumed; refused when unknown, used or expired."""
    row = tx.scalar(
        delete(FederationLogin)
        .where(FederationLogin.state_hash == digest(state or ""))
        .returning(FederationLogin)
    )
    connection = tx.get(FederationConnection, row.connection_id) if row else None
    if row is None or row.expires_at < now() or connection is None:
        raise FederationRefused(
            "This sign-in was already used, has expired or was not started here. Start again "
            "from the sign-in page."
        )
    pending = Pending(row.connection_id, state, row.nonce, row.code_verifier, row.next_path)
    connection.domains  # loaded now: `link` may read them after this transaction  # noqa: B018
    return pending, connection


def link(tx: Tx, connection: FederationConnection, claims: dict[str, Any]) -> User:
    """The user of the connection's account the provider's claim names, allowed to sign in
    (created first when the connection creates users); its last sign-in is recorded."""
    value = claims.get(connection.claim)
    if not isinstance(value, str) or not value.strip():
        raise FederationRefused(
            f"{connection.display_name} did not say who you are (no {connection.claim} claim). "
            "Ask your IT department to release it to Rollcall."
        )
    user = _linked_user(tx, connection, value)
    if user is None and connection.create_users:
        user = _create(tx, connection, value, claims)
    if user is None:
        raise FederationRefused(
            f"{connection.display_name} signed you in, but no user of this organization in "
            "Rollcall is linked to you. Ask a main contact of your organization to add you."
        )
    if not user.active:
        raise FederationRefused(
            "This account has been deactivated. Ask a main contact of your organization."
        )
    signin.record_sign_in(tx, user)
    audit.record(
        tx,
        Actor.for_user(user, Door.SSO),
        "user.signed_in_federated",
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes={"connection": connection.display_name, "claim": connection.claim},
    )
    return user


def _linked_user(tx: Tx, connection: FederationConnection, value: str) -> User | None:
    query = select(User).where(User.account_id == connection.account_id)
    if connection.link_by == "userName":
        query = query.where(User.user_name_ci == fold(value.strip()))
    else:  # externalId is exact, as SCIM compares it (RFC 7643 §3.1 caseExact)
        query = query.where(User.external_id == value)
    return tx.scalar(query)


def _create(tx: Tx, connection: FederationConnection, value: str, claims: dict[str, Any]) -> User:
    """Just-in-time creation: a user with the account's default profile (SPEC §1 Users), whose
    address counts as verified only in a domain the organization owns. A refusal leaves the
    transaction to be rolled back."""
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    owned = {d.domain for d in connection.domains}
    if email and fold(email).rpartition("@")[2] not in owned:
        email = None  # another organization's address: never vouched for, never taken
    if connection.link_by == "userName":
        user_name = value.strip()
    else:
        preferred = claims.get("preferred_username")
        named = preferred if isinstance(preferred, str) and preferred.strip() else None
        user_name = named or email or value
    fields: dict[str, Any] = {
        "given_name": claims.get("given_name"),
        "family_name": claims.get("family_name"),
        "emails": [{"value": email, "primary": True}] if email else [],
    }
    if connection.link_by == "externalId":
        fields["external_id"] = value
    actor = Actor.system(Door.SSO, f"sign-in with {connection.display_name}"[:255])
    try:
        # The provider is the account's, bound to its domains as its identity provider is.
        sign_in_names.check_domains(tx, connection.account_id, {fold(str(user_name))})
        return new_users.create_user(
            tx,
            actor,
            account_id=connection.account_id,
            user_name=str(user_name),
            email_verified=bool(email) and _says_true(claims.get("email_verified", True)),
            send_sign_in_email=False,
            **{k: v for k, v in fields.items() if v},
        )
    except (Conflict, Forbidden, InvalidInput) as refused:
        raise FederationRefused(
            f"Rollcall could not create your user from {connection.display_name}: "
            f"{refused.message} Ask a main contact of your organization to add you."
        ) from None


def _says_true(value: Any) -> bool:
    """A boolean claim: true, or "true" as some providers write it; "false" is not true."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def proof_of(claims: dict[str, Any]) -> Proof:
    """How the person proved who they are upstream, as Rollcall's ID tokens will say: the
    provider's `amr` values that RFC 8176 registers (a password when it sends none), counted
    as multi-factor only when they hold two kinds of factor (or `mfa`); and its `acr` when it
    sends one, unless that is one of Rollcall's own levels, which only the methods decide.
    A provider's `user` is a presence test (RFC 8176), not the verification Rollcall's own
    passkeys mean by it, so it is left out."""
    sent = claims.get("amr")
    methods = (
        [m for m in sent if isinstance(m, str) and m in RFC8176_METHODS and m != "user"]
        if isinstance(sent, list)
        else []
    )
    acr = claims.get("acr")
    own = isinstance(acr, str) and acr.strip() and acr not in ACR_VALUES
    return Proof.of(methods or [PASSWORD], acr if own else None)
