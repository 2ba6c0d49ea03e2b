"""The provisioning log keeps 30 days and never a password."""

from datetime import timedelta

from sqlalchemy import select

from store import provisioning_log
from store.db import now
from store.models import ProvisioningLogEntry


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
