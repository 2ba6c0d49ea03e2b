"""Mail: outbox messages rendered from templates and delivered over SMTP.

Operations queue a mail in the outbox in the transaction of the change that causes it
(`store.outbox.enqueue_email`); nothing is sent unless that transaction commits. Delivery claims
pending messages for a short lease, so two senders (the `rollcall mail send` worker and a web
process sending inline) never send one message twice while it is being sent, and a message whose
sender died is tried again when its lease runs out.

With no SMTP server configured, development keeps the messages in the outbox (marked sent) and shows
them at /dev/mail; production leaves them pending until SMTP is configured.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask
from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select

from rollcall import senders
from rollcall.settings import Settings, SettingsError
from rollcall.web.database import database_of
from store import federation, outbox, recovery
from store.db import Database, now
from store.models.directory import User
from store.models.logs import OutboxMessage

log = logging.getLogger("rollcall.mail")

TEMPLATES = Path(__file__).resolve().parent.parent / "portal" / "templates" / "mail"
LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=6)
# Payload fields that carry a secret (a link's token): dropped once the mail has left over SMTP.
SECRET_FIELDS = ("link",)

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=ChainableUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None


def render(payload: dict[str, Any], *, base_url: str, user: dict[str, Any] | None = None) -> Mail:
    """The mail a payload asks for: `mail/<template>.txt` (first line `Subject: ...`) and,
    when it exists, `mail/<template>.html`."""
    name = payload["template"]
    context = {
        **{k: v for k, v in payload.items() if k != "template"},
        "base_url": base_url.rstrip("/"),
        "user": user or {},
        "greeting_name": _greeting_name(user),
    }
    text = _templates.get_template(f"{name}.txt").render(context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"mail/{name}.txt must start with a Subject: line")
    html = None
    if (TEMPLATES / f"{name}.html").exists():
        html = _templates.get_template(f"{name}.html").render(context)
    return Mail(payload["to"], first.removeprefix("Subject:").strip(), body.lstrip("\n"), html)


def _greeting_name(user: dict[str, Any] | None) -> str:
    if not user:
        return "there"
    return user.get("given_name") or user.get("display_name") or user.get("user_name") or "there"


def message(mail: Mail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    return msg


class Smtp:
    """A connection factory for an smtp:// or smtps:// URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingsError("ROLLCALL_SMTP_URL must look like smtp://host:port or smtps://...")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        options = parse_qs(parts.query)
        self.starttls = options.get("starttls", ["auto"])[0]  # auto | true | false
        self.timeout = float(options.get("timeout", ["10"])[0])

    def connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.tls:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            wanted = self.starttls == "true" or (
                self.starttls == "auto" and smtp.has_extn("starttls")
            )
            if wanted:
                smtp.starttls(context=context)
                smtp.ehlo()
        if self.user:
            smtp.login(self.user, self.password or "")
        return smtp


@dataclass
class Claimed:
    id: int
    payload: dict[str, Any]
    attempts: int
    user: dict[str, Any] | None


def deliver_pending(
    database: Database, settings: Settings, *, base_url: str | None = None, limit: int = 50
) -> int:
    """Send the mails that are due; returns how many left. `base_url` is used for links when
    the settings name none (development only: production links use ROLLCALL_BASE_URL)."""
    answer_requests(database)
    links_base = settings.base_url or (base_url if settings.development else None)
    if not settings.smtp_url and not settings.development:
        log.warning("ROLLCALL_SMTP_URL is not set: %d mails wait", len(_due(database, 1000)))
        return 0
    if not links_base:
        links_base = "http://127.0.0.1:8000" if settings.development else None
    if links_base is None:
        log.warning("ROLLCALL_BASE_URL is not set: mails with links cannot be written")
        return 0
    claimed = _claim(database, limit)
    if not claimed:
        return 0
    if not settings.smtp_url:
        return _keep_for_dev_sink(database, claimed, links_base)
    smtp = Smtp(settings.smtp_url)
    sent = 0
    connection: smtplib.SMTP | None = None
    try:
        for item in claimed:
            try:
                mail = render(item.payload, base_url=links_base, user=item.user)
                if connection is None:
                    connection = smtp.connect()
                connection.send_message(message(mail, settings.mail_from))
            except Exception as exc:  # one bad message or a refused address must not stop the rest
                log.warning("mail %s to %s failed: %s", item.id, item.payload.get("to"), exc)
                _failed(database, item, exc)
                if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
                    connection = None
                continue
            _sent(database, item, scrub=True)
            sent += 1
    finally:
        if connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.quit()
    return sent


