"""Pages of users and groups a caller may see: tenancy here, filters and order from the door.

The door (SCIM) compiles its filter and sort into SQL expressions and gives the whole order (ending
in a unique key); this module adds the caller's scope, counts, pages and loads the related rows in a
fixed number of queries.

Users are read as plain rows (`UserView`), not ORM objects: nothing tracked, nothing lazily loaded.
A page takes two queries (its users, then their emails, phones, groups and applications); the
single-user reads an identity provider sends before every push (by id, by userName) one each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    Uuid,
    any_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    true,
    union_all,
)

from store import credentials, plans, rules
from store.actors import Actor
from store.credentials import LIVE, LIVE_COLUMNS, LiveCredential
from store.db import Tx
from store.errors import NotFound
from store.hashes import digest
from store.models.directory import (
    Account,
    Application,
    ApplicationGrant,
    Group,
    Membership,
    User,
    UserEmail,
    UserPhoneNumber,
    fold,
)
from store.models.sign_in import ProvisioningCredential
from store.statements import Prepared, Reads, fetch


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    total: int | None


def group_scope(actor: Actor) -> ColumnElement[bool]:
    if actor.privileged:
        return true()
    return Group.account_id == actor.account_id


def users(
    tx: Tx,
    actor: Actor,
    *,
    where: ColumnElement[bool] | None = None,
    after: ColumnElement[bool] | None = None,
    order: Sequence[Any] = (),
    offset: int = 0,
    limit: int = 100,
    count: bool = True,
) -> Page:
    """A page of the users the caller may list, as views: `where` is the caller's filter,
    `after` a cursor's position (the rows past the last one shown, by `order`). Two round trips
    however many items its users have: the users' rows, then their emails, phones, groups and
    application keys."""
    query = select(User.id).where(rules.listable_users(actor))

    def read(page: Select[Any]) -> Sequence[Any]:
        return tx.connection().execute(page.with_only_columns(*SHOWN_COLUMNS)).all()

    page = _page(tx, query, User, where, after, order, (offset, limit), count, read)
    items: dict[Any, list[Any]] = {row.id: [] for row in page.items}
    if items:
        statement = _ITEMS[tx.get_bind().dialect.name]
        for item in tx.connection().execute(statement, {"ids": list(items)}):
            items[item.item_user].append(item)
    return Page([_assemble(row, items[row.id]) for row in page.items], page.total)


def groups(
    tx: Tx,
    actor: Actor,
    *,
    where: ColumnElement[bool] | None = None,
    after: ColumnElement[bool] | None = None,
    order: Sequence[Any] = (),
    offset: int = 0,
    limit: int = 100,
    count: bool = True,
) -> Page:
    """A page of the groups the caller may see; `where`, `after` and `order` as for `users`.
    Their members are `member_ids`."""
    query = select(Group.id).where(group_scope(actor))

    def read(page: Select[Any]) -> Sequence[Any]:
        return tx.scalars(page.with_only_columns(Group)).all()

    return _page(tx, query, Group, where, after, order, (offset, limit), count, read)


def _page(
    tx: Tx,
    query: Select[Any],
    model: type[User] | type[Group],
    where: ColumnElement[bool] | None,
    after: ColumnElement[bool] | None,
    order: Sequence[Any],
    window: tuple[int, int],
    count: bool,
    read: Callable[[Select[Any]], Sequence[Any]],
) -> Page:
    """The page `read` gives of `page_statement`, and the count of all when it is wanted."""
    offset, limit = window
    for condition in (where, after):
        if condition is not None:
            query = query.where(condition)
    items: Sequence[Any] = []
    if limit > 0:
        page = page_statement(query, model, order, offset, limit, tx.get_bind().dialect.name)
        with plans.index_order(tx, wanted=where is None):
            items = read(page)
    total = None
    if count and 0 < len(items) < limit:
        total = offset + len(items)  # a page that is not full ends the list: no need to count
    elif count:
        total = tx.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return Page(items, total)


def page_statement(
    query: Select[Any],
    model: type[User] | type[Group],
    order: Sequence[Any],
    offset: int,
    limit: int,
    dialect: str,
) -> Select[Any]:
    """The page's ids first, then their rows (a "deferred join": a deep page skips entries of
    the sort index alone); this selects the ids, to be replaced by the columns wanted. On
    PostgreSQL the ids are gathered once into an array that the primary key looks up,
    whatever the planner guesses: on a table never analyzed it took users for one row, and
    ran a subquery of the ids once for every user of the account."""
    order = order or (model.created_at, model.id)
    ids = query.with_only_columns(model.id).order_by(*order).offset(offset).limit(limit)
    if dialect == "postgresql":
        gathered = select(func.array_agg(literal_column("page.id"))).select_from(
            ids.subquery("page")
        )
        # An array expression (not `ANY (SELECT ...)`, which would compare with each row).
        chosen = model.id == any_(cast(gathered.scalar_subquery(), ARRAY(Uuid)))
    else:
        chosen = model.id.in_(ids.correlate(None).scalar_subquery())
    return select(model.id).where(chosen).order_by(*order)


# Users as plain rows.


@dataclass(frozen=True)
class UserView:
    """A user as shown to the caller: its columns (`user.title`, ...) and related rows, in the
    order the ORM relationships give them (emails and phones by position, groups by name)."""

    user: Any  # a row of SHOWN_COLUMNS, or a User
    emails: Sequence[Any]  # .value .type .primary .display
    phone_numbers: Sequence[Any]
    groups: Sequence[Any]  # .id .display_name
    application_keys: Sequence[str]

    @classmethod
    def of(cls, user: User) -> UserView:
        """The view of a user already loaded as an ORM object (after a change)."""
        return cls(
            user,
            user.emails,
            user.phone_numbers,
            user.groups,
            [a.key for a in user.applications],
        )


# What a view shows: not the sign-in secrets and state, nor the folded keys lookups use (each
# column read has a cost on the hottest reads).
_HIDDEN = {
    "password_hash",
    "password_changed_at",
    "failed_logins",
    "locked_at",
    "email_verified",
    "is_support",
    "managed_by",
}
SHOWN_COLUMNS = tuple(
    c for c in User.__table__.c if c.key not in _HIDDEN and not c.key.endswith("_ci")
)


def user_view(tx: Reads, actor: Actor, user_id: Any) -> UserView:
    """The user by id, if the caller may see it (as `users.get_user`: others' are NotFound)."""
    return _visible(actor, _view(fetch(tx, _BY_ID, {"user_id": user_id})))


def _visible(actor: Actor, view: UserView | None) -> UserView:
    if view is None:
        raise NotFound("No such user.")
    if actor.id != str(view.user.id):
        rules.ensure_visible(actor, view.user.account_id)
    return view


def user_view_by_name(tx: Reads, actor: Actor, user_name: str) -> UserView | None:
    """The user the caller may list with this userName (case-insensitive), if there is one."""
    key = {"user_name_ci": fold(user_name)}
    if actor.privileged:
        return _view(fetch(tx, _BY_NAME_ANY_ACCOUNT, key))
    return _view(fetch(tx, _BY_NAME_IN_ACCOUNT, key | {"account_id": actor.account_id}))


# The same two reads for the caller a provisioning token stands for, the token checked by the
# same statement: one round trip for the requests identity providers send most.


def user_view_for_token(
    tx: Reads, token: str, user_id: Any
) -> tuple[LiveCredential, UserView] | None:
    """The token's live credential and `user_view` for it; None when the token is not live."""
    rows = fetch(tx, _BY_ID_FOR_TOKEN, {"token_hash": digest(token), "user_id": user_id})
    if not rows:
        return None
    credential = _credential(rows[0])
    view = _view([row for row in rows if row.id is not None])
    return credential, _visible(credentials.actor(credential), view)


def user_view_by_name_for_token(
    tx: Reads, token: str, user_name: str
) -> tuple[LiveCredential, UserView | None] | None:
    """The token's live credential and `user_view_by_name` for it; None when the token is not
    live."""
    key = {"token_hash": digest(token), "user_name_ci": fold(user_name)}
    rows = fetch(tx, _BY_NAME_FOR_TOKEN, key)
    if not rows:
        return None
    credential = _credential(rows[0])
    return credential, _view([row for row in rows if row.id is not None])


def _credential(row: Any) -> LiveCredential:
    return LiveCredential(*row[: len(LiveCredential._fields)])


class _Entry(NamedTuple):
    value: str
    type: str | None
    primary: bool
    display: str | None


class _Group(NamedTuple):
    id: Any
    display_name: str


def _view(rows: Sequence[Row[Any]]) -> UserView | None:
    """The user of the rows _view_query gives (one per related item, or one alone)."""
    return _assemble(rows[0], rows) if rows else None


def _assemble(user: Any, items: Iterable[Any]) -> UserView:
    """The view of a user's row and its item rows (those of `_items`, in their order)."""
    related: dict[str | None, list[Any]] = {"e": [], "p": [], "g": [], "a": [], None: []}
    for item in items:
        related[item.item_kind].append(item)
    return UserView(
        user,
        [_Entry(r.item_value, r.item_type, r.item_primary, r.item_display) for r in related["e"]],
        [_Entry(r.item_value, r.item_type, r.item_primary, r.item_display) for r in related["p"]],
        [_Group(r.item_ref, r.item_value) for r in related["g"]],
        [r.item_value for r in related["a"]],
    )


def _view_query(user_id: Any, where: ColumnElement[bool]) -> Select[Any]:
    """The user's columns, joined with its emails, phones, groups and application keys: a row per
    item (in the order of the ORM relationships), in one round trip to the database."""
    items = _items(lambda column: column == user_id)
    return (
        select(*SHOWN_COLUMNS, *items.c)
        .select_from(User.__table__.outerjoin(items, true()))
        .where(where)
        .order_by(*_in_order(items))
    )


def _page_items(listed: Callable[[Any], ColumnElement[bool]]) -> Select[Any]:
    """The items of the users whose ids pass `listed` (a page's), as `_view_query` orders them."""
    items = _items(listed)
    return select(items).order_by(*_in_order(items))


def _in_order(items: Any) -> tuple[Any, ...]:
    """The order of the ORM relationships: emails and phones by position, groups by name."""
    return items.c.item_kind, items.c.item_n, items.c.item_value


def _items(of: Callable[[Any], ColumnElement[bool]]) -> Any:
    """The emails, phones, groups and application keys of the users whose ids pass `of`, one
    row each, with the user's id (`item_user`)."""
    emails, phones = UserEmail.__table__, UserPhoneNumber.__table__
    memberships, groups = Membership.__table__, Group.__table__
    grants, applications = ApplicationGrant.__table__, Application.__table__
    # The first SELECT types the result columns (SQLite needs them to read UUIDs and booleans).
    no_ref, no_text = cast(null(), Uuid), cast(null(), String)
    no_flag, zero = cast(null(), Boolean), literal(0, Integer)
    return union_all(
        select(
            literal("e").label("item_kind"),
            emails.c.position.label("item_n"),
            emails.c.value.label("item_value"),
            emails.c.type.label("item_type"),
            emails.c.primary.label("item_primary"),
            emails.c.display.label("item_display"),
            no_ref.label("item_ref"),
            emails.c.user_id.label("item_user"),
        ).where(of(emails.c.user_id)),
        select(
            literal("p"),
            phones.c.position,
            phones.c.value,
            phones.c.type,
            phones.c.primary,
            phones.c.display,
            no_ref,
            phones.c.user_id,
        ).where(of(phones.c.user_id)),
        select(
            literal("g"),
            zero,
            groups.c.display_name,
            no_text,
            no_flag,
            no_text,
            groups.c.id,
            memberships.c.user_id,
        )
        .select_from(memberships.join(groups))
        .where(of(memberships.c.user_id)),
        select(
            literal("a"),
            zero,
            applications.c.key,
            no_text,
            no_flag,
            no_text,
            no_ref,
            grants.c.user_id,
        )
        .select_from(grants.join(applications))
        .where(of(grants.c.user_id)),
    ).subquery("items")


def member_ids(tx: Tx, group_ids: Iterable[Any]) -> dict[Any, list[Any]]:
    """The ids of these groups' members, in the order of the ORM relationship (by userName):
    all a SCIM group shows of them. Read as ids, not users: a group of 10,000 members would
    otherwise load 10,000 users' rows."""
    found: dict[Any, list[Any]] = {group_id: [] for group_id in group_ids}
    if found:
        members = (
            select(Membership.group_id, Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(Membership.group_id.in_(list(found)))
            .order_by(User.user_name_ci)
        )
        # On the connection, without flushing the session: membership changes are written as
        # they are made (`store.groups`), and a change's audit event waits to go with its log.
        for group_id, user_id in tx.connection().execute(members):
            found[group_id].append(user_id)
    return found


def account_names(tx: Tx, ids: Iterable[Any]) -> dict[Any, str]:
    """The names of these accounts, by id (what a user's `account` attribute shows)."""
    named = select(Account.id, Account.name).where(Account.id.in_(list(ids)))
    return {account_id: name for account_id, name in tx.execute(named)}


# Built once: composing a statement costs more than running it (cache keys are kept with it).
_USERS = User.__table__
_NAMED = select(_USERS.c.id).where(_USERS.c.user_name_ci == bindparam("user_name_ci"))
_VIEW_BY_ID = _view_query(bindparam("user_id"), _USERS.c.id == bindparam("user_id"))
# A page's items. On PostgreSQL its users' ids go as one array: a list of 100 would be 400
# parameters, which the driver would convert into its own form for every page.
_ITEMS = {
    "postgresql": _page_items(lambda column: column == any_(bindparam("ids", ARRAY(Uuid)))),
    "sqlite": _page_items(lambda column: column.in_(bindparam("ids", expanding=True))),
}
_BY_ID = Prepared(_VIEW_BY_ID)
_BY_NAME_ANY_ACCOUNT = Prepared(
    _view_query(
        _NAMED.scalar_subquery(),
        (_USERS.c.user_name_ci == bindparam("user_name_ci"))
        & rules.users_listed_by(None, support=True),
    )
)
_BY_NAME_IN_ACCOUNT = Prepared(
    _view_query(
        _NAMED.scalar_subquery(),
        (_USERS.c.user_name_ci == bindparam("user_name_ci"))
        & rules.users_listed_by(bindparam("account_id"), support=False),
    )
)


def _for_token(view: Select[Any], listed: bool = False) -> Select[Any]:
    """The rows of `view`, each after the live credential of the token `token_hash`: none when
    the token is not live, one with the view's columns NULL when the view finds nothing (or,
    `listed`, nothing the credential may list)."""
    found = view.order_by(None).subquery("found")
    credential = ProvisioningCredential.__table__
    on = (
        rules.users_listed_by(
            credential.c.account_id, support=credential.c.is_support, users=found.c
        )
        if listed
        else true()
    )
    return (
        select(*(c.label(f"credential_{c.key}") for c in LIVE_COLUMNS), *found.c)
        .select_from(credential.outerjoin(found, on))
        .where(LIVE)
        .order_by(*_in_order(found))
    )


_BY_ID_FOR_TOKEN = Prepared(_for_token(_VIEW_BY_ID))
_BY_NAME_FOR_TOKEN = Prepared(
    _for_token(
        _view_query(
            _NAMED.scalar_subquery(), _USERS.c.user_name_ci == bindparam("user_name_ci")
        ).add_columns(_USERS.c.is_support),
        listed=True,
    )
)
