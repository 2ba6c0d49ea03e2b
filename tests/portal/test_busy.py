"""A page's change that waits for a lock longer than a request may is given up: the page says
the service was busy and nothing was done (503), not that the directory is out of reach."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from rollcall.app import create_app
from rollcall.settings import Settings
from store.db import Database
from store.models.directory import User
from tests.pages import Console


def test_a_save_given_up_waiting_for_a_lock_says_the_service_was_busy(
    db: Database, make_user: Any
) -> None:
    person = make_user(None, "pat.person", given_name="Pat")
    impatient = Database(db.url, wait=0.5)
    try:
        console = Console(create_app(Settings(database_url=db.url), impatient), db, person)
        assert console.get("/profile").status_code == 200
        with db.engine.connect() as holder, holder.begin():
            if db.dialect == "postgresql":
                holder.execute(select(User.id).where(User.id == person.id).with_for_update())
            else:
                holder.execute(text("UPDATE users SET title = title"))  # SQLite: the write lock
            answer = console.post_form(
                "/profile",
                "basic",
                "/profile",
                given_name="Patricia",
                preferred_contact_method="email",
            )
    finally:
        impatient.dispose()
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    page = answer.get_data(as_text=True)
    assert "busy with another change" in page and "was not done" in page
    with db.transaction(write=False) as tx:
        assert tx.get(User, person.id).given_name == "Pat"
