"""The profile's Security page: which second factors are on, setting up or removing the
authenticator app, and new recovery codes. Each change needs a sign-in of the last minutes or
the current password (`store.mfa.confirm_presence`), and the person is mailed about it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import show_refusal
from rollcall.web.database import database
from rollcall.web.qr import qr_svg
from rollcall.web.session import current_session, current_user, login_required, write_cookie
from store import mfa
from store.actors import Actor, Door
from store.errors import DomainError
from store.models.directory import User

bp = Blueprint("security", __name__)
bp.after_request(write_cookie)

PAGE = "/profile/security"


class PresenceForm(FlaskForm):
    """The current password, asked when the sign-in is not recent."""

    current_password = PasswordField(
        "Current password",
        validators=[Optional(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


class TotpForm(PresenceForm):
    code = StringField(
        "Code from your app",
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off"},
    )


def _me() -> User:
    user = current_user()
    assert user is not None
    return user


def _actor() -> Actor:
    return Actor.for_user(_me(), Door.PORTAL)


def _signed_in_at() -> Any:
    session = current_session()
    return session.auth_time if session is not None else None


def _present(form: PresenceForm) -> Any:
    """Check the person is at the keyboard; the refusal goes on the form."""
    with database().transaction(write=False) as tx:
        mfa.confirm_presence(
            tx, _me().id, password=form.current_password.data, signed_in_at=_signed_in_at()
        )


def _context(**forms: FlaskForm) -> dict[str, Any]:
    user = _me()
    with database().transaction(write=False) as tx:
        methods = mfa.methods_of(tx, user)
        left = mfa.recovery_codes_left(tx, user.id)
        required = mfa.required_for(tx, user)
    return {
        "methods": methods,
        "has_factor": bool(methods - {mfa.RECOVERY_CODES}),  # codes stand in for one
        "codes_left": left,
        "required": required,
        "ask_password": mfa.needs_password(_signed_in_at()),
        "remove_form": forms.get("remove") or PresenceForm(prefix="remove"),
        "codes_form": forms.get("codes") or PresenceForm(prefix="codes"),
    }


@bp.get(PAGE)
@login_required
def show() -> Any:
    return render_template("security.html", **_context())


@bp.route(f"{PAGE}/authenticator", methods=["GET", "POST"])
@login_required
def add_app() -> Any:
    form = TotpForm(prefix="totp")
    if form.validate_on_submit():
        try:
            _present(form)
            with database().transaction() as tx:
                codes = mfa.confirm_totp(
                    tx, _actor(), _me().id, form.code.data, keep=current_session().id
                )
        except DomainError as error:
            show_refusal(form, error)
        else:
            flash("Your authenticator app is set up: it signs you in from now on.", "success")
            if not codes:
                return redirect(PAGE)
            return render_template("security_codes.html", codes=codes)
    try:
        with database().transaction() as tx:
            started = mfa.start_totp(tx, _actor(), _me().id)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(PAGE)
    return render_template(
        "security_app.html",
        form=form,
        secret=started.grouped_secret,
        qr=qr_svg(started.uri),
        ask_password=mfa.needs_password(_signed_in_at()),
    ), (400 if form.errors or form.form_errors else 200)


@bp.post(f"{PAGE}/authenticator/remove")
@login_required
def remove_app() -> Any:
    form = PresenceForm(prefix="remove")
    if form.validate_on_submit():
        try:
            _present(form)
            with database().transaction() as tx:
                mfa.remove_totp(tx, _actor(), _me().id)
        except DomainError as error:
            show_refusal(form, error)
        else:
            flash("Your authenticator app was removed.", "success")
            return redirect(PAGE)
    return render_template("security.html", **_context(remove=form)), 400


@bp.post(f"{PAGE}/recovery-codes")
@login_required
def new_codes() -> Any:
    form = PresenceForm(prefix="codes")
    if form.validate_on_submit():
        try:
            _present(form)
            with database().transaction() as tx:
                codes = mfa.regenerate_recovery_codes(tx, _actor(), _me().id)
        except DomainError as error:
            show_refusal(form, error)
        else:
            return render_template("security_codes.html", codes=codes)
    return render_template("security.html", **_context(codes=form)), 400
