"""Who is calling: `Authorization: Bearer` with a provisioning token or an OAuth access token.

OAuth access tokens come from Rollcall's own token endpoint and are checked against their stored
hash, so a revoked one stops at once. A client-credentials token with scope `scim` acts for the
account its client is bound to, like a provisioning token. A person's token reaches only `/Me`:
reading needs scope `openid`, changing needs scope `scim`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import request
from scim2_models import ForbiddenException, UnauthorizedException

from rollcall.headers import bearer_token
from rollcall.web import request_log
from rollcall.web.database import database
from scim.context import reading
from store import credentials, oauth, users
from store.actors import Actor, ActorType, Door
from store.credentials import LiveCredential
from store.db import Database, Tx
from store.models.sign_in import OAuthToken


@dataclass(frozen=True)
class Caller:
    actor: Actor
    credential_id: str | None


def authenticate() -> Caller:
    """The caller of this request, or 401 with a reason."""
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is None:
        raise UnauthorizedException(
            detail="Send a provisioning token as Authorization: Bearer <token>."
        )
    with reading() as tx:
        credential = credentials.find_live(tx, token)
        if credential is None:  # an access token of the OpenID Provider, if any
            return _oauth_caller(tx, token)
    return credential_caller(database(), credential)


def credential_caller(db: Database, credential: LiveCredential) -> Caller:
    """The caller a live provisioning credential stands for, its use recorded (once a minute)."""
    if credentials.needs_use_recorded(credential):
        with db.transaction() as tx:
            credentials.record_use(tx, credential.id)
    request_log.note(account=str(credential.account_id or "support"), token=credential.name)
    return Caller(credentials.actor(credential, Door.SCIM), str(credential.id))


def _oauth_caller(tx: Tx, token: str) -> Caller:
    row: OAuthToken | None = oauth.live_token(tx, token)
    if row is None:
        raise UnauthorizedException(detail="The token is unknown, expired or has been revoked.")
    scopes = set(row.scope.split())
    if row.user_id is None:
        if "scim" not in scopes or row.account_id is None:
            raise ForbiddenException(detail="The token has no scim scope.")
        actor = Actor(
            ActorType.CREDENTIAL,
            f"client {row.client_id}",
            Door.SCIM,
            row.client_id,
            row.account_id,
            manages_users=True,
        )
        request_log.note(account=str(row.account_id), token=f"client {row.client_id}")
        return Caller(actor, None)
    user = users.active_user(tx, row.user_id)
    if user is None:
        raise UnauthorizedException(detail="The token's user is no longer active.")
    if not request.path.rstrip("/").endswith("/Me"):
        raise ForbiddenException(detail="A person's access token reaches only /Me.")
    needed = "openid" if request.method in ("GET", "HEAD") else "scim"
    if needed not in scopes:
        raise ForbiddenException(detail=f"The token needs the {needed} scope for this.")
    return Caller(Actor.for_user(user, Door.SCIM), None)
