"""The sending loops (`rollcall mail send`, `rollcall logout send`) outlive the database's
outages: a failure is logged, the loop waits longer after each one in a row, and sends once the
database is back. The loop is run with its `sleep` and a number of rounds given, so a test
neither waits nor stops it from outside; one test runs the command itself."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import store.engine
from rollcall import mail
from rollcall.cli.workers import LONGEST_PAUSE, keep_sending
from rollcall.settings import Settings
from sso import backchannel
from store import clients, outbox, sso_sessions
from store.db import Database
from tests.live import logout_receiver
from tests.outage import Proxy, named, terminate
from tests.serving import ROLLCALL, clean_env, free_port, run

ISSUER = "https://id.example.test"


def queue_a_mail(db: Database, user: Any) -> None:
    with db.transaction() as tx:
        outbox.enqueue_email(tx, user, "forgot_username")


def queue_a_logout(db: Database, operator: Any, user: Any, uri: str) -> None:
    """A signed-in session through an application told at `uri`, ended by a command."""
    with db.transaction() as tx:
        session, _ = sso_sessions.start(tx, user)
        client, _ = clients.create_client(
            tx, operator, name="ICD-10", redirect_uris=["http://127.0.0.1/cb"],
            backchannel_logout_uri=uri,
        )  # fmt: skip
        sso_sessions.add_client(tx, session.id, client.client_id)
    with db.transaction() as tx:
        sso_sessions.end(tx, session.id)


def test_the_mail_loop_sends_on_after_the_database_drops_its_connection(
    db: Database,
    make_account: Any,
    make_user: Any,
    smtp_server: tuple[str, Any],
    mailbox: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite has no server to drop connections")
    monkeypatch.setattr(store.engine, "PING_AFTER_IDLE", 3600.0)  # reused as within seconds
    name = f"worker_{uuid.uuid4().hex[:8]}"
    database = Database(named(db.url, name))
    settings = Settings(database_url=database.url, smtp_url=smtp_server[0], base_url=ISSUER)
    user = make_user(make_account(), "mae", emails=[{"value": "mae@example.com", "primary": True}])
    try:
        assert mail.deliver_pending(database, settings) == 0  # its connections are pooled
        queue_a_mail(db, user)
        assert terminate(db, name) >= 1
        pauses: list[float] = []
        keep_sending(
            lambda: mail.deliver_pending(database, settings),
            "sent {} mail(s)",
            once=False,
            interval=1.0,
            sleep=pauses.append,
            rounds=3,
        )
    finally:
        database.dispose()
    assert pauses == [2.0, 1.0, 1.0]  # failed and waited longer; sent; nothing more
    assert mailbox.wait_for("mae@example.com")
    failure = [r for r in caplog.records if r.name == "rollcall.workers"]
    assert len(failure) == 1 and "cannot reach its database" in failure[0].getMessage()


def test_the_logout_loop_waits_out_an_outage(
    db: Database, proxy: Proxy, operator: Any, make_account: Any, make_user: Any
) -> None:
    """The database gone for a while (three looks): each failure waits twice as long as the
    one before; once it is back, the notice goes out and the loop looks at its interval."""
    database = Database(proxy.url)
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 3:
            proxy.restore()

    with logout_receiver() as (uri, received):
        queue_a_logout(db, operator, make_user(make_account()), uri)
        proxy.cut()
        try:
            keep_sending(
                lambda: backchannel.deliver_pending(database, ISSUER),
                "delivered {} logout notice(s)",
                once=False,
                interval=1.0,
                sleep=sleep,
                rounds=5,
            )
        finally:
            database.dispose()
        assert received.get(timeout=5)
    assert pauses == [2.0, 4.0, 8.0, 1.0, 1.0]


def test_failures_in_a_row_wait_longer_up_to_a_limit() -> None:
    database = Database(f"postgresql://nobody@127.0.0.1:{free_port()}/none")  # nobody listens
    pauses: list[float] = []
    try:
        keep_sending(
            lambda: backchannel.deliver_pending(database, ISSUER),
            "delivered {} logout notice(s)",
            once=False,
            interval=100.0,
            sleep=pauses.append,
            rounds=4,
        )
    finally:
        database.dispose()
    assert pauses == [200.0, LONGEST_PAUSE, LONGEST_PAUSE, LONGEST_PAUSE]


def test_once_still_ends_with_the_failure() -> None:
    """`--once` is a command like any other: the database out of reach ends it with one line."""
    result = run(f"postgresql://nobody@127.0.0.1:{free_port()}/none", "logout", "send", "--once")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Cannot use the database")
    assert "Traceback" not in result.stderr


@pytest.mark.slow  # the command runs as a process, through an outage of seconds
def test_the_logout_command_keeps_running_through_an_outage(
    db: Database, proxy: Proxy, operator: Any, make_account: Any, make_user: Any, tmp_path: Any
) -> None:
    log = tmp_path / "worker.log"
    with logout_receiver() as (uri, received), log.open("w") as output:
        command = [*ROLLCALL, "--database", proxy.url, "logout", "send", "--interval", "0.5"]
        worker = subprocess.Popen(command, stdout=output, stderr=output, env=clean_env())
        try:
            proxy.cut()
            until(lambda: "sending failed (2 in a row)" in log.read_text(), worker)
            queue_a_logout(db, operator, make_user(make_account()), uri)
            proxy.restore()
            assert received.get(timeout=30)
            assert worker.poll() is None  # still running, for the next one
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert "cannot reach its database" in log.read_text()


def until(done: Callable[[], bool], process: subprocess.Popen[Any], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert process.poll() is None, f"the worker exited with {process.returncode}"
        assert time.monotonic() < deadline, "the worker never said so"
        time.sleep(0.1)
