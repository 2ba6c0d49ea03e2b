"""Forgot Username, Forgot Password, the reset page of the emailed link (FAQ 5, 8), and the page
where a new user chooses a first password."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request

from portal.forms import EmailForm, LoginForm, ResetForm
from portal.links import link_page
from rollcall.web.database import database
from rollcall.web.limits import RECOVERY_PER_ADDRESS, RECOVERY_PER_IP, limiter, named_login
from store import links, recovery
from store.db import Tx
from store.models.directory import User
from store.models.sign_in import UserLink

bp = Blueprint("recovery", __name__)


@bp.route("/forgot-username", methods=["GET", "POST"])
@limiter.limit(RECOVERY_PER_IP, methods=["POST"])
@limiter.limit(RECOVERY_PER_ADDRESS, methods=["POST"], key_func=named_login("email"))
def forgot_username() -> Any:
    form = EmailForm()
    if form.validate_on_submit():
        with database().transaction() as tx:
            recovery.ask(tx, recovery.USERNAME, form.email.data)
        return render_template("sent.html", what="username", address=form.email.data)
    status = 400 if request.method == "POST" else 200
    return render_template("forgot_username.html", form=form), status


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(RECOVERY_PER_IP, methods=["POST"])
@limiter.limit(RECOVERY_PER_ADDRESS, methods=["POST"], key_func=named_login("login"))
def forgot_password() -> Any:
    form = LoginForm()
    form.submit.label.text = "Email me a reset link"
    if form.validate_on_submit():
        with database().transaction() as tx:
            recovery.ask(tx, recovery.PASSWORD_RESET, form.login.data)
        return render_template("sent.html", what="reset", address=form.login.data)
    status = 400 if request.method == "POST" else 200
    return render_template("forgot_password.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(RECOVERY_PER_IP, methods=["POST"])
def reset(token: str) -> Any:
    def done(user_name: str) -> Any:
        flash(f"Your password is changed. Sign in as {user_name} with it.", "success")
        return redirect("/signin")

    form = ResetForm()
    return link_page(
        token,
        links.RESET_PASSWORD,
        template="reset.html",
        form=form,
        use=lambda tx: recovery.reset_password(tx, token, form.password.data).user_name,
        done=done,
        context=_whose,
    )


@bp.route("/set-password/<token>", methods=["GET", "POST"])
@limiter.limit(RECOVERY_PER_IP, methods=["POST"])
def set_password(token: str) -> Any:
    """The link of the sign-in mail a new (or activated) user without a password gets."""

    def done(user_name: str) -> Any:
        flash(f"Your password is set. Sign in as {user_name} with it.", "success")
        return redirect("/signin")

    form = ResetForm()
    form.password.label.text = "Password"
    form.confirm.label.text = "Password again"
    return link_page(
        token,
        links.SET_PASSWORD,
        template="reset.html",
        form=form,
        use=lambda tx: recovery.set_first_password(tx, token, form.password.data).user_name,
        done=done,
        context=lambda tx, link: _whose(tx, link) | {"first": True},
    )


def _whose(tx: Tx, link: UserLink) -> dict[str, Any]:
    user = tx.get(User, link.user_id)
    return {"user_name": user.user_name if user else ""}
