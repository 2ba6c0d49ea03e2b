"""Pages of single sign-on: sign in, the home page of applications, sign out and RP logout."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from rollcall.web import metrics, session
from rollcall.web.database import database
from rollcall.web.limits import SIGN_IN_PER_IP, SIGN_IN_PER_LOGIN, limiter, named_login
from rollcall.web.redirects import safe_next
from sso import federated, keys, second_factor
from store import access, clients, federation, oauth
from store.models.security import FederationConnection
from store.profiles import counts_as_main_contact
from store.signin import SignInRefused, authenticate

bp = Blueprint("sso", __name__, template_folder="templates")
bp.after_request(session.write_cookie)  # sets or clears the SSO cookie


class SignInForm(FlaskForm):
    login = StringField(
        "Username or email",
        validators=[DataRequired(), Length(max=320)],
        render_kw={"autocomplete": "username"},
    )
    # Optional: a login alone is the first step (identifier-first, issue 21).
    password = PasswordField(
        "Password",
        validators=[Optional(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class SignOutForm(FlaskForm):
    """Only the CSRF token: signing out is a POST, so another site cannot sign people out."""


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_PER_IP, methods=["POST"])
@limiter.limit(SIGN_IN_PER_LOGIN, methods=["POST"], key_func=named_login("login"))
def signin() -> Any:
    next_path = safe_next(request.values.get("next"))
    fresh = request.values.get("fresh") == "1"
    if request.method == "GET" and not fresh and session.current_user() is not None:
        return redirect(next_path)
    form = SignInForm(data={"login": request.args.get("login_hint", ""), "next": next_path})
    refusal = None
    password_step = False
    if form.validate_on_submit():
        connection = _federated(form.login.data)
        if connection is not None and (connection.required or not form.password.data):
            return federated.start(connection, next_path, login_hint=form.login.data)
        password_step = not form.password.data  # the login alone: now the password
        if not password_step:
            with database().transaction() as tx:  # committed on refusal too: it counts
                try:
                    user = authenticate(tx, form.login.data, form.password.data)
                    tx.expunge(user)
                except SignInRefused as refused:
                    refusal = refused
            if refusal is None:
                metrics.sign_in("success")
                return second_factor.after_password(user, next_path)
            metrics.sign_in(refusal.outcome, locked_now=refusal.locked_now)
    status = 200 if refusal is None and not form.errors else 400
    page = render_template(
        "sso/signin.html", form=form, refusal=refusal, fresh=fresh, password_step=password_step
    )
    return page, status


def _federated(login: str) -> FederationConnection | None:
    """The organization's provider this login signs in at, if any (issue 21)."""
    with database().transaction(write=False) as tx:
        connection = federation.connection_for_login(tx, login)
        if connection is not None:
            tx.expunge(connection)
        return connection


@bp.route("/signout", methods=["GET", "POST"])
def signout() -> Any:
    form = SignOutForm()
    if request.method == "POST" and form.validate_on_submit():
        session.sign_out()
        return render_template("sso/signed_out.html")
    user = session.current_user()
    if user is None:
        session.sign_out()  # a sign-in still waiting for its second factor ends too
        return render_template("sso/signed_out.html")
    return render_template("sso/signout.html", form=form, offline=_offline(user))


@bp.get("/")
def home() -> Any:
    user = session.current_user()
    if user is None:
        return render_template("sso/welcome.html")
    with database().transaction(write=False) as tx:
        applications = list(access.applications_for(tx, user))
        tx.expunge_all()
    return render_template(
        "sso/home.html",
        applications=applications,
        manages_users=user.is_support or counts_as_main_contact(user),
    )


@bp.route("/oauth/logout", methods=["GET", "POST"])
def logout() -> Any:
    """OpenID Connect RP-Initiated Logout 1.0.

    With an `id_token_hint` issued to this browser's user in this session (its `sid`) the session
    ends at once; otherwise the person confirms first (a POST, so no other site can sign them
    out: an ID token of someone else, of an earlier session, or without a session (refreshed
    offline), which others may hold, confirms nothing; RP-Initiated Logout §2).
    `post_logout_redirect_uri` must be registered for the client, else the signed-out page is
    shown instead of redirecting.
    """
    values = request.values
    with database().transaction(write=False) as tx:
        hinted = keys.id_token_claims(tx, values.get("id_token_hint"))
        audience = _audience(hinted)
        client_id = values.get("client_id") or (audience[0] if audience else None)
        client = clients.find_client(tx, client_id) if client_id else None
    if values.get("id_token_hint") and hinted is None:
        return _refused(_LogoutError())
    if hinted is not None and client_id not in audience:
        return _refused(_LogoutError("client_id"))
    target = values.get("post_logout_redirect_uri")
    if target and (client is None or target not in client.post_logout_redirect_uris):
        return _refused(_LogoutError("post_logout_redirect_uri"))
    form = SignOutForm()
    current = session.current_user()
    browser_session = session.current_session()
    own_hint = (
        hinted is not None
        and current is not None
        and browser_session is not None
        and hinted.get("sub") == str(current.id)
        and hinted.get("sid") == str(browser_session.id)
    )
    confirmed = own_hint or (request.method == "POST" and form.validate_on_submit())
    if current is not None and not confirmed:
        return render_template(
            "sso/signout.html", form=form, client=client, offline=_offline(current)
        )
    session.sign_out()
    if target:
        state = values.get("state")
        if state:
            target += ("&" if "?" in target else "?") + urlencode({"state": state})
        return redirect(target)
    return render_template("sso/signed_out.html", client=client)


def _offline(user: Any) -> list[oauth.OfflineGrant]:
    """The applications that will stay signed in after this sign-out (offline access)."""
    with database().transaction(write=False) as tx:
        return oauth.offline_grants(tx, user.id)


class _LogoutError:
    status_code = 400

    def __init__(self, what: str = "id_token_hint") -> None:
        self.error = "invalid_request"
        self.description = {
            "post_logout_redirect_uri": (
                "The post_logout_redirect_uri is not registered for this application."
            ),
            "client_id": "The id_token_hint was not issued to this client_id.",
        }.get(what, "The id_token_hint is not an ID token this server issued.")


def _refused(error: _LogoutError) -> Any:
    return render_template("sso/error.html", error=error, sign_out=True), 400


def _audience(claims: dict[str, Any] | None) -> list[str]:
    audience = (claims or {}).get("aud") or []
    return [audience] if isinstance(audience, str) else [str(a) for a in audience]
