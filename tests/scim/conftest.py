"""Fixtures of the SCIM tests: a user with every attribute, the app in either environment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from rollcall.app import create_app
from rollcall.settings import Settings
from store import applications, users
from store.models.directory import User
from tests.scim.resources import rich_body


@pytest.fixture
def rich(db, scim, enterprise, operator):
    """A user with every attribute Rollcall stores, two groups, an application and a sign-in."""
    boss = scim.create_user("boss")
    created = scim.post("/Users", rich_body(boss["id"]))
    assert created.status_code == 201, created.get_json()
    user_id = uuid.UUID(created.get_json()["id"])
    scim.create_group("Zeta team", [str(user_id)])
    scim.create_group("alpha team", [str(user_id)])
    with db.transaction() as tx:
        applications.ensure_application(tx, operator, key="connected_health", name="CH")
        users.grant_application(tx, operator, user_id, "connected_health")
        signed_in = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)  # no microseconds
        tx.execute(update(User).where(User.id == user_id).values(last_login_at=signed_in))
    return user_id


@pytest.fixture(params=["development", "production"])
def served(request: Any, db: Any) -> Any:
    """The app as configured in development and in production (which adds HSTS)."""
    return create_app(Settings(database_url=db.url, environment=request.param), db)
