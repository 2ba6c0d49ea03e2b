"""The console's Groups page: the groups an account's identity provider pushes, and the
application each may carry (its members have it while they are members)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from portal.console_forms import ActionForm
from portal.manage_users import actor, refused
from rollcall.web.database import database
from rollcall.web.session import login_required
from store import access, user_search
from store.applications import all_applications
from store.errors import DomainError

bp = Blueprint("console_groups", __name__)
bp.register_error_handler(DomainError, refused)


@bp.get("/accounts/<uuid:account_id>/groups")
@login_required
def groups_page(account_id: uuid.UUID) -> Any:
    with database().transaction(write=False) as tx:
        account = user_search.managed_account(tx, actor(), account_id)
        groups = access.pushed_groups(tx, account.id)
        offered = access.grantable(actor(), all_applications(tx))
        names = {a.key: a.name for a in all_applications(tx)}
    return render_template(
        "console/groups.html",
        account=account,
        groups=groups,
        offered=offered,
        names=names,
        form=ActionForm(),
    )


@bp.post("/accounts/<uuid:account_id>/groups/<uuid:group_id>")
@login_required
def change_mapping(account_id: uuid.UUID, group_id: uuid.UUID) -> Any:
    back = url_for(".groups_page", account_id=account_id)
    if not ActionForm().validate_on_submit():
        flash("The page was out of date; try again.", "error")
        return redirect(back)
    key = request.form.get("application", "")[:64]
    with database().transaction() as tx:
        account = user_search.managed_account(tx, actor(), account_id)
        if request.form.get("action") == "unmap":
            access.unmap_group(tx, actor(), group_id, key, account_id=account.id)
            flash(f"The group no longer carries {key}.", "success")
        else:
            access.map_group(tx, actor(), group_id, key, account_id=account.id)
            flash(f"Members of the group now have {key}.", "success")
    return redirect(back)
