"""Registration with the FAQ's three choices, and enabling the account by its emailed link."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from portal.forms import LoginForm, RegisterForm, show_refusal
from portal.links import link_page
from rollcall.web.database import database
from rollcall.web.limits import (
    RECOVERY_PER_ADDRESS,
    RECOVERY_PER_IP,
    REGISTER_PER_IP,
    attempted,
    count_attempt,
    limiter,
    named_login,
)
from store import links, recovery, registration
from store.errors import DomainError

bp = Blueprint("registration", __name__)

# Where a store refusal about a field lands on the form.
FIELDS = {
    "emails": "email",
    "password": "password",
    "user_name": "user_name",
    "organization": "organization",
    "customer_number": "customer_number",
}


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(REGISTER_PER_IP, methods=["POST"], deduct_when=attempted)
def register() -> Any:
    form = RegisterForm()
    # A CSC member is asked for a community password only when the CSC one fails its rules.
    ask_password = bool(form.password.data)
    if form.validate_on_submit():
        count_attempt()  # a form sent back for its own mistakes is no attempt
        fields = dict(FIELDS)
        try:
            with database().transaction() as tx:
                registration.register(
                    tx,
                    choice=form.choice.data,
                    email=form.email.data,
                    given_name=form.given_name.data,
                    family_name=form.family_name.data,
                    user_name=form.user_name.data,
                    password=form.password.data,
                    csc_user_name=form.csc_user_name.data,
                    csc_password=form.csc_password.data,
                    organization=form.organization.data,
                    customer_number=form.customer_number.data,
                    verifier=current_app.extensions.get("rollcall.csc_verifier"),
                )
        except DomainError as error:
            show_refusal(form, error, fields)
            ask_password = ask_password or error.field == "password"
        else:
            # The same page whether or not the address already had an account.
            return render_template(
                "registered.html",
                email=form.email.data,
                wants_csc=form.choice.data == registration.Choice.CSC_REQUEST,
            )
    status = 400 if request.method == "POST" else 200
    return render_template("register.html", form=form, ask_password=ask_password), status


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str) -> Any:
    return link_page(
        token,
        links.VERIFY_EMAIL,
        template="verify.html",
        use=lambda tx: registration.verify_email(tx, token).user_name,
        done=lambda user_name: render_template("verified.html", user_name=user_name),
    )


@bp.route("/verify/resend", methods=["GET", "POST"])
@limiter.limit(RECOVERY_PER_IP, methods=["POST"])
@limiter.limit(RECOVERY_PER_ADDRESS, methods=["POST"], key_func=named_login("login"))
def resend() -> Any:
    """The sign-in page posts here (field `login`) when an account is not enabled."""
    form = LoginForm()
    if form.validate_on_submit():
        with database().transaction() as tx:
            recovery.ask(tx, recovery.VERIFICATION, form.login.data)
        return render_template("resent.html")
    status = 400 if request.method == "POST" else 200
    return render_template("resend.html", form=form), status
