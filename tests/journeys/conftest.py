"""What the journeys share: the Client Support Center registered as a linked application."""

from __future__ import annotations

import pytest

from store import applications, clients, csc
from store.actors import Actor
from store.db import Database
from tests.browser import LiveServer
from tests.csc_application import CSC_ORIGIN, CscApplication


@pytest.fixture
def csc_application(db: Database, operator: Actor, live_server: LiveServer) -> CscApplication:
    """The CSC registered as Rollcall registers it (`rollcall client create --application csc`),
    with its launch address on the home page."""
    secret = "csc-client-secret-for-journeys"
    with db.transaction() as tx:
        application = applications.ensure_application(
            tx,
            operator,
            key=csc.APPLICATION,
            name="Client Support Center",
            launch_url=CSC_ORIGIN + "/",
        )
        clients.create_client(
            tx,
            operator,
            name="Client Support Center",
            redirect_uris=[f"{CSC_ORIGIN}/callback"],
            scopes=["openid", "profile", "email"],
            application=application,
            first_party=True,
            client_id="csc",
            secret=secret,
        )
    return CscApplication(live_server.url, "csc", secret)
