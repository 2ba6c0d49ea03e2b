"""Ending a user's sign-ins: SSO sessions and OAuth tokens (the OIDC provider fills the tables)."""

from __future__ import annotations

from sqlalchemy import update

from store import outbox
from store.db import Tx, now
from store.models import OAuthToken, SsoSession, User


def end_all(tx: Tx, user: User) -> int:
    """End every live session and revoke every token of the user; returns the sessions ended.

    The applications the user was signed in to are told by back-channel logout, queued here and
    delivered after commit.
    """
    moment = now()
    ended = (
        tx.execute(
            update(SsoSession)
            .where(SsoSession.user_id == user.id, SsoSession.ended_at.is_(None))
            .values(ended_at=moment)
            .returning(SsoSession.id)
        )
        .scalars()
        .all()
    )
    tx.execute(
        update(OAuthToken)
        .where(OAuthToken.user_id == user.id, OAuthToken.revoked_at.is_(None))
        .values(revoked_at=moment)
    )
    if ended:
        outbox.enqueue(
            tx,
            outbox.BACKCHANNEL_LOGOUT,
            {"user_id": str(user.id), "sessions": [str(s) for s in ended]},
        )
    return len(ended)
