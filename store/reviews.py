"""The quarterly review of an account's users (SPEC §1 Main contacts): when it is due, and what
the main contact should look at first. Marking it done is `accounts.mark_reviewed`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from store.actors import Actor
from store.db import Tx, now
from store.models.directory import Account, User
from store.user_search import managed_account

REVIEW_INTERVAL = timedelta(days=90)
# Users who have not signed in for this long are the ones a review usually removes.
DORMANT_AFTER = timedelta(days=90)


@dataclass(frozen=True)
class ReviewState:
    due: bool
    last_reviewed_at: datetime | None
    dormant_users: int


def is_due(account: Account, at: datetime | None = None) -> bool:
    last = account.last_reviewed_at
    return last is None or (at or now()) - last > REVIEW_INTERVAL


def review_state(tx: Tx, actor: Actor, account_id: uuid.UUID) -> ReviewState:
    """Whether the review is due, and how many active users have not signed in for 90 days."""
    account = managed_account(tx, actor, account_id)
    dormant = tx.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.account_id == account.id,
            User.active.is_(True),
            or_(User.last_login_at.is_(None), User.last_login_at < now() - DORMANT_AFTER),
        )
    )
    return ReviewState(is_due(account), account.last_reviewed_at, dormant or 0)
