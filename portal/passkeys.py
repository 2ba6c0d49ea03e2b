"""The "Passkeys and security keys" page of the profile: add one (the page's script asks the
browser to make it), see them, rename and remove them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from rollcall.web.database import database
from rollcall.web.limits import limiter
from rollcall.web.passkeys import json_refusal, posted_json, relying_party, status_of
from rollcall.web.session import current_session, current_user, login_required, signin_url
from store import passkeys
from store.actors import Actor, Door
from store.assurance import HARDWARE_KEY
from store.errors import DomainError, Forbidden
from store.models.directory import User

bp = Blueprint("passkeys", __name__)

PAGE = "/profile/security/passkeys"
ADDING = "30 per hour"


class RenameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=passkeys.NAME_LENGTH)])


class RemoveForm(FlaskForm):
    """Only the CSRF token: removing is a POST no other site can make."""


def _me() -> User:
    user = current_user()
    if user is None:
        raise Forbidden("Your session has ended. Sign in again.")
    return user


def _own_session() -> Any:
    """The session of the signed-in person (`_me` answered)."""
    current = current_session()
    assert current is not None
    return current


def _signed_in_at() -> datetime:
    return _own_session().auth_time


def _page(user: User, status: int = 200, errors: tuple[str, ...] = ()) -> tuple[str, int]:
    with database().transaction(write=False) as tx:
        keys = list(passkeys.list_for(tx, user))
        tx.expunge_all()
    return (
        render_template(
            "passkeys.html",
            keys=keys,
            rename=RenameForm(),
            remove=RemoveForm(),
            errors=errors,
            may_add=passkeys.signed_in_recently(_signed_in_at()),
            sign_in_again=signin_url(PAGE, fresh="1"),
        ),
        status,
    )


@bp.get(PAGE)
@login_required
def show() -> Any:
    return _page(_me())


@bp.post(f"{PAGE}/options")
@limiter.limit(ADDING)
def options() -> Any:
    """The options for navigator.credentials.create() (JSON, for the page's script)."""
    user = _me()
    posted_json()
    with database().transaction() as tx:
        options = passkeys.begin_registration(
            tx, relying_party(), user, signed_in_at=_signed_in_at()
        )
    return jsonify(options)


@bp.post(PAGE)
@limiter.limit(ADDING)
def add() -> Any:
    """Keep the key the browser made: {"credential": ..., "name": ...} from the page's script."""
    user = _me()
    body = posted_json()
    with database().transaction() as tx:
        added = passkeys.finish_registration(
            tx,
            relying_party(),
            Actor.for_user(user, Door.PORTAL),
            user,
            body.get("credential"),
            str(body.get("name") or ""),
            keep=_own_session().id,
        )
        kind, name = ("security key" if added.amr == HARDWARE_KEY else "passkey"), added.name
    flash(f"Your {kind} “{name}” is added.", "success")
    return jsonify(redirect=PAGE)


@bp.post(f"{PAGE}/<uuid:passkey_id>/rename")
@login_required
def rename(passkey_id: uuid.UUID) -> Any:
    user = _me()
    form = RenameForm()
    if not form.validate_on_submit():
        messages = [m for field in form for m in field.errors]
        return _page(user, 400, tuple(f"Name: {m}" for m in messages))
    try:
        with database().transaction() as tx:
            actor = Actor.for_user(user, Door.PORTAL)
            passkeys.rename(tx, actor, user, passkey_id, form.name.data)
    except DomainError as error:
        return _page(user, status_of(error), (error.message,))
    flash("The name is saved.", "success")
    return redirect(PAGE)


@bp.post(f"{PAGE}/<uuid:passkey_id>/remove")
@login_required
def remove(passkey_id: uuid.UUID) -> Any:
    user = _me()
    form = RemoveForm()
    if not form.validate_on_submit():
        return _page(user, 400, ("This page has expired. Reload it and try again.",))
    try:
        with database().transaction() as tx:
            passkeys.remove(
                tx,
                Actor.for_user(user, Door.PORTAL),
                user,
                passkey_id,
                signed_in_at=_signed_in_at(),
            )
    except DomainError as error:
        return _page(user, status_of(error), (error.message,))
    flash("It is removed: it no longer signs you in.", "success")
    return redirect(PAGE)


@bp.errorhandler(DomainError)
def refused(error: DomainError) -> Any:
    """The script's requests are answered in JSON; the forms above catch their own."""
    return json_refusal(error)
