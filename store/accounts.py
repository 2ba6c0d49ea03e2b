"""Accounts (organizations): created with their twelve contact roles, looked up by name or id."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from store import audit
from store.actors import Actor
from store.contact_roles import CONTACT_ROLES
from store.db import Tx, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound
from store.models.directory import Account, Group, fold
from store.profiles import AccountKind, Entitlement
from store.validation import clean_text

DETAIL_FIELDS = (
    "legal_name",
    "practice_specialty",
    "global_customer_id",
    "sap_customer_id",
    "us_only_support",
    "time_zone",
    "billing_address",
    "phone",
    "fax",
    "website",
)


def create_account(
    tx: Tx,
    actor: Actor,
    *,
    name: str,
    kind: str,
    entitlements: Iterable[str] = (),
    parent: str | uuid.UUID | None = None,
    **details: Any,
) -> Account:
    """Create an organization with its twelve contact-role groups (support and operators only)."""
    if not actor.privileged:
        raise Forbidden("Only support staff can create accounts.")
    name = clean_text(Account, "name", name, required=True)
    if tx.scalar(select(Account.id).where(Account.name_ci == fold(name))):
        raise Conflict(f"An account named {name!r} already exists.", field="name")
    account = Account(
        name=name,
        kind=_kind(kind).value,
        entitlements=_entitlements(entitlements),
        parent_id=_parent(tx, parent).id if parent else None,
    )
    _set_details(account, details)
    tx.add(account)
    tx.flush()
    for role in CONTACT_ROLES:
        tx.add(Group(account_id=account.id, display_name=role, is_contact_role=True))
    audit.record(
        tx,
        actor,
        "account.created",
        target_type="account",
        target_id=account.id,
        account_id=account.id,
        changes={"name": name, "kind": account.kind, "entitlements": account.entitlements},
    )
    return account


def update_account(tx: Tx, actor: Actor, account_id: uuid.UUID, **details: Any) -> Account:
    """Change the account's details (support staff only: the guide shows them read-only)."""
    if not actor.privileged:
        raise Forbidden("Only support staff can change account details.")
    account = get_account(tx, actor, account_id)
    before = {field: getattr(account, field) for field in details}
    _set_details(account, details)
    changes = {
        f: [before[f], getattr(account, f)] for f in details if before[f] != getattr(account, f)
    }
    audit.record(
        tx,
        actor,
        "account.updated",
        target_type="account",
        target_id=account.id,
        account_id=account.id,
        changes=changes,
    )
    return account


def mark_reviewed(tx: Tx, actor: Actor, account_id: uuid.UUID) -> Account:
    """Record the quarterly review of the account's users."""
    account = get_account(tx, actor, account_id)
    if not (actor.privileged or actor.manages_users):
        raise Forbidden("Only main contacts of the account can review its users.")
    account.last_reviewed_at = now()
    audit.record(
        tx,
        actor,
        "account.reviewed",
        target_type="account",
        target_id=account.id,
        account_id=account.id,
    )
    return account


def get_account(tx: Tx, actor: Actor, account_id: uuid.UUID) -> Account:
    account = tx.get(Account, account_id)
    if account is None or not (actor.privileged or actor.account_id == account.id):
        raise NotFound("No such account.")
    return account


def find_account(tx: Tx, name: str) -> Account | None:
    return tx.scalar(select(Account).where(Account.name_ci == fold(name.strip())))


def account_named(tx: Tx, name: str) -> Account:
    account = find_account(tx, name)
    if account is None:
        raise NotFound(f"No account named {name!r}.")
    return account


def search_accounts(tx: Tx, actor: Actor, search: str, *, limit: int = 50) -> Sequence[Account]:
    """Support's account search: names starting with the text given, in name order."""
    if not actor.privileged:
        raise Forbidden("Only support staff can search every account.")
    key = fold(search.strip())
    query = (
        select(Account).options(joinedload(Account.parent)).order_by(Account.name_ci).limit(limit)
    )
    if key:
        query = query.where(
            Account.name_ci >= key,
            Account.name_ci < key + "\U0010ffff",
            Account.name_ci.startswith(key, autoescape=True),
        )
    return tx.scalars(query).all()


def children(tx: Tx, account: Account) -> Sequence[Account]:
    return tx.scalars(
        select(Account).where(Account.parent_id == account.id).order_by(Account.name_ci)
    ).all()


def contact_role_groups(tx: Tx, account_id: uuid.UUID) -> dict[str, Group]:
    groups = tx.scalars(
        select(Group).where(Group.account_id == account_id, Group.is_contact_role.is_(True))
    ).all()
    return {group.display_name: group for group in groups}


def _kind(kind: str) -> AccountKind:
    try:
        return AccountKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in AccountKind)
        raise InvalidInput(
            f"Unknown account kind {kind!r} (one of {kinds}).", field="kind"
        ) from None


def _entitlements(values: Iterable[str]) -> list[str]:
    chosen = []
    for value in values:
        try:
            chosen.append(Entitlement(value).value)
        except ValueError:
            known = ", ".join(e.value for e in Entitlement)
            raise InvalidInput(
                f"Unknown entitlement {value!r} (one of {known}).", field="entitlements"
            ) from None
    return sorted(set(chosen))


def _parent(tx: Tx, parent: str | uuid.UUID) -> Account:
    found = tx.get(Account, parent) if isinstance(parent, uuid.UUID) else find_account(tx, parent)
    if found is None:
        raise NotFound(f"No parent account {parent!s}.", field="parent")
    return found


def _set_details(account: Account, details: dict[str, Any]) -> None:
    for field, value in details.items():
        if field not in DETAIL_FIELDS:
            raise InvalidInput(f"Accounts have no field {field!r}.", field=field)
        if field == "us_only_support":
            setattr(account, field, bool(value))
        else:
            setattr(account, field, clean_text(Account, field, value))
