"""Ending a user's sign-ins: SSO sessions and OAuth tokens (the OIDC provider fills the tables)."""

from __future__ import annotations

import uuid

from sqlalchemy import Uuid, bindparam, update

from store import outbox
from store.db import Tx, now
from store.models.directory import User
from store.models.sign_in import OAuthToken, SsoSession
from store.statements import Prepared, fetch


def end_all(tx: Tx, user: User, *, keep: uuid.UUID | None = None) -> int:
    """End every live session (but `keep`, the browser's own where it goes on) and revoke every
    token of the user; returns the sessions ended.

    The applications the user was signed in to are told by back-channel logout, queued here and
    delivered after commit. One plain statement: no session or token of the user is loaded.
    """
    params = {"of_user": user.id, "moment": now(), "keep": keep or _NO_SESSION}
    ended = [row.id for row in fetch(tx, _END_ALL, params)]
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
_NO_SESSION = uuid.UUID(int=0)  # `keep` when every session ends: no session has this id
_END_SESSIONS = (
    update(SsoSession)
    .where(
        SsoSession.user_id == bindparam("of_user"),
        SsoSession.ended_at.is_(None),
        SsoSession.id != bindparam("keep", type_=Uuid),
    )
    .values(ended_at=bindparam("moment"))
    .returning(SsoSession.id)
)
_END_ALL = Prepared(
    _END_SESSIONS.add_cte(_REVOKE_TOKENS.cte("revoked")),
    one_by_one=(_REVOKE_TOKENS, _END_SESSIONS),
)
