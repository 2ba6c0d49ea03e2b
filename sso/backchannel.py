"""OpenID Connect Back-Channel Logout 1.0: telling applications that a session has ended.

`store` queues a `backchannel_logout` outbox message in the transaction that ends sessions
(sign-out, RP logout, deactivation from any door). After the response of that request has gone
out, the server posts a signed logout token to each application signed in through those sessions;
`rollcall logout send` retries what failed (an application that was down).
"""

from __future__ import annotations

import logging
import time
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from joserfc import jwt
from sqlalchemy import select

from rollcall import senders
from rollcall.web.database import database_of
from sso import keys
from store import outbox
from store.db import Database, Tx, now
from store.models.logs import OutboxMessage
from store.models.sign_in import OAuthClient, SsoSession, SsoSessionClient

log = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_LIFETIME = 120
TIMEOUT = 5
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)
DELIVERED = "delivered"  # the payload's list of notices that went through


def logout_token(tx: Tx, issuer: str, client_id: str, user_id: str, sid: str | None) -> str:
    """A signed logout token; without `sid` it ends every session of the person at the
    application (Back-Channel Logout 1.0 §2.4)."""
    moment = int(time.time())
    claims = {
        "iss": issuer,
        "aud": client_id,
        "iat": moment,
        "exp": moment + TOKEN_LIFETIME,
        "jti": uuid.uuid4().hex,
        "sub": user_id,
        "events": {EVENT: {}},
    }
    if sid:
        claims["sid"] = sid
    key = keys.signing_key(tx)
    header = {"alg": keys.ALGORITHM, "kid": key.kid, "typ": "logout+jwt"}
    return jwt.encode(header, claims, key)


def deliver_pending(database: Database, issuer: str, limit: int = 50) -> int:
    """Post the logout tokens that are due; returns how many messages were completed.

    Each application's notice stands alone: whatever one application does (refuse, time out,
    answer half a response) fails its own notice, which is tried again later (MAX_ATTEMPTS in
    all), and neither stops nor repeats the notices of the others."""
    done = 0
    for message_id, payload, attempts in _claim(database, limit):
        failures = 0
        delivered = list(payload.get(DELIVERED, []))
        for notice, url, token in _notices(database, issuer, payload):
            try:
                _post(url, token)
            except Exception as exc:
                log.warning("back-channel logout to %s failed: %r", url, exc)
                failures += 1
            else:
                delivered.append(notice)
        _finish(database, message_id, attempts, failures, delivered)
        done += failures == 0
    return done


def _claim(database: Database, limit: int) -> list[tuple[int, dict[str, Any], int]]:
    with database.transaction() as tx:
        rows = outbox.claim(tx, outbox.BACKCHANNEL_LOGOUT, limit, LEASE)
        return [(row.id, dict(row.payload), row.attempts) for row in rows]


def _notices(
    database: Database, issuer: str, payload: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """(notice, URL, logout token) for every application signed in through the ended sessions,
    or named by the message (offline access ended), and not told yet; a notice is named by its
    session (or person) and client."""
    sessions = [uuid.UUID(s) for s in payload.get("sessions", [])]
    if payload.get("clients"):
        return _person_notices(database, issuer, payload)
    if not sessions:
        return []
    delivered = set(payload.get(DELIVERED, []))
    with database.transaction() as tx:
        rows = tx.execute(
            select(SsoSession.id, SsoSession.user_id, OAuthClient)
            .join(SsoSessionClient, SsoSessionClient.session_id == SsoSession.id)
            .join(OAuthClient, OAuthClient.client_id == SsoSessionClient.client_id)
            .where(SsoSession.id.in_(sessions), OAuthClient.backchannel_logout_uri.is_not(None))
        ).all()
        return [
            (
                notice,
                client.backchannel_logout_uri,
                logout_token(tx, issuer, client.client_id, str(user_id), str(session_id)),
            )
            for session_id, user_id, client in rows
            if (notice := f"{session_id} {client.client_id}") not in delivered
        ]


def _person_notices(
    database: Database, issuer: str, payload: dict[str, Any]
) -> list[tuple[str, str, str]]:
    """Notices naming the person only, to the applications the message names."""
    user_id = payload["user_id"]
    delivered = set(payload.get(DELIVERED, []))
    with database.transaction() as tx:
        clients = tx.scalars(
            select(OAuthClient).where(
                OAuthClient.client_id.in_(payload["clients"]),
                OAuthClient.backchannel_logout_uri.is_not(None),
            )
        ).all()
        return [
            (
                notice,
                client.backchannel_logout_uri,
                logout_token(tx, issuer, client.client_id, user_id, None),
            )
            for client in clients
            if (notice := f"{user_id} {client.client_id}") not in delivered
        ]


def _post(url: str, token: str) -> None:
    body = urllib.parse.urlencode({"logout_token": token}).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        response.read()


def _finish(
    database: Database, message_id: int, attempts: int, failures: int, delivered: list[str]
) -> None:
    with database.transaction() as tx:
        row = tx.get(OutboxMessage, message_id)
        if row is None:
            return
        row.payload = {**row.payload, DELIVERED: delivered}  # not told again on a retry
        if failures == 0 or attempts >= MAX_ATTEMPTS:
            row.sent_at = now()
            row.last_error = None if failures == 0 else f"{failures} applications unreachable"
        else:
            row.available_at = now() + timedelta(minutes=2**attempts)
            row.last_error = f"{failures} applications unreachable"


def _send_inline(app: Flask, base_url: str) -> None:
    issuer = app.config["ROLLCALL_SETTINGS"].issuer or base_url.rstrip("/")
    deliver_pending(database_of(app), issuer)


def init_app(app: Flask) -> None:
    senders.register(app, outbox.BACKCHANNEL_LOGOUT, _send_inline)
