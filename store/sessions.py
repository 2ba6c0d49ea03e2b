"""Ending a user's sign-ins: SSO sessions and OAuth tokens (the OIDC provider fills the tables)."""

from __future__ import annotations

from sqlalchemy import bindparam, update

from store import outbox
from store.db import Tx, now
from store.models.directory import User
from store.models.sign_in import OAuthToken, SsoSession
from store.statements import Prepared, fetch


def end_all(tx: Tx, user: User) -> int:
    """End every live session and revoke every token of the user; returns the sessions ended.

    The applications the user was signed in to are told by back-channel logout, queued here and
    delivered after commit. One plain statement: no session or token of the user is loaded.
    """
    ended = [row.id for row in fetch(tx, _END_ALL, {"of_user": user.id, "moment": now()})]
    if ended:
        outbox.enqueue(
            tx,
            outbox.BACKCHANNEL_LOGOUT,
            {"user_id": str(user.id), "sessions": [str(s) for s in ended]},
        )
    return len(ended)


_REVOKE_TOKENS = (
    update(OAuthToken)
    .where(OAuthToken.user_id == bindparam("of_user"), OAuthToken.revoked_at.is_(None))
    .values(revoked_at=bindparam("moment"))
)
_END_SESSIONS = (
    update(SsoSession)
    .where(SsoSession.user_id == bindparam("of_user"), SsoSession.ended_at.is_(None))
    .values(ended_at=bindparam("moment"))
    .returning(SsoSession.id)
)
_END_ALL = Prepared(
    _END_SESSIONS.add_cte(_REVOKE_TOKENS.cte("revoked")),
    one_by_one=(_REVOKE_TOKENS, _END_SESSIONS),
)
