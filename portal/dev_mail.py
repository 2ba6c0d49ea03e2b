"""/dev/mail: the mails of the outbox, for development without an SMTP server (a new user can
follow the verification link from here). Not served outside development."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from markupsafe import Markup, escape
from sqlalchemy import select

from rollcall import mail
from rollcall.web.database import database
from store import outbox
from store.models.logs import OutboxMessage

bp = Blueprint("dev_mail", __name__)

_URL = re.compile(r"https?://[^\s<>\"]+")


@bp.before_request
def development_only() -> None:
    if not current_app.config["ROLLCALL_SETTINGS"].development:
        abort(404)


@bp.get("/dev/mail")
def inbox() -> Any:
    base_url = current_app.config["ROLLCALL_SETTINGS"].base_url or request.url_root
    with database().transaction(write=False) as tx:
        rows = tx.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == outbox.EMAIL)
            .order_by(OutboxMessage.id.desc())
            .limit(50)
        ).all()
        mails = []
        for row in rows:
            try:
                rendered = mail.render(
                    row.payload, base_url=base_url, user=mail.user_of(tx, row.payload)
                )
            except Exception as exc:  # a broken template shows as such, not as a failed page
                mails.append({"row": row, "error": str(exc)})
                continue
            mails.append({"row": row, "mail": rendered, "body": _linked(rendered.text)})
    return render_template("dev_mail.html", mails=mails)


def _linked(text: str) -> Markup:
    """The plain-text body with its addresses made into links."""
    parts = []
    last = 0
    for match in _URL.finditer(text):
        parts.append(escape(text[last : match.start()]))
        url = match.group(0)
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)
