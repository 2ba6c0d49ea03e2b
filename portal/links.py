"""Pages opened by an emailed link: the link is checked when the page opens and used up only by
the button on it, so a mail scanner that fetches links cannot spend them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template, request
from flask_wtf import FlaskForm
from wtforms import SubmitField

from portal.forms import show_refusal
from rollcall.web.database import database
from store import links
from store.db import Tx
from store.errors import DomainError
from store.models.sign_in import UserLink


class ConfirmForm(FlaskForm):
    submit = SubmitField("Continue")


def refused_page(refused: links.LinkRefused) -> tuple[str, int]:
    status = 404 if refused.reason == "unknown" else 410
    return render_template("link_refused.html", refused=refused), status


def link_page(
    token: str,
    purpose: str,
    *,
    template: str,
    use: Callable[[Tx], Any],
    done: Callable[[Any], Any],
    form: FlaskForm | None = None,
    context: Callable[[Tx, UserLink], dict[str, Any]] | None = None,
    fields: dict[str, str] | None = None,
) -> Any:
    form = form or ConfirmForm()
    try:
        with database().transaction(write=False) as tx:
            link = links.peek(tx, purpose, token)
            extra = context(tx, link) if context else {}
    except links.LinkRefused as refused:
        return refused_page(refused)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with database().transaction() as tx:
                result = use(tx)
        except links.LinkRefused as refused:
            return refused_page(refused)
        except DomainError as error:
            show_refusal(form, error, fields)
        else:
            return done(result)
    status = 400 if form.errors or form.form_errors else 200
    return render_template(template, form=form, token=token, **extra), status
