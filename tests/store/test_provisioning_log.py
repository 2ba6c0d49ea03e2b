"""The provisioning log keeps 30 days and never a password."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from store import provisioning_log
from store.db import now
from store.models.logs import ProvisioningLogEntry


def test_entries_past_thirty_days_are_purged_and_passwords_hidden(db, enterprise):
    with db.transaction() as tx:
        old = provisioning_log.record(
            tx,
            credential_id=None,
            account_id=enterprise.account.id,
            method="POST",
            path="/scim/v2/Users",
            status=201,
            request={"userName": "a", "password": "s3cret!"},
            outcome="created",
        )
        old.at = now() - timedelta(days=31)
        recent = provisioning_log.record(
            tx,
            credential_id=None,
            account_id=enterprise.account.id,
            method="PATCH",
            path="/scim/v2/Users/1",
            status=200,
            request={"Operations": [{"op": "replace", "path": "password", "value": "s3cret!"}]},
            outcome="done",
        )
    with db.transaction() as tx:
        assert provisioning_log.purge(tx) == 1
    with db.transaction(write=False) as tx:
        (kept,) = tx.scalars(select(ProvisioningLogEntry)).all()
        shown = provisioning_log.entries(tx, enterprise.actor, enterprise.account.id)
    assert kept.id == recent.id and [e.id for e in shown] == [recent.id]
    assert "s3cret!" not in str(kept.request)


def test_a_process_purges_at_its_first_write_then_every_ten_minutes(monkeypatch):
    clock = [5000.0]
    monkeypatch.setattr(provisioning_log, "monotonic", lambda: clock[0])
    monkeypatch.setattr(provisioning_log, "_next_purge", 0.0)  # as a process starts
    assert provisioning_log.purge_due()
    assert not provisioning_log.purge_due()
    clock[0] += provisioning_log.PURGE_EVERY - 1
    assert not provisioning_log.purge_due()
    clock[0] += 1
    assert provisioning_log.purge_due()
    assert not provisioning_log.purge_due()


@pytest.mark.parametrize(
    "request_body",
    [
        {"userName": "a", "PassWord": "s3cret!"},
        {"Operations": [{"op": "Replace", "path": "PASSWORD", "value": "s3cret!"}]},
        {"Operations": [{"op": "replace", "value": {"password": "s3cret!"}}]},
        {"Operations": [{"op": "add", "path": "urn:x:password", "value": ["s3cret!"]}]},
    ],
)
def test_a_password_is_hidden_however_it_is_spelt_and_other_requests_kept(request_body):
    def logged(request: object) -> object:
        return provisioning_log.entry_values(
            credential_id=None,
            account_id=None,
            method="POST",
            path="/scim/v2/Users",
            status=201,
            request=request,
            outcome="created",
        )["request"]

    assert "s3cret!" not in json.dumps(logged(request_body))
    plain = {"userName": "a", "emails": [{"value": "a@example.com"}], "title": "pass word"}
    assert logged(plain) == plain
