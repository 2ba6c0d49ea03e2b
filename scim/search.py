"""Listing and searching (GET with query parameters, POST /.search): filter, sort, page.

Index paging (startIndex/count, RFC 7644 §3.4.2.4) and cursor paging (RFC 9865) share one
order: the sort key, then creation time and id. Cursors are keyset positions, valid for as long
as the client likes: their pages never repeat or skip a resource that existed when paging
began. An index page counts rows, so a resource created meanwhile but committed after a page
was read, earlier in the order, shifts the next page by one (a repeat)."""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from scim2_models import (
    Context,
    InvalidCursorException,
    InvalidValueException,
    ListResponse,
    ScimFilter,
    SearchRequest,
)
from sqlalchemy import Boolean, Uuid, cast, literal, null, select, tuple_, union_all

from scim import filters, group_json, mapping, quirks, user_json
from scim.schemas import DEFAULT_PAGE_SIZE, MAX_RESULTS, Group, UserResource, parametrized
from store import listing, rules
from store.actors import Actor
from store.db import Tx, UTCDateTime
from store.models.directory import Group as GroupRow
from store.models.directory import User as UserRow
from store.validation import storable

MAX_OFFSET = 2**31

QUERY_PARAMETERS = (
    "filter",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
    "cursor",
    "attributes",
    "excludedAttributes",
)


def from_query(model: Any, args: Mapping[str, str]) -> SearchRequest[Any]:
    """A search request from GET query parameters, validated like a POSTed one."""
    payload = {key: args[key] for key in QUERY_PARAMETERS if key in args}
    return parametrized(SearchRequest, model).model_validate(
        quirks.search_parameters(payload), scim_ctx=Context.SEARCH_REQUEST
    )


# `userName eq "..."` as identity providers write it: one space each side, a plain string value.
_USER_NAME_EQ = re.compile(r'(?i:username) (?i:eq) "([^"\\\x00-\x1f]*)"')
_ANSWERED_BY_LOOKUP = {"filter", "startIndex", "count"}


def user_name_lookup(args: Mapping[str, str]) -> str | None:
    """The userName a GET /Users asks for when it is a plain lookup by userName (a filter
    `userName eq "x"`, the first page, no sorting, cursor or projection), else None.

    Such a search has one result or none, so the whole search machinery is not needed for it.
    """
    present = {key for key in QUERY_PARAMETERS if key in args}
    if "filter" not in present or not present <= _ANSWERED_BY_LOOKUP:
        return None
    # Indexing, not `.get`: werkzeug's MultiDict.get makes (and drops) a KeyError per absent key.
    if "startIndex" in present and args["startIndex"] != "1":
        return None
    count = args["count"] if "count" in present else "1"
    if not (count.isascii() and count.isdigit() and int(count) >= 1):
        return None
    match = _USER_NAME_EQ.fullmatch(args["filter"])
    return match.group(1) if match else None


def from_body(model: Any, body: Mapping[str, Any]) -> SearchRequest[Any]:
    payload = quirks.search_parameters(dict(body))
    return parametrized(SearchRequest, model).model_validate(
        payload, scim_ctx=Context.SEARCH_REQUEST
    )


class _Kind:
    """What differs between searching users and groups."""

    def __init__(self, row: Any, model: Any, columns: dict[str, filters.Column]) -> None:
        self.row = row
        self.model = model
        self.columns = columns


USERS = _Kind(UserRow, UserResource, filters.USER_COLUMNS)
GROUPS = _Kind(GroupRow, Group, filters.GROUP_COLUMNS)


def search_users(
    tx: Tx, actor: Actor, search: SearchRequest[Any], base: str, *, lean: bool = True
) -> dict[str, Any]:
    """A page of users. Pages without a projection, which identity providers read through while
    importing, are written as plain dicts like a GET (scim.user_json); `lean=False` renders
    every page with scim2-models (the tests compare the two)."""
    plan = _Plan(tx, search, USERS)
    page = plan.fetch(functools.partial(listing.users, tx, actor))
    if lean and not (search.attributes or search.excluded_attributes):
        documents = [user_json.user_json(view, base) for view in plan.shown(page)]
        return user_json.list_response(
            documents,
            page.total or 0,
            start_index=max(search.start_index or 1, 1),
            by_cursor=plan.cursor is not None,
            next_cursor=plan.next_cursor(page),
        )
    return plan.respond(UserResource, _user_resources(tx, plan.shown(page), base), page)


