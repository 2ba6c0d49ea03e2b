"""Forgot Username mails the user's stored address, in its stored spelling, however the address
was typed at the page (issue #20)."""

from __future__ import annotations

from collections.abc import Callable

from rollcall.mail import deliver_pending
from rollcall.settings import Settings
from store import recovery
from store.db import Database
from store.models.directory import User
from tests.mail import Mailbox


def test_the_username_goes_to_the_address_as_stored(
    db: Database, make_user: Callable[..., User], smtp_server: tuple[str, Mailbox], mailbox: Mailbox
) -> None:
    stored = "Fay.Forgetful@Example.COM"
    make_user(
        None, "fay.forgetful", emails=[{"value": stored, "primary": True}], email_verified=True
    )
    with db.transaction() as tx:
        recovery.ask(tx, recovery.USERNAME, "  FAY.FORGETFUL@example.com ")
    settings = Settings(database_url=db.url, smtp_url=smtp_server[0], base_url="https://id.test")
    assert deliver_pending(db, settings) == 1
    mail = mailbox.wait_for(stored, "username")
    assert mail.to == [stored] and mail.message["To"] == stored
    assert "fay.forgetful" in mail.text
