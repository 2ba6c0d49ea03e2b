"""Who is calling: `Authorization: Bearer` with a provisioning token (OAuth tokens later)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from scim2_models import UnauthorizedException

from rollcall.app import database
from scim.context import reading
from store import credentials
from store.actors import Actor, Door


@dataclass(frozen=True)
class Caller:
    actor: Actor
    credential_id: str | None


def authenticate() -> Caller:
    """The caller of this request, or 401 with a reason."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedException(
            detail="Send a provisioning token as Authorization: Bearer <token>."
        )
    with reading() as tx:
        credential = credentials.find_live(tx, token)
    if credential is None:
        raise UnauthorizedException(detail="The token is unknown or has been revoked.")
    if credentials.needs_use_recorded(credential):
        with database().transaction() as tx:
            credentials.record_use(tx, credential.id)
    return Caller(Actor.for_credential(credential, Door.SCIM), str(credential.id))