def _user_resources(tx: Tx, views: Sequence[listing.UserView], base: str) -> list[Any]:
    """Users as scim2-models resources, their accounts' names read at once."""
    names = listing.account_names(tx, {view.user.account_id for view in views})
    return [mapping.view_to_scim(view, base, names.get(view.user.account_id)) for view in views]


def search_groups(
    tx: Tx, actor: Actor, search: SearchRequest[Any], base: str, *, lean: bool = True
) -> dict[str, Any]:
    """A page of groups; without a projection written as plain dicts (scim.group_json), and
    with scim2-models otherwise or with `lean=False` (the tests compare the two)."""
    plan = _Plan(tx, search, GROUPS)
    page = plan.fetch(functools.partial(listing.groups, tx, actor))
    shown = plan.shown(page)
    members = listing.member_ids(tx, [g.id for g in shown]) if wants_members(search) else {}
    if lean and not (search.attributes or search.excluded_attributes):
        return user_json.list_response(
            [group_json.group_json(g, base, members.get(g.id, [])) for g in shown],
            page.total or 0,
            start_index=max(search.start_index or 1, 1),
            by_cursor=plan.cursor is not None,
            next_cursor=plan.next_cursor(page),
        )
    resources = [mapping.group_to_scim(g, base, members.get(g.id)) for g in shown]
    return plan.respond(Group, resources, page)


def search_everything(
    tx: Tx, actor: Actor, search: SearchRequest[Any], base: str
) -> dict[str, Any]:
    """The root /.search: users first, then groups, one index-paged list; with `sortBy`, one
    order across both."""
    if search.cursor is not None:
        raise InvalidValueException(detail="Cursor paging is offered per resource type.")
    filter_text = str(search.filter) if search.filter is not None else None
    user_where = _compile_union(filter_text, USERS)
    group_where = _compile_union(filter_text, GROUPS)
    users_total = listing.users(tx, actor, where=user_where, limit=0).total or 0
    groups_total = listing.groups(tx, actor, where=group_where, limit=0).total or 0
    user_key, group_key = _sort_key(search, USERS), _sort_key(search, GROUPS)
    if user_key is None and group_key is None:
        found = _users_then_groups(tx, actor, search, user_where, group_where, users_total)
    else:
        keys = (user_key, group_key)
        found = _sorted_across(tx, actor, search, keys, user_where, group_where)
    views = [row for row in found if isinstance(row, listing.UserView)]
    as_users = dict(zip((v.user.id for v in views), _user_resources(tx, views, base), strict=True))
    group_ids = [row.id for row in found if not isinstance(row, listing.UserView)]
    members = listing.member_ids(tx, group_ids) if wants_members(search) else {}
    resources = [
        as_users[row.user.id]
        if isinstance(row, listing.UserView)
        else mapping.group_to_scim(row, base, members.get(row.id))
        for row in found
    ]
    response = parametrized(ListResponse, UserResource | Group)(
        total_results=users_total + groups_total,
        start_index=max(search.start_index or 1, 1),
        items_per_page=len(resources),
        resources=resources,
    )
    return response.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search)


def _users_then_groups(
    tx: Tx,
    actor: Actor,
    search: SearchRequest[Any],
    user_where: Any,
    group_where: Any,
    users_total: int,
) -> list[Any]:
    offset, count = _offset(search), _count(search)
    users = listing.users(tx, actor, where=user_where, offset=offset, limit=count, count=False)
    remaining = count - len(users.items)
    if remaining <= 0:
        return list(users.items)
    groups = listing.groups(
        tx,
        actor,
        where=group_where,
        offset=max(offset - users_total, 0),
        limit=remaining,
        count=False,
    )
    return [*users.items, *groups.items]


