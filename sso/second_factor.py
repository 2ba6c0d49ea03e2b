"""The second step of signing in: a code from an authenticator app or a recovery code, or, for a
person who must have a second factor and has none, setting up an app there and then.

After the right password (`/signin`) a person with a second factor gets no SSO session yet: a
pending sign-in (who, until when, what they proved) waits in the signed Flask session for 5
minutes. The same pages serve a step-up: a signed-in person whose session was made with a
password alone, sent here by the authorization endpoint for an application that requires a
second factor (or `acr_values` asking for one). Either way, success starts or renews the SSO
session with the stronger proof and goes on to `next`.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request
from flask import session as cookie
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from rollcall.web import metrics, session
from rollcall.web.database import database
from rollcall.web.limits import SIGN_IN_PER_IP, SIGN_IN_PER_LOGIN, limiter
from rollcall.web.qr import qr_svg
from rollcall.web.redirects import safe_next
from store import mfa, sso_sessions, users
from store.actors import Actor, Door
from store.assurance import PASSWORD, Proof
from store.errors import DomainError
from store.models.directory import User

bp = Blueprint("second_factor", __name__, template_folder="templates")
bp.after_request(session.write_cookie)  # sets the SSO cookie once the second factor is given

PENDING = session.PENDING_SIGN_IN
PENDING_FOR = 300  # seconds between the password and the second factor
# The order the methods are offered in; each has a block `sso/second_factor_<method>.html`.
METHOD_ORDER = ("passkey", mfa.TOTP, mfa.RECOVERY_CODES)
VERIFY_PATH = session.SECOND_FACTOR_PATH
ENROL_PATH = "/signin/enrol"


class CodeForm(FlaskForm):
    """A code typed in; where to go afterwards travels in the form's address (`next`)."""

    code = StringField(
        "Code from your app",
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class EnrolForm(CodeForm):
    """The new app's code; and, for a step-up of a sign-in not recent, the current password."""

    current_password = PasswordField(
        "Current password",
        validators=[Optional(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class RecoveryCodeForm(CodeForm):
    code = StringField(
        "Recovery code",
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"},
    )


FORMS = {mfa.TOTP: CodeForm, mfa.RECOVERY_CODES: RecoveryCodeForm}


@dataclass
class Candidate:
    """Who is giving a second factor, what they proved so far, and whether they are signing in
    (else a signed-in person steps up)."""

    user: User
    proof: Proof
    signing_in: bool


def after_password(user: User, next_path: str, proof: Proof | None = None) -> Response:
    """Where the sign-in page sends a person whose password was right (or who proved who they
    are another way: `proof`): signed in at once, or on to the second factor (or to setting one
    up) with a pending sign-in. A proof that is multi-factor already needs nothing more."""
    proof = proof or Proof.password()
    with database().transaction(write=False) as tx:
        step = mfa.Step.DONE if proof.multi_factor else mfa.next_step(tx, user)
    if step == mfa.Step.DONE:
        cookie.pop(PENDING, None)  # an earlier person's, on this browser
        session.sign_in(user, proof)
        return redirect(next_path)
    cookie[PENDING] = {
        "user": str(user.id),
        "until": int(time.time()) + PENDING_FOR,
        "amr": list(proof.amr),
    }
    return redirect(_step_url(step, next_path))


def step_up_url(next_path: str, *, enrolled: bool) -> str:
    """Where a signed-in person goes to add a second factor to their session."""
    return _step_url(mfa.Step.VERIFY if enrolled else mfa.Step.ENROL, next_path)


def _step_url(step: mfa.Step, next_path: str) -> str:
    path = VERIFY_PATH if step == mfa.Step.VERIFY else ENROL_PATH
    return f"{path}?{urlencode({'next': next_path})}"


def current_candidate() -> Candidate | None:
    """Who this browser's second factor is for: a pending sign-in, else the signed-in person
    (a step-up); None sends them to sign in. Other methods' pages (passkeys) use it too."""
    pending = cookie.get(PENDING)
    if isinstance(pending, dict) and pending.get("until", 0) > time.time():
        user = _active(pending.get("user"))
        if user is not None:
            return Candidate(user, Proof.of(pending.get("amr") or [PASSWORD]), True)
    current, user = session.current_session(), session.current_user()
    if current is not None and user is not None:
        return Candidate(user, sso_sessions.proof_of(current), False)
    return None


def _active(user_id: Any) -> User | None:
    try:
        wanted = uuid.UUID(str(user_id))
    except ValueError:
        return None
    with database().transaction(write=False) as tx:
        user = users.active_user(tx, wanted, details=True)
        if user is not None:
            tx.expunge_all()
        return user


def _pending_person() -> str:
    """Rate limits per person giving a code: the pending sign-in's, else the signed-in person's
    (a step-up), else the address's."""
    pending = cookie.get(PENDING)
    who = pending.get("user") if isinstance(pending, dict) else None
    if who is None and session.current_user() is not None:
        who = str(session.current_user().id)
    return f"second-factor:{who or request.remote_addr}"


def _start_over(next_path: str) -> Response:
    cookie.pop(PENDING, None)
    return redirect(session.signin_url(next_path))


def finish(candidate: Candidate, methods: tuple[str, ...]) -> None:
    """The second factor is given (`methods`: what it proved, RFC 8176): the SSO session starts,
    or goes on, with the stronger proof. Other methods' pages (passkeys) end with it too."""
    cookie.pop(PENDING, None)
    session.sign_in(candidate.user, candidate.proof.with_methods(methods))


@bp.get(VERIFY_PATH)
def second_factor() -> Any:
    next_path = safe_next(request.args.get("next"))
    candidate = current_candidate()
    if candidate is None:
        return _start_over(next_path)
    return _verify_page(candidate, next_path)


@bp.post(f"{VERIFY_PATH}/<any(totp, recovery_codes):method>")
@limiter.limit(SIGN_IN_PER_IP)
@limiter.limit(SIGN_IN_PER_LOGIN, key_func=_pending_person)
def give_code(method: str) -> Any:
    next_path = safe_next(request.args.get("next"))
    candidate = current_candidate()
    if candidate is None:
        return _start_over(next_path)
    form = FORMS[method](prefix=method)
    if not form.validate_on_submit():
        return _verify_page(candidate, next_path, {method: form}, 400)
    refused = None
    with database().transaction() as tx:  # committed on refusal too: it counts
        try:
            proved = mfa.verify(tx, candidate.user.id, method, form.code.data)
        except mfa.CodeRefused as refusal:
            refused = refusal
    if refused is not None:
        metrics.sign_in("second_factor_refused", locked_now=refused.locked_now)
        form.code.errors = [refused.message]
        return _verify_page(candidate, next_path, {method: form}, 400)
    metrics.sign_in("second_factor")
    finish(candidate, proved)
    return redirect(next_path)


def _verify_page(
    candidate: Candidate,
    next_path: str,
    forms: dict[str, CodeForm] | None = None,
    status: int = 200,
) -> Any:
    with database().transaction(write=False) as tx:
        methods = mfa.methods_of(tx, candidate.user)
        step = mfa.next_step(tx, candidate.user)
    if not methods:
        if step == mfa.Step.DONE and candidate.signing_in:  # support reset them meanwhile
            finish(candidate, ())
            return redirect(next_path)
        return redirect(_step_url(mfa.Step.ENROL, next_path))
    offered = [m for m in METHOD_ORDER if m in methods]
    forms = forms or {}
    for method in offered:
        if method in FORMS:  # a passkey's block has no code to type
            forms.setdefault(method, FORMS[method](prefix=method, formdata=None))
    page = render_template(
        "sso/second_factor.html",
        methods=offered,
        forms=forms,
        query=urlencode({"next": next_path}),
        next_path=next_path,
        signing_in=candidate.signing_in,
    )
    return page, status


# Setting up an authenticator app on the way in.


@bp.route(ENROL_PATH, methods=["GET", "POST"])
@limiter.limit(SIGN_IN_PER_IP, methods=["POST"])
def enrol() -> Any:
    next_path = safe_next(request.values.get("next"))
    candidate = current_candidate()
    if candidate is None:
        return _start_over(next_path)
    actor = Actor.for_user(candidate.user, Door.SSO)
    with database().transaction(write=False) as tx:
        has_factor = bool(mfa.methods_of(tx, candidate.user))
        required = mfa.required_for(tx, candidate.user)
    if has_factor or (candidate.signing_in and not required):  # nothing to set up here
        return redirect(_step_url(mfa.Step.VERIFY, next_path))
    # A step-up adds a factor to a session that may be old: as on the security page, a
    # browser left signed in must not be enough to add someone's app (mfa.confirm_presence).
    signed_in_at = None if candidate.signing_in else _session_signed_in_at()
    ask_password = not candidate.signing_in and mfa.needs_password(signed_in_at)
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            with database().transaction() as tx:
                if not candidate.signing_in:
                    mfa.confirm_presence(
                        tx,
                        candidate.user.id,
                        password=form.current_password.data,
                        signed_in_at=signed_in_at,
                    )
                codes = mfa.confirm_totp(
                    tx, actor, candidate.user.id, form.code.data, keep=_own_session(candidate)
                )
        except DomainError as error:
            wrong = form.current_password if error.field == "current_password" else form.code
            wrong.errors = [error.message]
            ask_password = ask_password or error.field == "current_password"
        else:
            finish(candidate, mfa.PROVES[mfa.TOTP])
            return render_template("sso/recovery_codes.html", codes=codes, next_path=next_path)
    try:
        with database().transaction() as tx:
            started = mfa.start_totp(tx, actor, candidate.user.id)
    except DomainError:  # set up meanwhile (another tab): that app is the one to give
        return redirect(_step_url(mfa.Step.VERIFY, next_path))
    status = 400 if form.errors else 200
    return render_template(
        "sso/enrol.html",
        form=form,
        secret=started.grouped_secret,
        qr=qr_svg(started.uri),
        required=required,
        signing_in=candidate.signing_in,
        ask_password=ask_password,
        query=urlencode({"next": next_path}),
    ), status


def _own_session(candidate: Candidate) -> Any:
    """The session a step-up goes on with (a sign-in in progress has none yet)."""
    current = None if candidate.signing_in else session.current_session()
    return current.id if current is not None else None


def _session_signed_in_at() -> Any:
    current = session.current_session()
    return current.auth_time if current is not None else None
