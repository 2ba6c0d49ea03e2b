"""The Manage Users table: a page of an account's active or inactive users, searched and sorted
in SQL, with the counts the page shows ("1 - 25 of 1220 · Page 1 of 49").

Every sort order has an index (account, active, sort columns..., userName), so a page is read from
the index: the page's userNames first (an index-only scan on PostgreSQL, however deep the page),
then those users with their emails. A page past the middle of the list is
read from the other end. Searching matches each word as the start of the first name, last name,
username or an email address, as index ranges. Sorting by email reads the user's case-folded
primary address (`primary_email_ci`, kept with the emails); users without one sort first.
Sorting by last sign-in puts users who never signed in last, or first when descending (see
`sort_order`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, intersect, select, union
from sqlalchemy.orm import selectinload

from store import plans, rules
from store.actors import Actor
from store.db import Tx
from store.errors import Forbidden, NotFound
from store.models.directory import Account, User, UserEmail, fold

PER_PAGE_CHOICES = (5, 10, 25, 50, 100)
DEFAULT_PER_PAGE = 25
MAX_SEARCH_WORDS = 5
_HIGHEST = "\U0010ffff"  # sorts after every character: the end of a prefix range

# Each order ends in the unique userName, so pages never overlap or skip.
SORTS: dict[str, tuple[Any, ...]] = {
    "first_name": (User.given_name_ci, User.family_name_ci, User.user_name_ci),
    "last_name": (User.family_name_ci, User.given_name_ci, User.user_name_ci),
    "email": (User.primary_email_ci, User.user_name_ci),
    "user_name": (User.user_name_ci,),
    "profile": (User.profile, User.user_name_ci),
    "last_login": (User.last_login_at, User.user_name_ci),
}
DEFAULT_SORT = "first_name"

# The table shows names, email, username, profile and last sign-in: only the emails are needed,
# by their users' ids (joined, a never-analyzed user_emails was read whole for a page's 25).
_PAGE_LOADS = (selectinload(User.emails),)


@dataclass(frozen=True)
class UserPage:
    users: Sequence[User]
    total: int
    page: int
    pages: int
    per_page: int
    sort: str
    descending: bool

    @property
    def first(self) -> int:
        """The position of the page's first user (1-based), 0 on an empty list."""
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last(self) -> int:
        return self.first + len(self.users) - 1 if self.total else 0


def managed_account(tx: Tx, actor: Actor, account_id: uuid.UUID) -> Account:
    """The account whose users the caller manages: its main contacts and support only."""
    account = tx.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.")
    rules.ensure_manages(actor, account)
    return account


