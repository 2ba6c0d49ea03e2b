"""Authorization codes, tokens and consents of the OpenID Connect provider.

Every code and token is random and only its SHA-256 is stored. A code is used once: presenting it
again revokes every token it issued (RFC 6749 §4.1.2). Refresh tokens rotate: each use marks the
presented one used and issues the next in the same family; presenting a used one again means it
was stolen, so the whole family (refresh and access tokens) is revoked (RFC 9700 §4.14.2).

Refresh tokens are issued only for `offline_access`, access while the person is away (OIDC Core
§11), so they are tied to no SSO session and outlive a sign-out by design. The person sees which
applications hold one (`offline_grants`) and ends it there (`end_offline_access`); a password
change or reset and deactivation end them all.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, func, insert, or_, select, true, update

from store import audit, outbox, sign_in_names
from store.actors import Actor, Door
from store.assurance import Proof
from store.db import Tx, now
from store.hashes import digest
from store.models.directory import User, UserEmail, UserPhoneNumber, primary_value
from store.models.sign_in import AuthorizationCode, OAuthClient, OAuthConsent, OAuthToken
from store.statements import Prepared, Reads, fetch, run

CODE_LIFETIME = timedelta(seconds=60)
ACCESS = "access"
REFRESH = "refresh"


def new_secret() -> str:
    """A fresh code or refresh token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def save_code(
    tx: Tx,
    code: str,
    *,
    client_id: str,
    user_id: uuid.UUID,
    session_id: uuid.UUID | None,
    redirect_uri: str,
    scope: str,
    nonce: str | None,
    code_challenge: str | None,
    code_challenge_method: str | None,
    auth_time: datetime,
    proof: Proof | None = None,
) -> None:
    moment = now()
    proof = proof or Proof.password()
    tx.add(
        AuthorizationCode(
            code_hash=digest(code),
            client_id=client_id,
            user_id=user_id,
            session_id=session_id,
            redirect_uri=redirect_uri,
            scope=scope,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method=code_challenge_method,
            auth_time=auth_time,
            amr=proof.column(),
            acr=proof.acr,
            created_at=moment,
            expires_at=moment + CODE_LIFETIME,
        )
    )
    tx.flush()


def find_code(tx: Tx, code: str, client_id: str) -> AuthorizationCode | None:
    """The unused, unexpired code of this client; a replayed code revokes what it issued."""
    row = tx.scalar(
        select(AuthorizationCode)
        .where(AuthorizationCode.code_hash == digest(code))
        .with_for_update()
    )
    if row is None or row.client_id != client_id:
        return None
    if row.used_at is not None:
        # What the code issued, and what its refresh tokens have issued since (their family).
        families = select(OAuthToken.family_id).where(
            OAuthToken.code_id == row.id, OAuthToken.family_id.is_not(None)
        )
        revoke_where(tx, or_(OAuthToken.code_id == row.id, OAuthToken.family_id.in_(families)))
        return None
    if row.expires_at <= now():
        return None
    return row


def use_code(tx: Tx, row: AuthorizationCode) -> None:
    row.used_at = now()


@dataclass(frozen=True)
class Issued:
    """What a token is about, recorded with it."""

    client_id: str
    scope: str
    user_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    code_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    auth_time: datetime | None = None


def save_token(tx: Reads, kind: str, token: str, expires_in: int, about: Issued) -> None:
    """Keep a token's hash with what it is about (one prepared insert: issued on every sign-in,
    and on every grant a machine asks for)."""
    moment = now()
    values = about.__dict__ | {
        "id": uuid.uuid4(),
        "kind": kind,
        "token_hash": digest(token),
        "created_at": moment,
        "expires_at": moment + timedelta(seconds=expires_in),
    }
    run(tx, _INSERT_TOKEN, values)


# Every column a parameter (those not given: NULL), so that it is compiled and prepared once.
_INSERT_TOKEN = Prepared(
    insert(OAuthToken).values(
        {column.key: bindparam(column.key, value=None) for column in OAuthToken.__table__.columns}
    )
)


def find_token(tx: Tx, token: str, kind: str | None = None) -> OAuthToken | None:
    """A stored token by its value, live or not (the caller decides what a dead one means)."""
    query = select(OAuthToken).where(OAuthToken.token_hash == digest(token))
    if kind is not None:
        query = query.where(OAuthToken.kind == kind)
    return tx.scalar(query)


def token_holder(tx: Reads, token: str) -> Any:
    """A live access token of an active person, with what the standard claims say about them.

    One statement, built once, because userinfo is asked on every page load of some applications:
    the row has the token's `scope` and the user's `id`, names, `locale`, `timezone`,
    `modified_at`, `email_verified`, `primary_email` and `phone_number` (each the primary one, else
    the first).
    """
    rows = fetch(tx, _TOKEN_HOLDER, {"token_hash": digest(token), "moment": now()})
    return rows[0] if rows else None


def _token_holder_query() -> Select:
    email = primary_value(UserEmail, User.id)
    phone = primary_value(UserPhoneNumber, User.id)
    columns = (User.id, User.user_name, User.display_name, User.given_name, User.family_name)
    columns += (User.locale, User.timezone, User.modified_at)
    columns += (sign_in_names.email_verified().label("email_verified"),)
    columns += (email.label("primary_email"), phone.label("phone_number"))
    return (
        select(OAuthToken.scope, *columns)
        .join(User, User.id == OAuthToken.user_id)
        .where(
            OAuthToken.token_hash == bindparam("token_hash"),
            OAuthToken.kind == ACCESS,
            OAuthToken.revoked_at.is_(None),
            OAuthToken.expires_at > bindparam("moment", type_=OAuthToken.expires_at.type),
            User.active == true(),
        )
    )


