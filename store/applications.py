"""The linked applications users may be granted (SPEC §1 Applications)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from store import audit, csc
from store.actors import Actor
from store.db import Tx
from store.errors import Forbidden, InvalidInput, NotFound
from store.models import Application
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
    application.launch_url = clean_text(Application, "launch_url", launch_url)
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
