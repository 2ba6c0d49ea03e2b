"""names compared after Unicode normalization: every `_ci` key is NFKC, case folding, NFKC

The keys of the rows already there are computed again (only rows holding letters outside ASCII
can change). Where two rows that may not share a key would come to share one (`amanda` beside a
fullwidth one, two group names of one account, two account names, two CSC logins),
nothing is changed and the upgrade stops naming them: which of two people keeps a sign-in name
is for support to decide (rename one with the running version, then upgrade again), not for a
migration to guess.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00.000000
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from store.errors import Conflict

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def nfkc_fold(value: str) -> str:
    """store.models.fold as this revision defines it (kept here, so the revision stays as it is
    whatever fold becomes)."""
    import unicodedata

    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def case_fold(value: str) -> str:
    """The key before this revision."""
    return value.casefold()


# table, its key column, {key column: the column it folds}, the columns a key is unique within
# (None: not unique).
KEYS: list[tuple[str, str, dict[str, str], tuple[str, ...] | None]] = [
    ("accounts", "id", {"name_ci": "name"}, ()),
    ("groups", "id", {"display_name_ci": "display_name"}, ("account_id",)),
    (
        "users",
        "id",
        {
            "user_name_ci": "user_name",
            "given_name_ci": "given_name",
            "family_name_ci": "family_name",
        },
        (),
    ),
    ("user_emails", "id", {"value_ci": "value"}, None),
    ("csc_directory", "user_name_ci", {"user_name_ci": "user_name"}, ()),
]


def upgrade() -> None:
    _refold(nfkc_fold)


def downgrade() -> None:
    # Plain case folding tells apart every pair NFKC folding does: no key can collide going back.
    _refold(case_fold)


def _refold(fold: Callable[[str], str]) -> None:
    conn = op.get_bind()
    planned = [
        (name, *_plan(conn, name, key, folds, scope, fold)) for name, key, folds, scope in KEYS
    ]
    clashes = [line for _name, _changes, found in planned for line in found]
    if clashes:
        shown = "\n".join(f"  {line}" for line in clashes[:50])
        more = f"\n  ... and {len(clashes) - 50} more" if len(clashes) > 50 else ""
        raise Conflict(
            "Names that differ only in Unicode form or width would become equal; rename one of "
            f"each (with the version running now) and upgrade again:\n{shown}{more}"
        )
    for name, changes, _found in planned:
        _write(conn, name, changes)
        if name == "user_emails" and changes:
            _primary_email_keys(conn, {row["_user_id"] for row in changes})


def _plan(
    conn: Any,
    name: str,
    key: str,
    folds: dict[str, str],
    scope: tuple[str, ...] | None,
    fold: Callable[[str], str],
) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows whose keys change (as update parameters), and the clashes they would make."""
    owner = ("user_id",) if name == "user_emails" else ()
    names = {key, *folds, *folds.values(), *(scope or ()), *owner}
    table = sa.table(name, *(sa.column(c) for c in sorted(names)))
    unique_column = next(iter(folds))  # the first key is the unique one
    holders: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    changes: list[dict[str, Any]] = []
    last = None
    while True:
        query = sa.select(*table.c).order_by(table.c[key]).limit(BATCH)
        if last is not None:
            query = query.where(table.c[key] > last)
        rows = conn.execute(query).mappings().all()
        if not rows:
            break
        last = rows[-1][key]
        for row in rows:
            new = {ci: fold(row[source] or "") for ci, source in folds.items()}
            if scope is not None:
                where = (*(row[c] for c in scope), new[unique_column])
                holders[where].append(str(row[folds[unique_column]]))
            if any(new[ci] != row[ci] for ci in folds):
                change = {f"new_{ci}": value for ci, value in new.items()} | {"_key": row[key]}
                if name == "user_emails":
                    change["_user_id"] = row["user_id"]
                changes.append(change)
    found = [
        f"{name}: " + ", ".join(repr(n) for n in sorted(names))
        for names in holders.values()
        if len(names) > 1
    ]
    return changes, found


def _write(conn: Any, name: str, changes: list[dict[str, Any]]) -> None:
    if not changes:
        return
    folds = next(f for n, _k, f, _s in KEYS if n == name)
    key = next(k for n, k, _f, _s in KEYS if n == name)
    table = sa.table(name, *(sa.column(c) for c in {key, *folds}))
    statement = (
        sa.update(table)
        .where(table.c[key] == sa.bindparam("_key"))
        .values({ci: sa.bindparam(f"new_{ci}") for ci in folds})
    )
    for start in range(0, len(changes), BATCH):
        batch = [
            {k: v for k, v in c.items() if k != "_user_id"} for c in changes[start : start + BATCH]
        ]
        conn.execute(statement, batch)


def _primary_email_keys(conn: Any, user_ids: set[Any]) -> None:
    """users.primary_email_ci of the users whose addresses' keys changed (as 0006 fills it)."""
    users = sa.table("users", sa.column("id"), sa.column("primary_email_ci"))
    emails = sa.table(
        "user_emails",
        sa.column("user_id"),
        sa.column("value_ci"),
        sa.column("primary"),
        sa.column("position"),
    )
    chosen = (
        sa.select(emails.c.value_ci)
        .where(emails.c.user_id == users.c.id)
        .order_by(emails.c.primary.desc(), emails.c.position)
        .limit(1)
        .scalar_subquery()
    )
    ids = sorted(user_ids, key=str)
    for start in range(0, len(ids), 500):
        conn.execute(
            sa.update(users)
            .where(users.c.id.in_(ids[start : start + 500]))
            .values(primary_email_ci=sa.func.coalesce(chosen, ""))
        )
