"""SSO sessions: one per signed-in browser, found by the SHA-256 of its cookie token.

A session ends after `IDLE` without use or `ABSOLUTE` after sign-in, whichever comes first, as
Keycloak's SSO Session Idle and Max do. Ending one tells every application signed in through it
(back-channel logout, queued in the outbox and delivered after commit).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store import audit, outbox
from store.actors import Actor, Door
from store.assurance import Proof
from store.db import Tx, now
from store.errors import NotFound
from store.hashes import digest
from store.models.directory import User
from store.models.sign_in import OAuthClient, OAuthToken, SsoSession, SsoSessionClient

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=10)
TOUCH_EVERY = timedelta(minutes=1)


def start(
    tx: Tx,
    user: User,
    proof: Proof | None = None,
    *,
    user_agent: str | None = None,
    ip_address: str | None = None,
) -> tuple[SsoSession, str]:
    """A new session for a user who just proved who they are (by a password unless `proof` says
    otherwise); returns it with its cookie token."""
    token = secrets.token_urlsafe(32)
    moment = now()
    proof = proof or Proof.password()
    session = SsoSession(
        user_id=user.id,
        token_hash=digest(token),
        created_at=moment,
        auth_time=moment,
        last_seen_at=moment,
        expires_at=moment + ABSOLUTE,
        amr=proof.column(),
        acr=proof.acr,
        user_agent=(user_agent or "")[:512] or None,
        ip_address=(ip_address or "")[:64] or None,
    )
    tx.add(session)
    tx.flush()
    return session, token


def renew(
    tx: Tx, session_id: uuid.UUID, proof: Proof | None = None
) -> tuple[SsoSession, str] | None:
    """The same person proved who they are again (`prompt=login`, `max_age`, a second factor):
    the session goes on, so the applications signed in through it stay signed in, with a new
    authentication time, the new proof and a new cookie token (the old one stops working). None
    if the session has ended."""
    session = tx.get(SsoSession, session_id)
    if session is None or session.ended_at is not None:
        return None
    token = secrets.token_urlsafe(32)
    proof = proof or Proof.password()
    session.token_hash = digest(token)
    session.auth_time = session.last_seen_at = now()
    session.amr, session.acr = proof.column(), proof.acr
    tx.flush()
    return session, token


def find(tx: Tx, token: str | None) -> SsoSession | None:
    """The live session of a cookie token, or None (unknown, ended, idle or past its maximum)."""
    if not token:
        return None
    return tx.scalar(
        select(SsoSession).where(SsoSession.token_hash == digest(token), *_live(now()))
    )


def _live(moment: datetime) -> tuple[ColumnElement[bool], ...]:
    """What makes a session live at `moment`: not ended, not past its maximum, used within
    `IDLE`."""
    return (
        SsoSession.ended_at.is_(None),
        or_(SsoSession.expires_at.is_(None), SsoSession.expires_at > moment),
        SsoSession.last_seen_at > moment - IDLE,
    )


def proof_of(session: SsoSession) -> Proof:
    """How the person of this session proved who they are."""
    return Proof.stored(session.amr, session.acr)


def has_ended(tx: Tx, session_id: uuid.UUID) -> bool:
    """Whether the person signed out of this session (or was signed out): what it issued
    afterwards, such as a code not yet exchanged, must not turn into tokens."""
    ended = tx.scalar(select(SsoSession.ended_at).where(SsoSession.id == session_id))
    return ended is not None


def needs_touch(session: SsoSession) -> bool:
    return session.last_seen_at + TOUCH_EVERY <= now()


def touch(tx: Tx, session_id: uuid.UUID) -> None:
    """Record use, so the idle timeout counts from now (at most once a minute per session)."""
    tx.execute(
        update(SsoSession)
        .where(SsoSession.id == session_id, SsoSession.ended_at.is_(None))
        .values(last_seen_at=now())
        .execution_options(synchronize_session=False)
    )


def add_client(tx: Tx, session_id: uuid.UUID, client_id: str) -> None:
    """Remember that an application signed in through this session (for back-channel logout)."""
    table = SsoSessionClient.__table__
    values = {"session_id": session_id, "client_id": client_id, "created_at": now()}
    dialect = postgresql if tx.bind.dialect.name == "postgresql" else sqlite
    tx.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def end(tx: Tx, session_id: uuid.UUID) -> bool:
    """End one session (sign-out): its tokens are revoked and its applications told."""
    moment = now()
    ended = tx.execute(
        update(SsoSession)
        .where(SsoSession.id == session_id, SsoSession.ended_at.is_(None))
        .values(ended_at=moment)
        .returning(SsoSession.user_id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if ended is None:
        return False
    tx.execute(
        update(OAuthToken)
        .where(OAuthToken.session_id == session_id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=moment)
        .execution_options(synchronize_session=False)
    )
    outbox.enqueue(
        tx, outbox.BACKCHANNEL_LOGOUT, {"user_id": str(ended), "sessions": [str(session_id)]}
    )
    return True


@dataclass(frozen=True)
class SignedInBrowser:
    """A live session as its person sees it: where, since when, how, and what it opened."""

    id: uuid.UUID
    signed_in_at: datetime
    last_seen_at: datetime
    user_agent: str | None
    ip_address: str | None
    proof: Proof
    applications: tuple[str, ...]


def live_for(tx: Tx, user_id: uuid.UUID) -> list[SignedInBrowser]:
    """The person's live sessions, most recently used first, with the applications each reached."""
    sessions = tx.scalars(
        select(SsoSession)
        .where(SsoSession.user_id == user_id, *_live(now()))
        .order_by(SsoSession.last_seen_at.desc())
    ).all()
    reached: dict[uuid.UUID, list[str]] = {s.id: [] for s in sessions}
    if sessions:
        rows = tx.execute(
            select(SsoSessionClient.session_id, OAuthClient.name)
            .join(OAuthClient, OAuthClient.client_id == SsoSessionClient.client_id)
            .where(SsoSessionClient.session_id.in_(list(reached)))
            .order_by(OAuthClient.name)
        ).all()
        for session_id, name in rows:
            reached[session_id].append(name)
    return [
        SignedInBrowser(
            s.id,
            s.auth_time,
            s.last_seen_at,
            s.user_agent,
            s.ip_address,
            proof_of(s),
            tuple(reached[s.id]),
        )
        for s in sessions
    ]


def end_own(tx: Tx, user: User, session_id: uuid.UUID) -> None:
    """The person signs one of their browsers out from another: as a sign-out there would, it
    revokes that session's tokens and tells the applications it reached."""
    owner = tx.scalar(select(SsoSession.user_id).where(SsoSession.id == session_id))
    if owner != user.id or not end(tx, session_id):
        raise NotFound("That browser is not signed in to your account any more.")
    audit.record(
        tx,
        Actor.for_user(user, Door.PORTAL),
        "user.session_ended",
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes={"session_id": str(session_id)},
    )
