"""Your sessions and applications: the browsers signed in to the person's account and the
applications that keep access while they are away; ending either revokes its tokens and tells
the applications it reached (back-channel logout)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template
from flask_wtf import FlaskForm

from rollcall.web.database import database
from rollcall.web.session import (
    current_session,
    current_user,
    login_required,
    sign_out,
    write_cookie,
)
from store import oauth, sso_sessions
from store.assurance import MULTI_FACTOR
from store.errors import NotFound

bp = Blueprint("signed_in_browsers", __name__)
bp.after_request(write_cookie)  # signing this browser out clears its cookie

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe(user_agent: str | None) -> str:
    """'Chrome on Windows' from a User-Agent header: enough for a person to recognise a browser."""
    agent = user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), None)
    if browser is None and "Safari/" in agent:
        browser = "Safari"
    system = next((name for mark, name in _SYSTEMS if mark in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (re.split(r"[ /]", agent, maxsplit=1)[0] or "Unknown browser")


def _how(proof: Any) -> str:
    return "password and a second factor" if MULTI_FACTOR in proof.amr else "password"


@bp.get("/profile/sessions")
@login_required
def show(status: int = 200) -> Any:
    user = current_user()
    assert user is not None
    this = current_session()
    with database().transaction(write=False) as tx:
        browsers = sso_sessions.live_for(tx, user.id)
        offline = oauth.offline_grants(tx, user.id)
    return render_template(
        "sessions.html",
        browsers=browsers,
        this_id=this.id if this else None,
        offline=offline,
        describe=describe,
        how=_how,
        form=FlaskForm(prefix="end"),
    ), status


@bp.post("/profile/sessions/<uuid:session_id>")
@login_required
def end(session_id: uuid.UUID) -> Any:
    """Sign one browser out; this browser's own entry is a plain sign-out."""
    user = current_user()
    this = current_session()
    assert user is not None
    if not FlaskForm(prefix="end").validate_on_submit():
        return show(status=400)
    if this is not None and this.id == session_id:
        sign_out()
        flash("You are signed out of this browser.", "success")
        return redirect("/signin")
    try:
        with database().transaction() as tx:
            sso_sessions.end_own(tx, user, session_id)
    except NotFound as gone:
        flash(str(gone), "error")
    else:
        flash("That browser is signed out; the applications it opened were told.", "success")
    return redirect("/profile/sessions")
