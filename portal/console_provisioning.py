"""Provisioning activity of an account: its SCIM tokens (create, revoke, last used) and what its
identity provider did in the last 30 days, so a main contact can see what was pushed."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for

from portal.console_forms import ActionForm, TokenForm
from portal.forms import show_refusal
from portal.manage_users import actor, refused
from rollcall.web.database import database
from rollcall.web.session import login_required
from store import credentials, provisioning_log, user_search
from store.errors import DomainError, NotFound

bp = Blueprint("console_provisioning", __name__)
bp.register_error_handler(DomainError, refused)

LOG_ENTRIES = 200


@bp.route("/accounts/<uuid:account_id>/provisioning", methods=["GET", "POST"])
@login_required
def provisioning(account_id: uuid.UUID) -> Any:
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        try:
            with database().transaction() as tx:
                created, secret = credentials.create_credential(
                    tx, actor(), account_id=account_id, name=form.name.data
                )
                name = created.name
        except DomainError as error:
            show_refusal(form, error)
        else:
            form = TokenForm(formdata=None)
            flash(f"Token {name} was created. Copy it now: it is shown only once.", "success")
    with database().transaction(write=False) as tx:
        account = user_search.managed_account(tx, actor(), account_id)
        tokens = credentials.credentials_of(tx, actor(), account_id)
        entries = provisioning_log.entries(tx, actor(), account_id, limit=LOG_ENTRIES)
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "console/provisioning.html",
        account=account,
        tokens=tokens,
        entries=entries,
        form=form,
        action=ActionForm(),
        secret=secret,
        retention_days=provisioning_log.RETENTION.days,
    ), status


@bp.post("/accounts/<uuid:account_id>/provisioning/tokens/<uuid:token_id>/revoke")
@login_required
def revoke(account_id: uuid.UUID, token_id: uuid.UUID) -> Any:
    if ActionForm().validate_on_submit():
        with database().transaction() as tx:
            user_search.managed_account(tx, actor(), account_id)
            if token_id not in {t.id for t in credentials.credentials_of(tx, actor(), account_id)}:
                raise NotFound("No such token.")
            token = credentials.revoke_credential(tx, actor(), token_id)
            flash(f"Token {token.name} was revoked; it no longer works.", "success")
    return redirect(url_for(".provisioning", account_id=account_id))
