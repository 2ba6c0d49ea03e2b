"""The linked applications users may be granted (SPEC §1 Applications)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy import select

from store import audit, csc
from store.actors import Actor
from store.db import Tx
from store.errors import Forbidden, InvalidInput, NotFound
from store.models.directory import Application
from store.validation import clean_text

ACCESS_POLICIES = ("granted", "everyone")


def ensure_application(
    tx: Tx,
    actor: Actor,
    *,
    key: str,
    name: str,
    description: str | None = None,
    launch_url: str | None = None,
    access: str = "granted",
) -> Application:
    """Register a linked application, or update the one with this key (idempotent)."""
    if not actor.privileged:
        raise Forbidden("Only support staff can register applications.")
    if access not in ACCESS_POLICIES:
        raise InvalidInput("access must be granted or everyone.", field="access")
    key = clean_text(Application, "key", key, required=True) or ""
    application = tx.scalar(select(Application).where(Application.key == key))
    created = application is None
    if application is None:
        application = Application(key=key)
        tx.add(application)
    application.name = clean_text(Application, "name", name, required=True) or key
    application.description = description
    if launch_url is not None or created:
        application.launch_url = launch_address(launch_url)
    application.access = access
    tx.flush()
    if created and key == csc.APPLICATION:
        csc.grant_to_the_vetted(tx, application)
    if created:
        audit.record(
            tx,
            actor,
            "application.created",
            target_type="application",
            target_id=application.id,
            account_id=None,
            changes={"key": key, "name": application.name, "access": access},
        )
    return application


def application_by_key(tx: Tx, key: str) -> Application:
    application = tx.scalar(select(Application).where(Application.key == key))
    if application is None:
        raise NotFound(f"No application {key!r}.")
    return application


def all_applications(tx: Tx) -> Sequence[Application]:
    return tx.scalars(select(Application).order_by(Application.name)).all()


def set_launch_url(tx: Tx, actor: Actor, key: str, launch_url: str | None) -> Application:
    """Where the home page's link to the application goes (support and the operator; None or
    empty takes the link away). An absolute https address (http on loopback only)."""
    if not actor.privileged:
        raise Forbidden("Only support staff can set an application's launch address.")
    application = application_by_key(tx, key)
    before = application.launch_url
    application.launch_url = launch_address(launch_url)
    if application.launch_url != before:
        audit.record(
            tx,
            actor,
            "application.launch_url_changed",
            target_type="application",
            target_id=application.id,
            account_id=None,
            changes={"launch_url": [before, application.launch_url]},
        )
    return application


def launch_address(value: str | None) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in text):
        raise InvalidInput(f"{text!r} is not an absolute https address.", field="launch_url")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise InvalidInput(
            f"{text!r} must use https (http is allowed for loopback addresses only).",
            field="launch_url",
        )
    return clean_text(Application, "launch_url", text)
