"""Back-channel logout notices stand alone: an application that answers half a response fails its
own notice, tried again up to MAX_ATTEMPTS times, while the others are told once and at once."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from sso import backchannel
from store import clients, sso_sessions
from store.db import Database, now
from store.models.logs import OutboxMessage
from tests.live import logout_receiver

ISSUER = "https://id.example.test"


class Truncating:
    """An application's endpoint that declares 100 bytes of body, sends 5 and hangs up."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.uri = f"http://127.0.0.1:{self.listener.getsockname()[1]}/backchannel"
        self.asked = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    request += chunk
                self.asked += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello")


@pytest.fixture
def truncating() -> Iterator[Truncating]:
    endpoint = Truncating()
    yield endpoint
    endpoint.listener.close()


def message(db: Database) -> OutboxMessage:
    with db.transaction(write=False) as tx:
        return tx.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "backchannel_logout")
        ).one()


def test_a_broken_application_fails_only_its_own_notice(
    db: Database, operator: Any, make_account: Any, make_user: Any, truncating: Truncating
) -> None:
    user = make_user(make_account())
    with logout_receiver() as (healthy_uri, received):
        with db.transaction() as tx:
            session, _ = sso_sessions.start(tx, user)
            for name, uri in (("Broken", truncating.uri), ("Healthy", healthy_uri)):
                client, _ = clients.create_client(
                    tx,
                    operator,
                    name=name,
                    redirect_uris=["http://127.0.0.1/cb"],
                    backchannel_logout_uri=uri,
                )
                sso_sessions.add_client(tx, session.id, client.client_id)
        with db.transaction() as tx:
            sso_sessions.end(tx, session.id)  # queues the notices (no request sends them)

        assert backchannel.deliver_pending(db, ISSUER) == 0  # not done: one application failed
        assert received.get(timeout=5)  # the healthy one was told all the same
        pending = message(db)
        assert pending.sent_at is None and pending.last_error == "1 applications unreachable"

        for _ in range(backchannel.MAX_ATTEMPTS - 1):
            with db.transaction() as tx:  # its next try is due now, not in minutes
                tx.execute(update(OutboxMessage).values(available_at=now()))
            backchannel.deliver_pending(db, ISSUER)

        given_up = message(db)
        assert given_up.attempts == backchannel.MAX_ATTEMPTS and given_up.sent_at is not None
        assert truncating.asked == backchannel.MAX_ATTEMPTS
        assert received.empty()  # told once, not again with every retry of the broken one
        assert backchannel.deliver_pending(db, ISSUER) == 0
        assert truncating.asked == backchannel.MAX_ATTEMPTS