_TOKEN_HOLDER = Prepared(_token_holder_query())


def is_live(row: OAuthToken | None) -> bool:
    return row is not None and row.revoked_at is None and row.expires_at > now()


def live_token(tx: Tx, token: str, kind: str = ACCESS) -> OAuthToken | None:
    row = find_token(tx, token, kind)
    return row if is_live(row) else None


def find_refresh(tx: Tx, token: str, client_id: str) -> OAuthToken | None:
    """The live refresh token of this client; a rotated one presented again revokes its family."""
    row = tx.scalar(
        select(OAuthToken)
        .where(OAuthToken.token_hash == digest(token), OAuthToken.kind == REFRESH)
        .with_for_update()
    )
    if row is None or row.client_id != client_id:
        return None
    if row.used_at is not None:
        revoke_family(tx, row)
        return None
    return row if is_live(row) else None


def rotate(tx: Tx, row: OAuthToken) -> None:
    """Mark a refresh token used; access tokens issued from it stay valid until they expire."""
    row.used_at = now()


def revoke_family(tx: Tx, row: OAuthToken) -> None:
    if row.family_id is not None:
        revoke_where(tx, OAuthToken.family_id == row.family_id)
    else:
        revoke_where(tx, OAuthToken.id == row.id)


def revoke(tx: Tx, row: OAuthToken) -> None:
    """RFC 7009: revoking a refresh token also revokes the access tokens of its grant."""
    if row.kind == REFRESH:
        revoke_family(tx, row)
    else:
        revoke_where(tx, OAuthToken.id == row.id)


def revoke_where(tx: Tx, condition: object) -> None:
    tx.execute(
        update(OAuthToken)
        .where(condition, OAuthToken.revoked_at.is_(None))  # type: ignore[arg-type]
        .values(revoked_at=now())
        .execution_options(synchronize_session="fetch")
    )


@dataclass(frozen=True)
class OfflineGrant:
    """An application that keeps access while the person is away: a live refresh token."""

    client_id: str
    client_name: str
    last_used: datetime  # when its newest refresh token was issued (each use issues one)


def offline_grants(tx: Tx, user_id: uuid.UUID) -> list[OfflineGrant]:
    """The applications holding a live refresh token of the user, by name."""
    rows = tx.execute(
        select(OAuthToken.client_id, OAuthClient.name, func.max(OAuthToken.created_at))
        .join(OAuthClient, OAuthClient.client_id == OAuthToken.client_id)
        .where(
            OAuthToken.user_id == user_id,
            OAuthToken.kind == REFRESH,
            OAuthToken.revoked_at.is_(None),
            OAuthToken.used_at.is_(None),
            OAuthToken.expires_at > now(),
        )
        .group_by(OAuthToken.client_id, OAuthClient.name)
        .order_by(OAuthClient.name)
    ).all()
    return [OfflineGrant(client_id, name, last_used) for client_id, name, last_used in rows]


def end_offline_access(tx: Tx, user: User, client_id: str) -> bool:
    """The person takes an application's offline access back: every token the application holds
    for them (refresh and access) is revoked and the application is told (back-channel logout
    naming the person, no session); False if it held none."""
    held = [g for g in offline_grants(tx, user.id) if g.client_id == client_id]
    revoke_where(tx, and_(OAuthToken.user_id == user.id, OAuthToken.client_id == client_id))
    # The consent goes with it: the application asks again before it holds access again.
    tx.execute(
        delete(OAuthConsent).where(
            OAuthConsent.user_id == user.id, OAuthConsent.client_id == client_id
        )
    )
    if held:
        outbox.enqueue(  # the application may hold a session of its own for the person
            tx, outbox.BACKCHANNEL_LOGOUT, {"user_id": str(user.id), "clients": [client_id]}
        )
        audit.record(
            tx,
            Actor.for_user(user, Door.PORTAL),
            "user.offline_access_ended",
            target_type="user",
            target_id=user.id,
            account_id=user.account_id,
            changes={"client_id": client_id},
        )
    return bool(held)


def consented(tx: Tx, user_id: uuid.UUID, client_id: str, scopes: Iterable[str]) -> bool:
    row = tx.get(OAuthConsent, (user_id, client_id))
    return row is not None and set(scopes) <= set(row.scopes)


def record_consent(tx: Tx, user_id: uuid.UUID, client_id: str, scopes: Iterable[str]) -> None:
    row = tx.get(OAuthConsent, (user_id, client_id))
    if row is None:
        tx.add(OAuthConsent(user_id=user_id, client_id=client_id, scopes=sorted(set(scopes))))
    else:
        row.scopes = sorted(set(row.scopes) | set(scopes))
        row.granted_at = now()


def purge_expired(tx: Tx, older_than: timedelta = timedelta(days=1)) -> None:
    """Forget codes and tokens that can no longer be used (kept a day for replay detection)."""
    limit = now() - older_than
    tx.execute(AuthorizationCode.__table__.delete().where(AuthorizationCode.expires_at < limit))
    tx.execute(
        OAuthToken.__table__.delete().where(
            or_(OAuthToken.expires_at < limit, OAuthToken.revoked_at < limit)
        )
    )
