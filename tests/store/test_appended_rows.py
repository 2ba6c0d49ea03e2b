"""Rows a change only appends (audit events, provisioning log entries, outbox messages) are
written at the end of its transaction, together: in the order they were added, with the
change, and refused as SQLAlchemy refuses any write."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from store import audit, outbox, provisioning_log
from store.models.logs import AuditEvent, OutboxMessage, ProvisioningLogEntry


@pytest.fixture(autouse=True)
def _no_purge(monkeypatch):
    """No purge of the log in these transactions: its DELETE would flush the rows before."""
    monkeypatch.setattr(provisioning_log, "_next_purge", float("inf"))


def _log(tx, account_id, request):
    return provisioning_log.record(
        tx,
        credential_id=None,
        account_id=account_id,
        method="PATCH",
        path="/scim/v2/Users/x",
        status=200,
        request=request,
        outcome="done",
    )


def test_appended_rows_keep_their_order_and_their_objects_get_their_ids(db, operator, enterprise):
    account_id = enterprise.account.id
    target = {"target_type": "user", "target_id": uuid.uuid4(), "account_id": account_id}
    with db.transaction() as tx:
        first = audit.record(tx, operator, "user.updated", **target, changes={"n": 1})
        entry = _log(tx, account_id, {"n": 2})
        message = outbox.enqueue(tx, outbox.EMAIL, {"to": "a@example.com", "n": 3})
        second = audit.record(tx, operator, "user.updated", **target, changes={"n": 4})
    assert first.id < second.id and entry.id is not None and message.id is not None
    assert first.at is not None and message.attempts == 0
    with db.transaction(write=False) as tx:
        events = audit.events_for(tx, "user", target["target_id"])
        (logged,) = tx.scalars(select(ProvisioningLogEntry)).all()
        sent = tx.scalars(select(OutboxMessage).where(OutboxMessage.id == message.id)).one()
    assert [(e.id, e.changes) for e in events] == [(first.id, {"n": 1}), (second.id, {"n": 4})]
    assert (logged.id, logged.request) == (entry.id, {"n": 2})
    assert sent.payload["n"] == 3


def test_appended_rows_go_with_a_change_undone(db, operator, enterprise):
    account_id = enterprise.account.id
    with pytest.raises(RuntimeError), db.transaction() as tx:
        audit.record(
            tx, operator, "user.updated", target_type="user", target_id="x", account_id=account_id
        )
        _log(tx, account_id, {"n": 1})
        raise RuntimeError("the change fails")
    with db.transaction(write=False) as tx:
        assert audit.events_for(tx, "user", "x") == []
        assert tx.scalars(select(ProvisioningLogEntry)).all() == []


def test_a_refused_appended_row_is_sqlalchemys_error_and_nothing_is_written(
    db, operator, enterprise
):
    if db.dialect != "postgresql":
        pytest.skip("SQLite keeps any JSON text, Infinity included")
    account_id = enterprise.account.id
    with pytest.raises(DBAPIError), db.transaction() as tx:
        audit.record(
            tx, operator, "user.updated", target_type="user", target_id="y", account_id=account_id
        )
        _log(tx, account_id, {"value": float("inf")})  # JSON PostgreSQL refuses
    with db.transaction(write=False) as tx:
        assert audit.events_for(tx, "user", "y") == []
        assert tx.scalars(select(AuditEvent).where(AuditEvent.target_id == "y")).all() == []