def page_of_users(
    tx: Tx,
    actor: Actor,
    account_id: uuid.UUID,
    *,
    active: bool = True,
    left: bool = False,
    search: str = "",
    sort: str = DEFAULT_SORT,
    descending: bool = False,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> UserPage:
    """One page of the account's active (or inactive) users; out-of-range pages are clamped.

    People "No Longer at Account" are in neither list but in one of their own (`left`), active
    or not: their records stay for history (SPEC §1 Users)."""
    managed_account(tx, actor, account_id)
    sort = sort if sort in SORTS else DEFAULT_SORT
    per_page = per_page if per_page in PER_PAGE_CHOICES else DEFAULT_PER_PAGE
    where = [User.account_id == account_id, User.no_longer_at_account.is_(left)]
    if not left:
        where.append(User.active == active)
    where += _matching(search, account_id, None if left else active)
    total = tx.scalar(select(func.count()).select_from(User).where(*where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    offset = (page - 1) * per_page
    count = max(0, min(per_page, total - offset))
    # Past the middle, count from the end instead: the last page is as quick as the first.
    from_end = offset > total - offset - count
    reverse = descending != from_end
    order = sort_order(sort, reverse=reverse)
    skip = total - offset - count if from_end else offset
    keys_query = select(User.user_name_ci).where(*where)
    if len(search.split()) > 1:
        # Several words match few users: take them first, then their order, instead of walking
        # the sort index testing each entry against every word.
        matched = select(User.id).where(*where).cte("matched").prefix_with("MATERIALIZED")
        keys_query = select(User.user_name_ci).join(matched, matched.c.id == User.id)
    with plans.index_order(tx, wanted=not search.split()):
        keys = list(tx.scalars(keys_query.order_by(*order).offset(skip).limit(count)))
    if from_end:
        keys.reverse()
    query = select(User).where(User.user_name_ci.in_(keys)).options(*_PAGE_LOADS)
    found = {u.user_name_ci: u for u in tx.scalars(query).unique()}
    users = [found[key] for key in keys if key in found]
    return UserPage(users, total, page, pages, per_page, sort, descending)


def sort_order(sort: str, *, reverse: bool = False) -> list[Any]:
    """The ORDER BY of a sort, ascending or reversed.

    An empty value (never signed in, no profile) sorts after every value: last ascending, first
    descending, on both databases. That is how PostgreSQL's indexes hold NULLs, so it reads the
    sort index either way; SQLite, whose NULLs come first, reads its index in two ranges.
    """
    return [_ordered(key, reverse) for key in SORTS[sort]]


def _ordered(key: Any, reverse: bool) -> Any:
    if not key.expression.nullable:
        return key.desc() if reverse else key.asc()
    return key.desc().nulls_first() if reverse else key.asc().nulls_last()


def inactive_matches(
    tx: Tx,
    actor: Actor,
    account_id: uuid.UUID,
    email: str,
    *,
    given_name: str | None = None,
    family_name: str | None = None,
) -> Sequence[User]:
    """The account's inactive users with this email address, or with this first and last name
    (the guide's inactive list has people with no address): activate one instead of adding a
    duplicate (the guide: "confirm that the user isn't already in the inactive users list")."""
    managed_account(tx, actor, account_id)
    inactive = (User.account_id == account_id, User.active.is_(False))
    found = []
    key = fold(email.strip())
    if key:
        found.append(
            select(User.id)
            .join(UserEmail, UserEmail.user_id == User.id)
            .where(*inactive, UserEmail.value_ci == key)
        )
    given, family = fold((given_name or "").strip()), fold((family_name or "").strip())
    if given and family:  # both: a last name alone would offer half the account
        found.append(
            select(User.id).where(
                *inactive, User.given_name_ci == given, User.family_name_ci == family
            )
        )
    if not found:
        return []
    query = (
        select(User)
        .where(User.id.in_(union(*found) if len(found) > 1 else found[0]))
        .options(selectinload(User.emails))
        .order_by(User.user_name_ci)
        .limit(10)
    )
    return tx.scalars(query).all()


def find_users(tx: Tx, actor: Actor, search: str, *, limit: int = 50) -> Sequence[User]:
    """Support's search over every account: users whose names, username or email start with
    the words given, with their accounts."""
    if not actor.privileged:
        raise Forbidden("Only support staff can search every account.")
    conditions = _matching(search)
    if not conditions:
        return []
    query = (
        select(User)
        .where(rules.listable_users(actor), *conditions)
        .options(selectinload(User.emails), selectinload(User.account))
        .order_by(User.user_name_ci)
        .limit(limit)
    )
    return tx.scalars(query).all()


def _matching(
    search: str, account_id: uuid.UUID | None = None, active: bool | None = None
) -> list[ColumnElement[bool]]:
    """Every word must start the first name, last name, username or one email of the user.

    Each word is a union of index range reads (one per field, within the account's active or
    inactive users when given), so a search never reads the whole account. The words' sets are
    intersected: as one condition each, a planner without statistics compared every user one
    word found with every user another found (1.4 million pairs for "mary gar").
    """
    scope = []
    if account_id is not None:
        scope.append(User.account_id == account_id)
    if active is not None:
        scope.append(User.active == active)
    found = []
    for word in fold(search).split()[:MAX_SEARCH_WORDS]:
        by_field = [
            select(User.id).where(*scope, _starts(column, word))
            for column in (User.given_name_ci, User.family_name_ci, User.user_name_ci)
        ]
        by_email = select(UserEmail.user_id).where(_starts(UserEmail.value_ci, word))
        found.append(union(*by_field, by_email))
    if len(found) > 1:
        # Each union read as a table: SQLite takes no parenthesized compound SELECT.
        sets = [select(ids.c.id) for ids in (each.subquery() for each in found)]
        return [User.id.in_(intersect(*sets))]
    return [User.id.in_(each) for each in found]


def _starts(column: Any, word: str) -> ColumnElement[bool]:
    # The range uses the column's index; LIKE keeps the match exact under any collation.
    return and_(column >= word, column < word + _HIGHEST, column.startswith(word, autoescape=True))
