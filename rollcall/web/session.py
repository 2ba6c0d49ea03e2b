"""The SSO session of the browser making this request: the cookie, and who it signs in.

The cookie holds a random token (the database keeps its SHA-256); it is HttpOnly, SameSite=Lax and
Secure outside development. Views read the session with `current_session()` / `current_user()`,
which look it up once per request on the request's own read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import current_app, g, redirect, request
from flask import session as signed_cookie
from werkzeug.wrappers import Response

from rollcall.web.database import database
from store import mfa, sso_sessions, users
from store.assurance import Proof
from store.models.directory import User
from store.models.sign_in import SsoSession

COOKIE = "rollcall_sso"
# A sign-in waiting for its second factor (sso.second_factor), in Flask's signed cookie.
PENDING_SIGN_IN = "rollcall.pending_sign_in"
View = TypeVar("View", bound=Callable[..., Any])


def current_session() -> SsoSession | None:
    """The live SSO session of this browser, or None; looked up once per request."""
    if "sso_session" not in g:
        token = request.cookies.get(COOKIE)
        g.sso_session = None
        g.sso_user = None
        if token:
            with database().transaction(write=False) as tx:
                session = sso_sessions.find(tx, token)
                user = users.active_user(tx, session.user_id, details=True) if session else None
                if user is not None:
                    tx.expunge_all()
                    g.sso_session, g.sso_user = session, user
            if g.sso_session is not None and sso_sessions.needs_touch(g.sso_session):
                with database().transaction() as tx:
                    sso_sessions.touch(tx, g.sso_session.id)
    return g.sso_session


def forget() -> None:
    """Show this request as nobody's from now on, without asking the database (which is out of
    reach: the page saying so is drawn without a signed-in user)."""
    g.sso_session, g.sso_user = None, None


def current_user() -> User | None:
    """The signed-in user of this request, or None."""
    current_session()
    return g.sso_user


def sign_in(user: User, proof: Proof | None = None) -> SsoSession:
    """Start a session for a user who just proved who they are, by a password unless `proof` says
    otherwise (the cookie goes on the response); when this browser's session is already theirs
    (`prompt=login`, `max_age`, a second factor), renew it instead: ending it would sign them out
    of every other application."""
    with database().transaction() as tx:
        previous_id, previous_user = _previous_session()
        renewed = None
        if previous_id is not None and previous_user == user.id:
            renewed = sso_sessions.renew(tx, previous_id, proof)  # the session goes on
        elif previous_id is not None:
            sso_sessions.end(tx, previous_id)  # another person signs in on this browser
        session, token = renewed or sso_sessions.start(
            tx,
            user,
            proof,
            user_agent=request.user_agent.string,
            ip_address=request.remote_addr,
        )
        tx.expunge(session)
    g.sso_session, g.sso_user = session, user
    g.sso_cookie = token
    return session


def sign_out() -> bool:
    """End this browser's session (its applications are told) and any sign-in of it still
    waiting for a second factor; the cookie is cleared."""
    if PENDING_SIGN_IN in signed_cookie:  # popping marks the cookie changed, present or not
        del signed_cookie[PENDING_SIGN_IN]
    session = current_session()
    g.sso_cookie = ""
    g.sso_session, g.sso_user = None, None
    if session is None:
        return False
    with database().transaction() as tx:
        return sso_sessions.end(tx, session.id)


def write_cookie(response: Response) -> Response:
    """after_request: set or clear the cookie when this request signed in or out."""
    token = g.get("sso_cookie")
    if token is None:
        return response
    settings = current_app.config["ROLLCALL_SETTINGS"]
    secure = not settings.development or request.is_secure  # https, or a trusted proxy's
    if token:
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(sso_sessions.ABSOLUTE.total_seconds()),
            secure=secure,
            httponly=True,
            samesite="Lax",
            path="/",
        )
    else:
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True)
    return response


def login_required(view: View) -> View:
    """Send people who are not signed in to the sign-in page, and back here afterwards; and
    those who must now sign in with a second factor their session has not given (a policy
    made stricter after it began) to give it first."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(signin_url(request.full_path))
        if _second_factor_missing(user):
            return redirect(f"{SECOND_FACTOR_PATH}?{urlencode({'next': _here()})}")
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# sso.second_factor's page: it gives the factor, or sets one up when the person has none.
SECOND_FACTOR_PATH = "/signin/second-factor"


def _second_factor_missing(user: User) -> bool:
    session = current_session()
    if session is None:
        return False
    proof = sso_sessions.proof_of(session)
    if proof.multi_factor:  # no query for the sessions that gave one
        return False
    with database().transaction(write=False) as tx:
        return mfa.owes_second_factor(tx, user, proof)


def _here() -> str:
    return request.full_path.rstrip("?")


def signin_url(next_path: str, **extra: str) -> str:
    params = {"next": next_path.rstrip("?")} | {k: v for k, v in extra.items() if v}
    return "/signin?" + urlencode(params)


def _previous_session() -> tuple[Any, Any]:
    """The id and user of the live session this browser holds before signing in, or Nones."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None, None
    with database().transaction(write=False) as tx:
        session = sso_sessions.find(tx, token)
        return (session.id, session.user_id) if session else (None, None)
