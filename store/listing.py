"""Pages of users and groups a caller may see: tenancy here, filters and order from the door.

The door (SCIM) compiles its filter and sort into SQL expressions and gives the whole order (ending
in a unique key); this module adds the caller's scope, counts, pages and loads the related rows in a
fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.orm import joinedload, selectinload

from store.actors import Actor
from store.db import Tx
from store.models import Group, User


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    total: int | None


def user_scope(actor: Actor) -> ColumnElement[bool]:
    """Users the caller may list: its own account's, or every account user for support."""
    if actor.privileged:
        return User.is_support.is_(False)
    return User.account_id == actor.account_id


def group_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.privileged:
        return true()
    return Group.account_id == actor.account_id


# One query for the page's users with their few emails, phones, applications and account; a
# second for their groups (a user of many pushed groups would multiply the joined rows).
USER_LOADS = (
    joinedload(User.account),
    joinedload(User.emails),
    joinedload(User.phone_numbers),
    joinedload(User.applications),
    selectinload(User.groups),
)


def users(
    tx: Tx,
    actor: Actor,
    *,
    where: ColumnElement[bool] | None = None,
    order: Sequence[Any] = (),
    offset: int = 0,
    limit: int = 100,
    count: bool = True,
) -> Page:
    query = select(User).where(user_scope(actor))
    if where is not None:
        query = query.where(where)
    return _page(tx, query, User, order, offset, limit, count, USER_LOADS)


def groups(
    tx: Tx,
    actor: Actor,
    *,
    where: ColumnElement[bool] | None = None,
    order: Sequence[Any] = (),
    offset: int = 0,
    limit: int = 100,
    count: bool = True,
    with_members: bool = True,
) -> Page:
    query = select(Group).where(group_scope(actor))
    if where is not None:
        query = query.where(where)
    loads = (selectinload(Group.members),) if with_members else ()
    return _page(tx, query, Group, order, offset, limit, count, loads)


def _page(
    tx: Tx,
    query: Select[Any],
    model: type[User] | type[Group],
    order: Sequence[Any],
    offset: int,
    limit: int,
    count: bool,
    loads: Sequence[Any],
) -> Page:
    items: Sequence[Any] = []
    if limit > 0:
        ordered = query.order_by(*(order or (model.created_at, model.id)))
        items = tx.scalars(ordered.offset(offset).limit(limit).options(*loads)).unique().all()
    total = None
    if count and 0 < len(items) < limit:
        total = offset + len(items)  # a page that is not full ends the list: no need to count
    elif count:
        total = tx.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return Page(items, total)
