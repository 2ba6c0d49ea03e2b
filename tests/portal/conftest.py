"""Fixtures of the console tests: a main contact and support staff, signed in."""

from __future__ import annotations

import pytest

from store import new_users
from tests.pages import Console


@pytest.fixture
def main_console(app, db, enterprise) -> Console:
    return Console(app, db, enterprise.main)


@pytest.fixture
def support_console(app, db, operator) -> Console:
    with db.transaction() as tx:
        staff = new_users.create_support_user(
            tx, operator, user_name="sam.support", email="s@v.test"
        )
    return Console(app, db, staff)
