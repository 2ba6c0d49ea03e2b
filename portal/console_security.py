"""Second factors in the console: the account's policy (who must use one), set by its main
contacts and support; support's switch requiring one of everybody; and support resetting a
person's factors (a lost phone)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import RadioField

from portal.console_forms import ActionForm
from portal.forms import options, show_refusal
from portal.manage_users import actor, refused
from portal.support import support_actor
from rollcall.web.database import database
from rollcall.web.session import login_required
from store import mfa, mfa_policy, user_search
from store.errors import DomainError

bp = Blueprint("console_security", __name__)
bp.register_error_handler(DomainError, refused)


class PolicyForm(FlaskForm):
    policy = RadioField(
        "Who must sign in with a second factor",
        choices=options(mfa_policy.POLICIES.items()),
    )


class EverywhereForm(FlaskForm):
    required = RadioField(
        "Second factor for the whole deployment",
        choices=options(
            [
                ("no", "As each account's policy says"),
                ("yes", "Required for everyone, support included"),
            ]
        ),
    )


@bp.route("/accounts/<uuid:account_id>/security", methods=["GET", "POST"])
@login_required
def policy(account_id: uuid.UUID) -> Any:
    form = PolicyForm()
    if form.validate_on_submit():
        try:
            with database().transaction() as tx:
                mfa_policy.set_policy(tx, actor(), account_id, form.policy.data)
        except DomainError as error:
            show_refusal(form, error)
        else:
            flash(f"Saved: {mfa_policy.POLICIES[form.policy.data]}.", "success")
            return redirect(url_for(".policy", account_id=account_id))
    with database().transaction(write=False) as tx:
        account = user_search.managed_account(tx, actor(), account_id)
        current = mfa_policy.policy_of(tx, actor(), account_id)
        everywhere = mfa_policy.required_everywhere(tx)
    if not form.is_submitted():
        form.policy.data = current
    return render_template(
        "console/security.html",
        account=account,
        form=form,
        everywhere=everywhere,
    ), (400 if form.errors or form.form_errors else 200)


@bp.route("/support/security", methods=["GET", "POST"])
@login_required
def everywhere() -> Any:
    acting = support_actor()
    form = EverywhereForm()
    if form.validate_on_submit():
        required = form.required.data == "yes"
        with database().transaction() as tx:
            mfa_policy.require_everywhere(tx, acting, required)
        flash(
            "Everyone now signs in with a second factor; people without one set one up at "
            "their next sign-in."
            if required
            else "Each account's own policy applies again.",
            "success",
        )
        return redirect(url_for(".everywhere"))
    with database().transaction(write=False) as tx:
        form.required.data = "yes" if mfa_policy.required_everywhere(tx) else "no"
    return render_template("console/security_everywhere.html", form=form)


@bp.post("/support/users/<uuid:user_id>/reset-second-factors")
@login_required
def reset(user_id: uuid.UUID) -> Any:
    acting = support_actor()
    if not ActionForm().validate_on_submit():
        flash("The page was out of date; try again.", "error")
    else:
        with database().transaction() as tx:
            user = mfa.reset(tx, acting, user_id)
            name = user.user_name
        flash(
            f"The second factors of {name} were reset; they were emailed. They sign in with their "
            "password, and set up a new factor if one is required.",
            "success",
        )
    return redirect(url_for("support.person", user_id=user_id))
