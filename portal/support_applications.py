"""Support's page of the linked applications: who may open each, and its launch address (the
home page's link to it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from portal.console_forms import ActionForm
from portal.manage_users import refused
from portal.support import support_actor
from rollcall.web.database import database
from rollcall.web.session import login_required
from store import applications
from store.errors import DomainError

bp = Blueprint("support_applications", __name__, url_prefix="/support/applications")
bp.register_error_handler(DomainError, refused)


@bp.get("")
@login_required
def applications_page() -> Any:
    support_actor()
    with database().transaction(write=False) as tx:
        listed = applications.all_applications(tx)
    return render_template("console/applications.html", applications=listed, form=ActionForm())


@bp.post("/<key>")
@login_required
def set_launch(key: str) -> Any:
    acting = support_actor()
    if not ActionForm().validate_on_submit():
        flash("The page was out of date; try again.", "error")
        return redirect(url_for(".applications_page"))
    try:
        with database().transaction() as tx:
            changed = applications.set_launch_url(
                tx, acting, key, request.form.get("launch_url", "")[:1024]
            )
            name, address = changed.name, changed.launch_url
    except DomainError as error:
        if error.field != "launch_url":
            raise
        flash(str(error), "error")
    else:
        shown = f"opens {address}" if address else "has no launch address"
        flash(f"{name} {shown} from the home page.", "success")
    return redirect(url_for(".applications_page"))