def _sorted_across(
    tx: Tx,
    actor: Actor,
    search: SearchRequest[Any],
    keys: tuple[Any, Any],
    user_where: Any,
    group_where: Any,
) -> list[Any]:
    """A page of users and groups in one order: the sort key (`keys`, for users and groups),
    those without a value (or whose type lacks the attribute) last ascending and first
    descending (RFC 7644 §3.4.2.3), then creation time and id."""
    user_key, group_key = keys
    typed = (user_key if user_key is not None else group_key).value.type
    parts = []
    for kind, key, where, scope in (
        (USERS, user_key, user_where, rules.listable_users(actor)),
        (GROUPS, group_key, group_where, listing.group_scope(actor)),
    ):
        if key is None:
            absent, value = literal(True), cast(null(), typed)
        else:
            absent = key.absent if key.absent is not None else literal(False)
            value = key.value
        part = select(
            absent.label("absent"),
            value.label("key"),
            literal(kind is USERS).label("is_user"),
            kind.row.created_at.label("created"),
            kind.row.id.label("id"),
        ).where(scope)
        parts.append(part if where is None else part.where(where))
    union = union_all(*parts).subquery()
    descending = str(search.sort_order or "ascending").lower() == "descending"
    order = [union.c.absent, union.c.key, union.c.created, union.c.id]
    page = tx.execute(
        select(union.c.is_user, union.c.id)
        .order_by(*(c.desc() if descending else c.asc() for c in order))
        .offset(_offset(search))
        .limit(_count(search))
    ).all()
    user_ids = [row.id for row in page if row.is_user]
    group_ids = [row.id for row in page if not row.is_user]
    loaded = {
        view.user.id: view
        for view in listing.users(
            tx, actor, where=UserRow.id.in_(user_ids), limit=len(user_ids), count=False
        ).items
    } | {
        row.id: row
        for row in listing.groups(
            tx, actor, where=GroupRow.id.in_(group_ids), limit=len(group_ids), count=False
        ).items
    }
    return [loaded[row.id] for row in page]


def wants_members(search: Any) -> bool:
    """Loading members is skipped when the response would not carry them."""
    excluded = [str(a).lower() for a in search.excluded_attributes or []]
    if any(a == "members" or a.startswith("members.") for a in excluded):
        return False
    if search.attributes:
        return any(str(a).lower().split(".")[0].endswith("members") for a in search.attributes)
    return True


def _compile_union(filter_text: str | None, kind: _Kind) -> Any:
    if filter_text is None:
        return None
    bound = ScimFilter[kind.model](filter_text)
    return filters.compile_filter(bound, kind.columns, unknown_is_false=True)


def _offset(search: Any) -> int:
    """Resources to skip for `startIndex`; one past any directory's size skips them all (a
    larger number would not fit the database's integers)."""
    return min(max((search.start_index or 1) - 1, 0), MAX_OFFSET)


def _count(search: Any) -> int:
    if search.count is None:
        return DEFAULT_PAGE_SIZE
    return max(0, min(search.count, MAX_RESULTS))


def _sort_key(search: SearchRequest[Any], kind: _Kind) -> filters.SortKey | None:
    """The SQL to order `kind` by for `sortBy`; None without one, or where the resource type
    lacks the attribute (a search across types) or it is the same for all (resourceType)."""
    if search.sort_by is None:
        return None
    binding = search.sort_by.resolve(kind.model)
    if binding is None:
        return None
    if binding.is_multivalued and not binding.sub_field_name:
        # RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its (primary) value.
        binding = dataclasses.replace(binding, urn=binding.urn + ".value")
    return filters.sort_key(binding, kind.columns)


