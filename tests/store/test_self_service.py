"""The self-service rules in `store` and the mail outbox, called directly: password policy,
registration, CSC directory and requests, reset and unlock, email change, delivery over SMTP."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rollcall.mail import deliver_pending
from rollcall.settings import Settings
from store import (
    clients,
    csc,
    links,
    oauth,
    outbox,
    passwords,
    recovery,
    registration,
    self_service,
)
from store.actors import Actor
from store.db import Database, now
from store.errors import Conflict, InvalidInput
from store.models.csc import CscAccessRequest, CscDirectoryEntry
from store.models.directory import User
from store.models.logs import OutboxMessage
from store.models.sign_in import SsoSession
from tests.mail import Mailbox
from tests.serving import free_port, run

PASSWORD = "harbor willow sixty two"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short one", "at least 12"),
        ("Password123!", "too common"),
        ("qwertyuiop12", "too common"),
        ("aaaaaaaaaaaaaa", "too common"),
        ("123456789012", "too common"),
        ("my name is sam.smith ok", "username"),
    ],
)
def test_password_policy_refuses(password: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        passwords.check_policy(password, "sam.smith")


def test_password_policy_accepts_a_long_uncommon_password() -> None:
    passwords.check_policy(PASSWORD, "sam.smith")


def test_registering_a_known_address_creates_nothing_and_tells_its_owner(
    db: Database, make_user: Callable[..., User]
) -> None:
    make_user(None, "first.owner", emails=[{"value": "owner@example.com", "primary": True}])
    with db.transaction() as tx:
        result = registration.register(
            tx,
            choice="guest",
            email="Owner@Example.com",
            given_name="Second",
            family_name="Try",
            user_name="second.try",
            password=PASSWORD,
        )
        assert result is None
        assert tx.scalar(select(User).where(User.user_name_ci == "second.try")) is None
        [message] = outbox.pending(tx, outbox.EMAIL)
        assert message.payload["template"] == "account_exists"


def test_registering_sends_the_verification_mail_alone(db: Database) -> None:
    """A registration is not enabled until its address is verified (FAQ 7): a mail saying the
    account is ready to sign in, beside the link, would send the person to a refusal."""
    with db.transaction() as tx:
        user = registration.register(
            tx,
            choice="guest",
            email="new.person@example.com",
            given_name="New",
            family_name="Person",
            user_name="new.person",
            password=PASSWORD,
        )
    with db.transaction(write=False) as tx:
        mine = [m for m in outbox.pending(tx) if m.payload.get("user_id") == str(user.id)]
    assert [m.payload["template"] for m in mine] == ["verify_email"]


def test_csc_directory_keeps_hashes_and_verifies_logins(db: Database) -> None:
    source = io.StringIO("username,password,email\nDana.CSC,first secret here,dana@example.com\n")
    with db.transaction() as tx:
        assert csc.import_csv(tx, Actor.system(), source) == (1, 0)
    with db.transaction() as tx:
        entry = tx.scalar(select(CscDirectoryEntry))
        assert entry is not None and "first secret" not in entry.password_hash
        directory = csc.LocalDirectory()
        assert directory.verify(tx, "dana.csc", "first secret here") == csc.CscIdentity(
            "Dana.CSC", "dana@example.com"
        )
        assert directory.verify(tx, "dana.csc", "wrong") is None
        assert directory.verify(tx, "nobody", "first secret here") is None


def test_csc_password_changes_stay_independent(db: Database) -> None:
    with db.transaction() as tx:
        csc.import_csv(tx, Actor.system(), io.StringIO(f"username,password\nido.csc,{PASSWORD}\n"))
    with db.transaction() as tx:
        user = registration.register(
            tx,
            choice="csc_member",
            email="ido@example.com",
            given_name="Ido",
            family_name="Csc",
            csc_user_name="IDO.CSC",
            csc_password=PASSWORD,
        )
        assert user is not None and user.user_name == "ido.csc"
        user.email_verified = True
    with db.transaction() as tx:
        self_service.change_password(tx, user.id, PASSWORD, "a different long phrase")
    with db.transaction() as tx:
        assert csc.LocalDirectory().verify(tx, "ido.csc", PASSWORD) is not None
        assert csc.has_access(tx, user)


def test_requests_undecided_after_72_hours_are_overdue(
    db: Database, make_user: Callable[..., User], database_url: str
) -> None:
    late = make_user(None, "late.request")
    recent = make_user(None, "recent.request")
    with db.transaction() as tx:
        old = csc.request_access(tx, late, organization="Late Clinic")
        old.created_at = now() - timedelta(hours=73)
        csc.request_access(tx, recent, organization="Recent Clinic")
    with db.transaction() as tx:
        assert [u.user_name for _, u in csc.overdue(tx)] == ["late.request"]
        assert csc.is_overdue(tx.get(CscAccessRequest, old.id))
    result = run(database_url, "csc", "overdue")
    assert result.returncode == 1 and "late.request" in result.stdout
    assert "recent.request" not in result.stdout
    with db.transaction() as tx:
        csc.decide(tx, Actor.system(), old.id, approve=False, note="Not a client")
        [message] = outbox.pending(tx, outbox.EMAIL)
        assert message.payload["decision"] == "rejected"
        with pytest.raises(Conflict):
            csc.decide(tx, Actor.system(), old.id, approve=True)
    assert run(database_url, "csc", "overdue").returncode == 0


def test_csc_import_command(db: Database, database_url: str, tmp_path: Path) -> None:
    export = tmp_path / "csc.csv"
    export.write_text("Username,Password\nerin.csc,imported secret 123\n", encoding="utf-8")
    result = run(database_url, "csc", "import", str(export))
    assert result.returncode == 0, result.stderr
    assert "1 added" in result.stdout
    export.write_text("name,secret\nx,y\n", encoding="utf-8")
    result = run(database_url, "csc", "import", str(export))
    assert result.returncode == 1 and "columns username and password" in result.stderr
    export.write_bytes("Username,Password\nrené,secret phrase 1\n".encode("latin-1"))
    result = run(database_url, "csc", "import", str(export))
    assert result.returncode == 1 and "is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


def test_reset_unlocks_verifies_and_ends_every_session(
    db: Database, make_user: Callable[..., User]
) -> None:
    user = make_user(None, "reset.me", password=PASSWORD, email_verified=True)
    with db.transaction() as tx:
        stored = tx.get(User, user.id)
        stored.locked_at, stored.failed_logins = now(), 6
        tx.add(SsoSession(user_id=user.id, token_hash="a" * 64))
        recovery.send_password_reset(tx, "RESET.ME")
        [message] = outbox.pending(tx, outbox.EMAIL)
        token = message.payload["link"].removeprefix("/reset/")
    with pytest.raises(InvalidInput, match="too common"), db.transaction() as tx:
        recovery.reset_password(tx, token, "password1234")
    with db.transaction() as tx:  # the refused attempt did not use the link up
        recovery.reset_password(tx, token, "brand new long phrase")
    with db.transaction() as tx:
        stored = tx.get(User, user.id)
        assert stored.locked_at is None and stored.failed_logins == 0 and stored.email_verified
        assert passwords.verify_password(stored.password_hash, "brand new long phrase")
        assert tx.scalar(select(SsoSession.ended_at)) is not None
    with pytest.raises(links.LinkRefused, match="already used"), db.transaction() as tx:
        recovery.reset_password(tx, token, "another long phrase")


def test_email_change_to_an_address_taken_meanwhile_is_refused(
    db: Database, make_user: Callable[..., User]
) -> None:
    user = make_user(None, "mover", password=PASSWORD)
    with db.transaction() as tx:
        self_service.request_email_change(tx, user.id, "wanted@example.com", PASSWORD)
        confirm = next(
            m for m in outbox.pending(tx) if m.payload["template"] == "email_change_confirm"
        )
        token = confirm.payload["link"].rsplit("/", 1)[1]
    make_user(None, "quicker", emails=[{"value": "wanted@example.com", "primary": True}])
    with pytest.raises(Conflict, match="already signs in another user"), db.transaction() as tx:
        self_service.confirm_email_change(tx, token)
    with pytest.raises(InvalidInput, match="current password"), db.transaction() as tx:
        self_service.request_email_change(tx, user.id, "other@example.com", "wrong")


def test_mail_goes_over_smtp_and_forgets_the_link(
    db: Database, make_user: Callable[..., User], smtp_server: tuple[str, Mailbox], mailbox: Mailbox
) -> None:
    user = make_user(None, "smtp.user", given_name="Sam")
    with db.transaction() as tx:
        registration.send_verification(tx, user)
    settings = Settings(
        database_url=db.url, smtp_url=smtp_server[0], base_url="https://id.example.com"
    )
    assert deliver_pending(db, settings) == 1
    mail = mailbox.wait_for("smtp.user@example.test", "Enable your")
    assert mail.text.startswith("Hello Sam,")
    assert mail.link("/verify/").startswith("https://id.example.com/verify/")
    with db.transaction(write=False) as tx:
        message = tx.scalar(select(OutboxMessage))
        assert message.sent_at is not None and message.payload["link"] == "(sent)"
    assert deliver_pending(db, settings) == 0  # nothing is sent twice


def test_mail_that_cannot_be_sent_waits_and_is_retried(
    db: Database, make_user: Callable[..., User]
) -> None:
    user = make_user(None, "unlucky.user")
    with db.transaction() as tx:
        outbox.enqueue_email(tx, user, "account_locked")
    down = Settings(database_url=db.url, smtp_url=f"smtp://127.0.0.1:{free_port()}")
    assert deliver_pending(db, down) == 0
    with db.transaction(write=False) as tx:
        message = tx.scalar(select(OutboxMessage))
        assert message.sent_at is None and message.attempts == 1 and message.last_error
        assert message.available_at > now()
    assert deliver_pending(db, down) == 0  # not due yet
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(OutboxMessage.attempts)) == 1


def test_mail_send_command_delivers_what_is_due(
    db: Database, make_user: Callable[..., User], database_url: str
) -> None:
    user = make_user(None, "cli.mail")
    with db.transaction() as tx:
        outbox.enqueue_email(tx, user, "account_locked")
    result = run(database_url, "mail", "send", "--once")  # development: kept for /dev/mail
    assert result.returncode == 0, result.stderr
    assert "sent 1 mail" in result.stdout
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(OutboxMessage.sent_at)) is not None


def test_the_mail_sender_answers_recovery_requests_and_forgets_the_login(
    db: Database, make_user: Callable[..., User], smtp_server: tuple[str, Mailbox], mailbox: Mailbox
) -> None:
    """Pages queue what was asked (recovery.ask); the sender finds whom it names, mails them,
    and keeps no trace of the login typed, known or not."""
    make_user(None, "asked.for", emails=[{"value": "asked@example.com", "primary": True}])
    with db.transaction() as tx:
        recovery.ask(tx, recovery.PASSWORD_RESET, "asked.for")
        recovery.ask(tx, recovery.PASSWORD_RESET, "nobody.known")
        recovery.ask(tx, recovery.USERNAME, "asked@example.com")
    settings = Settings(database_url=db.url, smtp_url=smtp_server[0], base_url="https://id.test")
    assert deliver_pending(db, settings) == 2
    assert mailbox.wait_for("asked@example.com", "Reset your").link("/reset/")
    assert "asked.for" in mailbox.wait_for("asked@example.com", "username").text
    with db.transaction(write=False) as tx:
        requests = tx.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == outbox.RECOVERY)
        ).all()
    assert len(requests) == 3 and all(r.sent_at is not None for r in requests)
    assert all("login" not in r.payload for r in requests)


def test_ending_an_applications_offline_access_withdraws_the_consent_too(
    db: Database, make_user: Callable[..., User], operator: Any
) -> None:
    """Else its next request for offline access got a new refresh token without asking."""
    user = make_user(None, "offline.person", password=PASSWORD, email_verified=True)
    with db.transaction() as tx:
        client, _ = clients.create_client(
            tx,
            operator,
            name="Third party",
            redirect_uris=["https://third.example/cb"],
            scopes=["openid", "offline_access"],
            access="everyone",
        )
        oauth.record_consent(tx, user.id, client.client_id, ["openid", "offline_access"])
    with db.transaction() as tx:
        assert oauth.consented(tx, user.id, client.client_id, ["openid", "offline_access"])
        oauth.end_offline_access(tx, tx.get(User, user.id), client.client_id)
    with db.transaction(write=False) as tx:
        assert not oauth.consented(tx, user.id, client.client_id, ["openid"])


def test_a_reset_link_a_main_contact_sends_says_who_sent_it(
    db: Database, enterprise: Any, make_user: Callable[..., User]
) -> None:
    """The person did not ask for it: "You (or someone else) asked" would read as a warning
    sign (a browser probe); the mail names who sent it. One asked for stays worded as before."""
    from rollcall import mail
    from store import user_mail

    member = make_user(enterprise.account, "member")
    with db.transaction() as tx:
        user_mail.send_password_reset(tx, enterprise.actor, member.id)
        payload = tx.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[-1].payload
        written = mail.render(payload, base_url="https://x.test", user=mail.user_of(tx, payload))
    assert "Your organization's main contact sent you a link" in written.text
    assert "main contact sent you a link" in written.html
    assert "You (or someone else)" not in written.text
    assert "If you did not ask" not in written.text and "If you did not ask" not in written.html
