"""The audit log as support reads it (`store.audit_log`): targets named, not numbered, a deleted
one by what its event kept, and the changes as a short list."""

from __future__ import annotations

from collections.abc import Callable

from store import audit, audit_log, users
from store.actors import Actor
from store.db import Database
from store.models.directory import Account, User


def test_events_name_their_targets_and_list_their_changes(
    db: Database,
    operator: Actor,
    make_account: Callable[..., Account],
    make_user: Callable[..., User],
) -> None:
    account = make_account("Cedar Practice")
    kept = make_user(account, "kim.kept", given_name="Kim", family_name="Kept")
    gone = make_user(account, "dan.gone")
    with db.transaction() as tx:
        users.update_user(tx, operator, kept.id, {"given_name": "Kimberly", "title": "x" * 90})
        users.delete_user(tx, operator, gone.id)
    with db.transaction(write=False) as tx:
        events = audit.recent(tx, operator, account_id=account.id)
        lines = {(line.action, line.target): line for line in audit_log.lines(tx, events)}
    updated = lines["user.updated", "Kimberly Kept (kim.kept)"]
    assert updated.who == operator.label and updated.what == "user: updated"
    assert updated.account == "Cedar Practice"
    assert "given name: Kim → Kimberly" in updated.changes
    [title] = [c for c in updated.changes if c.startswith("title")]
    assert title.endswith("…") and len(title) < 90  # long values are cut
    assert ("user.deleted", "dan.gone (deleted)") in lines


def test_values_read_as_words() -> None:
    assert audit_log.changes(
        {"active": [True, False], "emails": [[], [{"value": "a@b.test"}]], "note": None}
    ) == ["active: yes → no", "emails: (none) → a@b.test", "note: (none)"]
