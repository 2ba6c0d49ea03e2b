"""SCIM filters and sortBy compiled to SQL over the store's tables (RFC 7644 §3.4.2.2-3).

scim2-models parses and validates the filter against the resource model; this module walks its
syntax tree and emits one SQLAlchemy condition, so filtering always runs in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scim2_models import InvalidFilterException, ScimFilter, TooManyException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from sqlalchemy import (
    ColumnElement,
    Uuid,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from scim.schemas import COMMUNITY_URN, ENTERPRISE_URN, MAX_FILTER_TERMS
from store.db import UTCDateTime
from store.errors import InvalidInput
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
    primary_value,
)
from store.validation import clean_bool, storable

Op = CompareOperator
# Stands in for a dateTime that is not set (a user who never signed in) when sorting.
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Column:
    """An attribute stored in one column, and how its values compare (for a complex attribute
    used with `pr`, `expr` holds the Columns of its sub-attributes)."""

    expr: Any
    kind: str = "text"  # text | folded | exact | uuid | bool | datetime | constant | complex
    child: Child | None = None  # the multi-valued attribute this column belongs to


@dataclass(frozen=True)
class Child:
    """Rows of a multi-valued attribute: matched through EXISTS on the parent."""

    name: str
    source: Callable[[], Any]  # select(...) with the join and the link to the parent


def _emails() -> Any:
    return select(1).select_from(UserEmail).where(UserEmail.user_id == User.id)


def _phones() -> Any:
    return select(1).select_from(UserPhoneNumber).where(UserPhoneNumber.user_id == User.id)


def _user_groups() -> Any:
    return (
        select(1)
        .select_from(Membership)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.user_id == User.id)
    )


def _applications() -> Any:
    return (
        select(1)
        .select_from(ApplicationGrant)
        .join(Application, Application.id == ApplicationGrant.application_id)
        .where(ApplicationGrant.user_id == User.id)
    )


def _members() -> Any:
    return (
        select(1)
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.group_id == Group.id)
    )


EMAILS = Child("emails", _emails)
PHONES = Child("phoneNumbers", _phones)
USER_GROUPS = Child("groups", _user_groups)
APPLICATIONS = Child("applications", _applications)
MEMBERS = Child("members", _members)

_CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:user:"
_CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:group:"
_ENTERPRISE = ENTERPRISE_URN.lower() + ":"
_COMMUNITY = COMMUNITY_URN.lower() + ":"

USER_COLUMNS: dict[str, Column] = {
    _CORE_USER + "id": Column(User.id, "uuid"),
    _CORE_USER + "username": Column(User.user_name_ci, "folded"),
    _CORE_USER + "externalid": Column(User.external_id, "exact"),
    _CORE_USER + "name.givenname": Column(User.given_name),
    _CORE_USER + "name.familyname": Column(User.family_name),
    _CORE_USER + "name.middlename": Column(User.middle_name),
    _CORE_USER + "name.honorificprefix": Column(User.honorific_prefix),
    _CORE_USER + "name.honorificsuffix": Column(User.honorific_suffix),
    _CORE_USER + "name.formatted": Column(User.formatted_name),
    _CORE_USER + "displayname": Column(User.display_name),
    _CORE_USER + "nickname": Column(User.nick_name),
    _CORE_USER + "profileurl": Column(User.profile_url),
    _CORE_USER + "title": Column(User.title),
    _CORE_USER + "usertype": Column(User.user_type),
    _CORE_USER + "preferredlanguage": Column(User.preferred_language),
    _CORE_USER + "locale": Column(User.locale),
    _CORE_USER + "timezone": Column(User.timezone),
    _CORE_USER + "active": Column(User.active, "bool"),
    _CORE_USER + "meta.created": Column(User.created_at, "datetime"),
    _CORE_USER + "meta.lastmodified": Column(User.modified_at, "datetime"),
    _CORE_USER + "meta.resourcetype": Column("User", "constant"),
    _CORE_USER + "emails.value": Column(UserEmail.value_ci, "folded", EMAILS),
    _CORE_USER + "emails.type": Column(UserEmail.type, "text", EMAILS),
    _CORE_USER + "emails.primary": Column(UserEmail.primary, "bool", EMAILS),
    _CORE_USER + "emails.display": Column(UserEmail.display, "text", EMAILS),
    _CORE_USER + "phonenumbers.value": Column(UserPhoneNumber.value, "text", PHONES),
    _CORE_USER + "phonenumbers.type": Column(UserPhoneNumber.type, "text", PHONES),
    _CORE_USER + "phonenumbers.primary": Column(UserPhoneNumber.primary, "bool", PHONES),
    _CORE_USER + "phonenumbers.display": Column(UserPhoneNumber.display, "text", PHONES),
    _CORE_USER + "groups.value": Column(Membership.group_id, "uuid", USER_GROUPS),
    _CORE_USER + "groups.display": Column(Group.display_name_ci, "folded", USER_GROUPS),
    _CORE_USER + "groups.type": Column("direct", "constant", USER_GROUPS),
    _ENTERPRISE + "employeenumber": Column(User.employee_number),
    _ENTERPRISE + "costcenter": Column(User.cost_center),
    _ENTERPRISE + "organization": Column(User.organization),
    _ENTERPRISE + "division": Column(User.division),
    _ENTERPRISE + "department": Column(User.department),
    _ENTERPRISE + "manager.value": Column(User.manager_id, "uuid"),
    _COMMUNITY + "profile": Column(User.profile),
    _COMMUNITY + "nolongerataccount": Column(User.no_longer_at_account, "bool"),
    _COMMUNITY + "preferredcontactmethod": Column(User.preferred_contact_method),
    _COMMUNITY + "lastlogin": Column(User.last_login_at, "datetime"),
    _COMMUNITY + "account": Column(
        select(Account.name_ci).where(Account.id == User.account_id).scalar_subquery(), "folded"
    ),
    _COMMUNITY + "applications": Column(Application.key, "text", APPLICATIONS),
}

GROUP_COLUMNS: dict[str, Column] = {
    _CORE_GROUP + "id": Column(Group.id, "uuid"),
    _CORE_GROUP + "displayname": Column(Group.display_name_ci, "folded"),
    _CORE_GROUP + "externalid": Column(Group.external_id, "exact"),
    _CORE_GROUP + "meta.created": Column(Group.created_at, "datetime"),
    _CORE_GROUP + "meta.lastmodified": Column(Group.modified_at, "datetime"),
    _CORE_GROUP + "meta.resourcetype": Column("Group", "constant"),
    _CORE_GROUP + "members.value": Column(Membership.user_id, "uuid", MEMBERS),
    _CORE_GROUP + "members.display": Column(User.user_name_ci, "folded", MEMBERS),
    _CORE_GROUP + "members.type": Column("User", "constant", MEMBERS),
}


def compile_filter(
    scim_filter: ScimFilter[Any], columns: dict[str, Column], *, unknown_is_false: bool = False
) -> ColumnElement[bool]:
    """The SQL condition a SCIM filter stands for.

    With `unknown_is_false`, an attribute the resource type does not have matches nothing, as
    RFC 7644 §3.4.2.1 wants for a search across resource types; otherwise it is an error.
    """
    if _count_terms(scim_filter.ast) > MAX_FILTER_TERMS:
        raise TooManyException(
            detail=f"The filter has more than {MAX_FILTER_TERMS} comparisons; split it up."
        )
    return _Compiler(scim_filter, columns, unknown_is_false).visit(scim_filter.ast)


@dataclass(frozen=True)
class SortKey:
    """What `sortBy` orders by: whether the value is absent, where it can be (RFC 7644
    §3.4.2.3: those sort last ascending and first descending), then the value, never null, so
    that keyset paging can compare it."""

    absent: ColumnElement[bool] | None
    value: ColumnElement[Any]

    @property
    def columns(self) -> list[ColumnElement[Any]]:
        return [self.value] if self.absent is None else [self.absent, self.value]


def sort_key(binding: Any, columns: dict[str, Column]) -> SortKey | None:
    """The SQL to order by for an attribute; None where it is the same for every resource."""
    column = lookup(binding, columns)
    if column.kind == "constant":
        return None
    expr = column.expr
    if column.child is not None:
        if column.child is not EMAILS and column.child is not PHONES:
            raise InvalidFilterException(detail=f"Cannot sort on {binding.urn}.")
        # A multi-valued attribute sorts by its primary value, else its first.
        table = UserEmail if column.child is EMAILS else UserPhoneNumber
        expr = primary_value(table, User.id, column.expr)
    absent = None if getattr(expr, "nullable", True) is False else expr.is_(None)
    return SortKey(absent, _never_null(expr, column.kind))


def _never_null(expr: Any, kind: str) -> ColumnElement[Any]:
    if kind == "text":
        return func.coalesce(func.lower(expr), "")
    if kind in ("folded", "exact"):
        return func.coalesce(expr, "")
    if kind == "uuid":
        return func.coalesce(expr, literal(uuid.UUID(int=0), Uuid()))
    if kind == "bool":
        return func.coalesce(expr, False)
    return func.coalesce(expr, literal(EARLIEST, UTCDateTime()))


def lookup(binding: Any, columns: dict[str, Column]) -> Column:
    column = columns.get(binding.urn.lower())
    if column is None:
        name = binding.urn.rsplit(":", 1)[-1]
        raise InvalidFilterException(detail=f"Filtering and sorting on {name} are not supported.")
    return column


class _Compiler(FilterVisitor[ColumnElement[bool]]):
    def __init__(
        self, scim_filter: ScimFilter[Any], columns: dict[str, Column], unknown_is_false: bool
    ) -> None:
        self.filter = scim_filter
        self.columns = columns
        self.unknown_is_false = unknown_is_false
        self.inside: AttrPath | None = None  # the value path being compiled, if any

    def _column(self, attr_path: AttrPath, comparison: bool) -> Column | None:
        if self.inside is not None:
            attr_path = AttrPath(self.inside.attr, attr_path.attr, self.inside.uri)
        strict = not self.unknown_is_false
        binding = (
            self.filter.resolve_comparison(attr_path, strict=strict)
            if comparison
            else self.filter.resolve(attr_path, strict=strict)
        )
        if binding is None:
            return None
        if not comparison and binding.is_multivalued and not binding.sub_field_name:
            # `emails pr`: any row of the multi-valued attribute will do.
            rows = self.columns.get(binding.urn.lower() + ".value")
            if rows is not None and rows.child is not None:
                return Column(None, "any", rows.child)
        if not comparison and binding.urn.lower() not in self.columns:
            # `name pr`: a complex attribute is present when one of its sub-attributes is.
            prefix = binding.urn.lower() + "."
            parts = [c for key, c in self.columns.items() if key.startswith(prefix) and not c.child]
            if parts:
                return Column(parts, "complex")
        return lookup(binding, self.columns)

    def _wrap(self, column: Column, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        if column.child is None or self.inside is not None:
            return condition
        return exists(column.child.source().where(condition))

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        column = self._column(node.attr_path, comparison=True)
        if column is None:
            return false()
        if node.op == Op.ne:
            # SCIM: ne is true where the value is absent too, so it negates eq as a whole.
            equal = Comparison(node.attr_path, Op.eq, node.value)
            return not_(self.visit_comparison(equal))
        return self._wrap(column, _compare(column, node.op, node.value))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        column = self._column(node.attr_path, comparison=False)
        if column is None:
            return false()
        if column.kind == "any":
            return self._wrap(column, true())
        if column.kind == "complex":
            return or_(*(_present(part) for part in column.expr))
        return self._wrap(column, _present(column))

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        if self.inside is not None:
            raise InvalidFilterException(detail="Value paths cannot be nested.")
        self.inside = node.attr_path
        try:
            try:
                column = self._column(AttrPath("value"), comparison=True)
            except InvalidFilterException:  # a complex attribute without rows here (addresses)
                name = node.attr_path.attr
                raise InvalidFilterException(
                    detail=f"Filtering and sorting on {name} are not supported."
                ) from None
            if column is None:
                return false()
            condition = self.visit(node.val_filter)
        finally:
            self.inside = None
        return exists(column.child.source().where(condition)) if column.child else condition


def _present(column: Column) -> ColumnElement[bool]:
    if column.kind == "constant":
        return true()
    condition = column.expr.is_not(None)
    if column.kind in ("text", "folded", "exact"):
        condition = and_(condition, column.expr != "")
    return condition


def _compare(column: Column, op: Op, value: Any) -> ColumnElement[bool]:
    expr, kind = column.expr, column.kind
    if kind == "constant":
        return true() if _compare_constant(expr, op, value) else false()
    if value is None:
        return expr.is_(None) if op == Op.eq else false()
    if kind == "uuid":
        if op != Op.eq:
            raise InvalidFilterException(detail="Ids can only be compared with eq and ne.")
        try:
            return expr == uuid.UUID(str(value))
        except ValueError:
            return false()
    if kind == "bool":
        if op != Op.eq:
            raise InvalidFilterException(detail=f"Operator {op.value} does not apply to booleans.")
        try:
            flag = clean_bool(value, "filter value")
        except InvalidInput:
            raise InvalidFilterException(detail=f"{value!r} is not a boolean.") from None
        return and_(expr.is_not(None), expr == flag)
    if kind == "datetime":
        return _ordered(expr, op, _datetime(value))
    text = str(value)
    if not storable(text):
        return false()  # no stored text holds NUL or half a character (\u0000, \ud800 escapes)
    if kind == "folded":
        text = fold(text)
    elif kind == "text":
        expr, text = func.lower(expr), text.lower()
    condition = _string(expr, op, text)
    return and_(column.expr.is_not(None), condition)


def _string(expr: Any, op: Op, text: str) -> ColumnElement[bool]:
    if op == Op.co:
        return expr.contains(text, autoescape=True)
    if op == Op.sw:
        return expr.startswith(text, autoescape=True)
    if op == Op.ew:
        return expr.endswith(text, autoescape=True)
    return _ordered(expr, op, text)


def _ordered(expr: Any, op: Op, value: Any) -> ColumnElement[bool]:
    match op:
        case Op.eq:
            return expr == value
        case Op.gt:
            return expr > value
        case Op.ge:
            return expr >= value
        case Op.lt:
            return expr < value
        case Op.le:
            return expr <= value
    raise InvalidFilterException(detail=f"Operator {op.value} does not apply here.")


def _compare_constant(constant: str, op: Op, value: Any) -> bool:
    left, right = constant.lower(), str(value).lower()
    return {
        Op.eq: left == right,
        Op.co: right in left,
        Op.sw: left.startswith(right),
        Op.ew: left.endswith(right),
        Op.gt: left > right,
        Op.ge: left >= right,
        Op.lt: left < right,
        Op.le: left <= right,
    }[op]


def _datetime(value: Any) -> datetime:
    """A filter's dateTime in UTC; one beyond the years a dateTime can hold stands at its end."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidFilterException(detail=f"{value!r} is not a dateTime.") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00, before the first representable moment
        return EARLIEST if moment.year == 1 else _LATEST


def _count_terms(node: Any) -> int:
    if isinstance(node, LogicalExpr):
        return sum(_count_terms(term) for term in node.terms)
    if isinstance(node, Not):
        return _count_terms(node.expr)
    if isinstance(node, ValuePath):
        return _count_terms(node.val_filter)
    return 1
