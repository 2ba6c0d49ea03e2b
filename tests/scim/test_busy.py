"""A change that waits for a lock longer than a request may (another transaction holds the
user's row, an administrator locked the table) is given up and answered 503 saying the database
is busy, before the server would stop the worker; nothing is changed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from rollcall.app import create_app
from rollcall.settings import Settings
from store.db import Database
from store.models.directory import User
from store.models.logs import ProvisioningLogEntry
from tests.conftest import ScimClient

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
TITLE = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Dr"}]}


@pytest.fixture
def impatient(db: Database, enterprise: Any, make_token: Any) -> Any:
    """The enterprise account's identity provider, on an app whose statements wait half a
    second for a lock (a served app waits a third of ROLLCALL_REQUEST_TIMEOUT)."""
    database = Database(db.url, wait=0.5)
    app = create_app(Settings(database_url=db.url), database)
    yield ScimClient(app.test_client(), make_token(enterprise.account))
    database.dispose()


def test_a_served_app_waits_a_third_of_a_request_for_a_lock() -> None:
    assert Settings(request_timeout=30).database_wait == 10


def test_a_create_waiting_too_long_is_a_503_busy_not_an_unknown_outcome(
    db: Database, impatient: ScimClient, enterprise: Any
) -> None:
    """A create is one statement; given up while it waits, nothing was written, and the answer
    says so (before, PostgreSQL's was "whether it was cannot be told", SQLite's a 500)."""
    with db.engine.connect() as holder, holder.begin():
        if db.dialect == "postgresql":
            holder.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
        else:
            holder.execute(text("UPDATE users SET title = title"))
        response = impatient.post("/Users", {"schemas": [USER], "userName": "waiting"})
    assert response.status_code == 503, response.get_json()
    assert "busy" in response.get_json()["detail"]
    assert impatient.get('/Users?filter=userName eq "waiting"').get_json()["totalResults"] == 0


def test_a_change_waiting_too_long_for_a_lock_is_a_503_and_changes_nothing(
    db: Database, impatient: ScimClient, enterprise: Any
) -> None:
    user_id = enterprise.main.id
    with db.engine.connect() as holder, holder.begin():
        if db.dialect == "postgresql":
            holder.execute(select(User.id).where(User.id == user_id).with_for_update())
        else:
            holder.execute(text("UPDATE users SET title = title"))  # SQLite: the write lock
        response = impatient.patch(f"/Users/{user_id}", TITLE)
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"] == "5"
    assert "busy" in response.get_json()["detail"]
    with db.transaction(write=False) as tx:
        assert tx.get(User, user_id).title is None
        logged = tx.scalars(
            select(ProvisioningLogEntry.outcome).order_by(ProvisioningLogEntry.id.desc())
        ).first()
    if db.dialect == "postgresql":  # (SQLite's one writer was busy for the log's row too)
        assert "busy" in logged  # the log says why, not "internal error"
    assert impatient.patch(f"/Users/{user_id}", TITLE).status_code == 200
