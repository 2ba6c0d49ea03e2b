"""A database out of reach is `Unavailable` whichever way a statement goes to it, the next use
after a dropped connection works again, and a COMMIT that loses its connection is not called an
outage (its change may have been made)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select

import store.engine
from store import audit, outages
from store.actors import Actor
from store.db import Database
from store.errors import OutcomeUnknown, Unavailable
from store.models.directory import Account
from store.models.logs import AuditEvent
from store.statements import Prepared, fetch, with_defaults
from tests.outage import named, terminate
from tests.serving import free_port

ACCOUNTS = Prepared(select(func.count()).select_from(Account))


def by_the_orm(database: Database) -> None:
    with database.transaction() as tx:
        tx.scalar(select(func.count()).select_from(Account))


def by_the_driver_in_a_unit_of_work(database: Database) -> None:
    with database.transaction() as tx:
        fetch(tx, ACCOUNTS, {})


def by_a_bare_reading(database: Database) -> None:
    with database.reading() as reads:
        fetch(reads, ACCOUNTS, {})


def by_a_write_together(database: Database) -> None:
    values = audit.event_values(
        Actor.system(), "test.written", target_type="test", target_id="1", account_id=None
    )
    database.insert_together([(AuditEvent, with_defaults(AuditEvent, values))])


def by_a_read_session(database: Database) -> None:
    """A session the caller closes, as SCIM's request read session: closing it after its
    connection was lost is no error of its own."""
    session = database.session(write=False)
    try:
        fetch(session, ACCOUNTS, {})
    finally:
        outages.close(session)


WAYS = [
    by_the_orm,
    by_the_driver_in_a_unit_of_work,
    by_a_bare_reading,
    by_a_write_together,
    by_a_read_session,
]


@pytest.mark.parametrize("way", WAYS)
def test_a_server_out_of_reach_is_unavailable(way: Callable[[Database], None]) -> None:
    database = Database(f"postgresql://nobody@127.0.0.1:{free_port()}/none")  # nobody listens
    try:
        with pytest.raises(Unavailable):
            way(database)
    finally:
        database.dispose()


@pytest.fixture
def dropped(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, str]]:
    """A database of connections of their own name, which the test ends from the server; the
    pool does not check a connection before reusing it (as within seconds of its last use)."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite has no server to drop connections")
    monkeypatch.setattr(store.engine, "PING_AFTER_IDLE", 3600.0)
    name = f"outage_{uuid.uuid4().hex[:8]}"
    database = Database(named(db.url, name))
    yield database, name
    database.dispose()


@pytest.mark.parametrize("way", WAYS)
def test_a_dropped_connection_is_unavailable_once_then_replaced(
    db: Database, dropped: tuple[Database, str], way: Callable[[Database], None]
) -> None:
    database, name = dropped
    way(database)
    assert terminate(db, name) >= 1
    with pytest.raises(Unavailable):
        way(database)
    way(database)


def test_a_commit_that_loses_its_connection_is_an_unknown_outcome(
    db: Database, dropped: tuple[Database, str]
) -> None:
    """The server may have committed before the connection went: that is no outage to retry
    blindly, nor a failure (here the server had not committed, elsewhere it had), but an
    outcome the caller must look for."""
    database, name = dropped
    values = audit.event_values(
        Actor.system(), "test.written", target_type="test", target_id="1", account_id=None
    )
    with pytest.raises(OutcomeUnknown), database.transaction() as tx:
        tx.add(AuditEvent(**with_defaults(AuditEvent, values)))
        tx.flush()
        terminate(db, name)  # the INSERT is on the server: only the COMMIT is left
    with db.transaction() as tx:
        assert tx.scalar(select(func.count()).select_from(AuditEvent)) == 0
    by_the_orm(database)  # and the connection is replaced


def test_a_transaction_the_database_stops_to_break_a_deadlock_is_busy(
    db: Database, make_account: Callable[..., Account]
) -> None:
    """PostgreSQL rolls one of two deadlocked transactions back: nothing of it was written, so
    it is `Busy` (each door's 503 "try again"), not a fault (a 500)."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite takes one write lock: its writers never deadlock")
    import threading

    first, second = make_account("First"), make_account("Second")
    both_locked = threading.Barrier(2, timeout=10)
    outcomes: list[BaseException | None] = []

    def lock(one: Account, then: Account) -> None:
        try:
            with db.transaction() as tx:
                tx.get(Account, one.id, with_for_update=True)
                both_locked.wait()
                tx.get(Account, then.id, with_for_update=True, populate_existing=True)
            outcomes.append(None)
        except BaseException as exc:  # the outcome is what is tested
            outcomes.append(exc)

    threads = [
        threading.Thread(target=lock, args=(first, second)),
        threading.Thread(target=lock, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(type(o).__name__ for o in outcomes) == ["Busy", "NoneType"], outcomes
