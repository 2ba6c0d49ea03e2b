"""The account's users as CSV rows, for the quarterly review: profile, contact roles,
applications and last sign-in of every user, read in batches so a large account streams."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from store import audit
from store.actors import Actor
from store.db import Database
from store.models.directory import User
from store.profiles import DISPLAY_NAMES, Profile
from store.user_search import managed_account

BATCH = 1000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER = (
    "Username",
    "First Name",
    "Last Name",
    "Email",
    "Profile",
    "Status",
    "No Longer at Account",
    "Contact Roles",
    "Applications",
    "Last Sign-in (UTC)",
    "Managed By",
)


def users_csv_rows(database: Database, actor: Actor, account_id: uuid.UUID) -> Iterator[list[str]]:
    """The header, then one row per user ordered by username. Checks access and records the
    export before the first row; each batch is its own short read."""
    with database.transaction() as tx:
        managed_account(tx, actor, account_id)
        audit.record(
            tx,
            actor,
            "account.users_exported",
            target_type="account",
            target_id=account_id,
            account_id=account_id,
        )
    return _rows(database, account_id)


def _rows(database: Database, account_id: uuid.UUID) -> Iterator[list[str]]:
    yield list(HEADER)
    after = ""
    while True:
        with database.transaction(write=False) as tx:
            batch = tx.scalars(
                select(User)
                .where(User.account_id == account_id, User.user_name_ci > after)
                .order_by(User.user_name_ci)
                .limit(BATCH)
                .options(
                    selectinload(User.emails),
                    selectinload(User.groups),
                    selectinload(User.applications),
                )
            ).all()
            rows = [_row(user) for user in batch]
        yield from rows
        if len(batch) < BATCH:
            return
        after = batch[-1].user_name_ci


def _row(user: User) -> list[str]:
    profile = DISPLAY_NAMES.get(Profile(user.profile), user.profile) if user.profile else ""
    cells = [
        user.user_name,
        user.given_name or "",
        user.family_name or "",
        user.primary_email or "",
        profile,
        "Active" if user.active else "Inactive",
        "Yes" if user.no_longer_at_account else "No",
        "; ".join(g.display_name for g in user.groups if g.is_contact_role),
        "; ".join(a.name for a in user.applications),
        user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "Never",
        user.managed_by or "",
    ]
    return [_inert(cell) for cell in cells]


def _inert(cell: str) -> str:
    """A value a spreadsheet will not run as a formula (names come from people and IdPs)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