class _Plan:
    """One search turned into SQL: condition, order, and the page to fetch."""

    def __init__(self, tx: Tx, search: SearchRequest[Any], kind: _Kind) -> None:
        self.tx = tx
        self.search = search
        self.kind = kind
        self.count = _count(search)
        self.where = filters.compile_filter(search.filter, kind.columns) if search.filter else None
        self.descending = str(search.sort_order or "ascending").lower() == "descending"
        self.key = _sort_key(search, kind)
        self.cursor = search.cursor
        if self.cursor is not None and search.start_index is not None:
            raise InvalidValueException(detail="Use either startIndex or cursor, not both.")

    def _order_columns(self) -> list[Any]:
        row = self.kind.row
        return [*self._key_columns(), row.created_at, row.id]

    def _key_columns(self) -> list[Any]:
        return self.key.columns if self.key is not None else []

    def query(self) -> dict[str, Any]:
        columns = self._order_columns()
        order = [c.desc() if self.descending else c.asc() for c in columns]
        if self.cursor is not None:
            return {
                "where": self.where,
                "after": self._position(columns) if self.cursor else None,
                "order": order,
                "offset": 0,
                "limit": self.count + 1,
                "count": False,
            }
        return {
            "where": self.where,
            "order": order,
            "offset": _offset(self.search),
            "limit": self.count,
        }

    def fetch(self, lister: Callable[..., listing.Page]) -> listing.Page:
        """The page, from `listing.users` or `listing.groups` bound to the caller. A cursor page
        is counted apart, over the whole filter: RFC 9865 §2 wants `totalResults` on it too."""
        page = lister(**self.query())
        if self.cursor is not None:
            page = dataclasses.replace(page, total=lister(where=self.where, limit=0).total)
        return page

    def shown(self, page: listing.Page) -> Sequence[Any]:
        """The rows a page shows: a cursor page reads one more, to know whether more follow."""
        return page.items if self.cursor is None else page.items[: self.count]

    def next_cursor(self, page: listing.Page) -> str | None:
        """The cursor of the page after a cursor page, while more follow."""
        if self.cursor is None or len(page.items) <= self.count or not self.count:
            return None
        return self._encode(page.items[self.count - 1])

    def respond(self, model: Any, resources: list[Any], page: listing.Page) -> dict[str, Any]:
        """The ListResponse of the page's `shown` resources."""
        if self.cursor is not None:
            response = parametrized(ListResponse, model)(
                total_results=page.total,
                items_per_page=len(resources),
                resources=resources,
                next_cursor=self.next_cursor(page),
            )
        else:
            response = parametrized(ListResponse, model)(
                total_results=page.total,
                start_index=max(self.search.start_index or 1, 1),
                items_per_page=len(resources),
                resources=resources,
            )
        return response.model_dump(
            scim_ctx=Context.SEARCH_RESPONSE, response_parameters=self.search
        )

    # Cursors: the sort values of the last resource returned, bound to this very search.

    def _fingerprint(self) -> str:
        text = (
            f"{self.search.filter}|{self.search.sort_by}|{self.descending}|{self.kind.row.__name__}"
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _encode(self, row: Any) -> str:
        record = row.user if isinstance(row, listing.UserView) else row
        key_values: list[Any] = []
        if self.key is not None:
            # Computed by the database, as the ORDER BY computes it.
            where = self.kind.row.id == record.id
            key_values = list(self.tx.execute(select(*self._key_columns()).where(where)).one())
        values = [self._fingerprint(), key_values, record.created_at.isoformat(), str(record.id)]
        raw = json.dumps(values, separators=(",", ":"), default=str).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _position(self, columns: list[Any]) -> Any:
        try:
            raw = base64.urlsafe_b64decode(self.cursor + "=" * (-len(self.cursor) % 4))
            fingerprint, key_values, created, row_id = json.loads(raw)
            keys = self._key_columns()
            if not isinstance(key_values, list):
                raise ValueError(key_values)
            # Bound as each key's own type: a dateTime or an id compares as one, not as text.
            values = [
                *(
                    literal(_typed(v, key.type), key.type)
                    for v, key in zip(key_values, keys, strict=True)  # ValueError if unequal
                ),
                literal(_moment(created), UTCDateTime()),
                literal(uuid.UUID(_text(row_id)), Uuid()),
            ]
        except (ValueError, TypeError, OverflowError, json.JSONDecodeError):
            raise InvalidCursorException(detail="The cursor is not one this server gave.") from None
        if fingerprint != self._fingerprint():
            raise InvalidCursorException(
                detail="The cursor belongs to another search (filter or sort changed)."
            )
        row = tuple_(*columns)
        return row < tuple_(*values) if self.descending else row > tuple_(*values)


def _typed(value: Any, key_type: Any) -> Any:
    """A sort value read back from a cursor's JSON as the Python type of its key; ValueError
    when it is not one (a cursor altered by hand)."""
    if isinstance(key_type, UTCDateTime):
        return _moment(value)
    if isinstance(key_type, Uuid):
        return uuid.UUID(_text(value))
    if isinstance(key_type, Boolean):
        if not isinstance(value, bool):
            raise ValueError(value)
        return value
    return _text(value)


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment.astimezone(UTC)  # OverflowError at the ends of the calendar, as stored


def _text(value: Any) -> str:
    if not isinstance(value, str) or not storable(value):
        raise ValueError(value)
    return value