def answer_requests(database: Database, limit: int = 50) -> int:
    """Answer the recovery requests pages queued (`store.recovery.ask`): each in a transaction
    of its own, which queues the mails it asks for; the login typed is not kept afterwards."""
    with database.transaction() as tx:
        claimed = [
            (row.id, row.attempts) for row in outbox.claim(tx, outbox.RECOVERY, limit, LEASE)
        ]
    for message_id, attempts in claimed:
        try:
            with database.transaction() as tx:
                row = tx.get(OutboxMessage, message_id)
                if row is None or row.sent_at is not None:
                    continue
                recovery.answer(tx, dict(row.payload))
                row.sent_at = now()
                row.payload = {"what": row.payload.get("what")}
        except Exception as exc:  # one request must not stop the others, nor the mails
            log.warning("recovery request %s failed: %s", message_id, exc)
            _failed(database, Claimed(message_id, {}, attempts, None), exc)
    return len(claimed)


def _due(database: Database, limit: int) -> list[OutboxMessage]:
    with database.transaction(write=False) as tx:
        return list(
            tx.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.kind == outbox.EMAIL,
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.available_at <= now(),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
        )


def _claim(database: Database, limit: int) -> list[Claimed]:
    with database.transaction() as tx:
        rows = outbox.claim(tx, outbox.EMAIL, limit, LEASE)
        return [
            Claimed(row.id, dict(row.payload), row.attempts, user_of(tx, row.payload))
            for row in rows
        ]


def user_of(tx: Any, payload: dict[str, Any]) -> dict[str, Any] | None:
    """What mails say about their user (greeting, username), if the user still exists."""
    try:
        user = tx.get(User, uuid.UUID(payload["user_id"])) if payload.get("user_id") else None
    except ValueError:
        return None
    if user is None:
        return None
    connection = federation.required_for(tx, user)  # issue 21: no Rollcall password
    return {
        "user_name": user.user_name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "display_name": user.display_name,
        "federated": federation.where_to_sign_in(connection) if connection else None,
    }


def _sent(database: Database, item: Claimed, *, scrub: bool) -> None:
    with database.transaction() as tx:
        row = tx.get(OutboxMessage, item.id)
        if row is None:
            return
        row.sent_at = now()
        row.last_error = None
        if scrub:
            row.payload = {
                k: ("(sent)" if k in SECRET_FIELDS else v) for k, v in item.payload.items()
            }


def _failed(database: Database, item: Claimed, exc: Exception) -> None:
    backoff = min(timedelta(minutes=2 ** min(item.attempts, 12)), MAX_BACKOFF)
    with database.transaction() as tx:
        row = tx.get(OutboxMessage, item.id)
        if row is None:
            return
        row.last_error = f"{exc.__class__.__name__}: {exc}"[:1000]
        row.available_at = now() + backoff


def _keep_for_dev_sink(database: Database, claimed: list[Claimed], base_url: str) -> int:
    for item in claimed:
        try:
            mail = render(item.payload, base_url=base_url, user=item.user)
        except Exception as exc:
            log.warning("mail %s cannot be written: %s", item.id, exc)
            _failed(database, item, exc)
            continue
        # Not the text: its links hold tokens, which a log must never (/dev/mail shows them).
        log.info("mail to %s: %s (see /dev/mail)", mail.to, mail.subject)
        _sent(database, item, scrub=False)
    return len(claimed)


def _send_inline(app: Flask, base_url: str) -> None:
    deliver_pending(database_of(app), app.config["ROLLCALL_SETTINGS"], base_url=base_url)


def init_app(app: Flask, settings: Settings) -> None:
    if settings.smtp_url:
        Smtp(settings.smtp_url)  # a malformed URL fails at start, not at the first mail
    if settings.deliver_mail_inline:
        senders.register(app, outbox.EMAIL, _send_inline)
        senders.register(app, outbox.RECOVERY, _send_inline)
