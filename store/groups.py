"""Groups of an account: the twelve contact roles (fixed) and groups an identity provider pushes."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Select, and_, delete, exists, select, update

from store import audit, rules
from store.actors import Actor
from store.contact_roles import CONTACT_ROLES
from store.db import Tx, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from store.models.directory import Account, Group, Membership, User, fold
from store.rows import locked, write_columns
from store.validation import clean_text
from store.versions import IfMatch, is_stale


def create_group(
    tx: Tx,
    actor: Actor,
    *,
    account_id: uuid.UUID,
    display_name: str,
    external_id: str | None = None,
    members: Iterable[uuid.UUID] = (),
) -> Group:
    try:
        name = _name(display_name)
    except (InvalidInput, Conflict):
        name = None  # refused once the caller is known to manage the account
    # Whether the account exists and the name is taken in it: one query.
    found = tx.execute(
        select(_name_taken_in(account_id, name or "")).where(Account.id == account_id)
    ).first()
    if found is None:
        raise NotFound("No such account.")
    rules.ensure_manages_account(actor, account_id)
    if name is None:
        name = _name(display_name)
    if found[0]:
        raise _name_taken(name)
    group = Group(
        account_id=account_id,
        display_name=name,
        external_id=clean_text(Group, "external_id", external_id),
        is_contact_role=False,
        members=[],  # a new group has none yet: saying so spares a query when it is shown
    )
    tx.add(group)
    tx.flush()
    added = _add(tx, group, members)
    audit.record(
        tx,
        actor,
        "group.created",
        **_target(group),
        changes={"display_name": name, "members": added},
    )
    return group


def get_group(tx: Tx, actor: Actor, group_id: uuid.UUID, *, lock: bool = False) -> Group:
    """The group, if the caller may see it; `lock` holds its row until the transaction ends."""
    group = locked(tx, Group, group_id) if lock else tx.get(Group, group_id)
    if group is None:
        raise NotFound("No such group.")
    rules.ensure_visible(actor, group.account_id, "group")
    return group


def update_group(
    tx: Tx,
    actor: Actor,
    group_id: uuid.UUID,
    *,
    display_name: str | None = None,
    external_id: str | None = None,
    if_match: IfMatch = None,
) -> Group:
    """Rename a pushed group or set its externalId; contact roles keep their names."""
    group = lock_for_change(tx, actor, group_id, if_match)
    changes: dict[str, list[str | None]] = {}
    if display_name is not None:
        name = _name(display_name)
        if name != group.display_name:
            if group.is_contact_role:
                raise Forbidden(f"{group.display_name} is a contact role; its name is fixed.")
            if fold(name) != group.display_name_ci:
                _ensure_name_free(tx, group.account_id, name)
            changes["display_name"] = [group.display_name, name]
            group.display_name = name
            _groups_changed(tx, _member_ids(group.id))
    if external_id is not None:
        value = clean_text(Group, "external_id", external_id)
        if value != group.external_id:
            changes["external_id"] = [group.external_id, value]
            group.external_id = value
    if changes:
        _touch(tx, group)
        audit.record(tx, actor, "group.updated", **_target(group), changes=changes)
    return group


def delete_group(tx: Tx, actor: Actor, group_id: uuid.UUID, *, if_match: IfMatch = None) -> None:
    group = lock_for_change(tx, actor, group_id, if_match)
    if group.is_contact_role:
        raise Forbidden(f"{group.display_name} is a contact role; contact roles cannot be deleted.")
    audit.record(
        tx, actor, "group.deleted", **_target(group), changes={"display_name": group.display_name}
    )
    _groups_changed(tx, _member_ids(group.id))
    tx.delete(group)
    tx.flush()


def add_members(
    tx: Tx,
    actor: Actor,
    group_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    *,
    if_match: IfMatch = None,
) -> Group:
    group = lock_for_change(tx, actor, group_id, if_match)
    added = _add(tx, group, user_ids)
    if added:
        _touch(tx, group)
        audit.record(tx, actor, "group.members_added", **_target(group), changes={"members": added})
    return group


def remove_members(
    tx: Tx,
    actor: Actor,
    group_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    *,
    if_match: IfMatch = None,
) -> Group:
    group = lock_for_change(tx, actor, group_id, if_match)
    wanted = set(user_ids)
    removed = []
    if wanted:
        removed = sorted(
            tx.scalars(
                delete(Membership)
                .where(Membership.group_id == group.id, Membership.user_id.in_(wanted))
                .returning(Membership.user_id)
            )
        )
    if removed:
        _groups_changed(tx, removed)
        _touch(tx, group)
        tx.expire(group, ["members"])
        audit.record(
            tx,
            actor,
            "group.members_removed",
            **_target(group),
            changes={"members": [str(u) for u in removed]},
        )
    return group


def set_members(
    tx: Tx,
    actor: Actor,
    group_id: uuid.UUID,
    user_ids: Iterable[uuid.UUID],
    *,
    if_match: IfMatch = None,
) -> Group:
    """Make the membership exactly this set (SCIM PUT and `replace members`): the members are
    read under the group's lock, so that none added meanwhile is kept or removed unseen."""
    wanted = set(user_ids)
    group = lock_for_change(tx, actor, group_id, if_match)
    held = set(member_ids(tx, group.id))
    add_members(tx, actor, group.id, wanted - held)
    return remove_members(tx, actor, group.id, held - wanted)


def member_ids(tx: Tx, group_id: uuid.UUID) -> Sequence[uuid.UUID]:
    return tx.scalars(_member_ids(group_id)).all()


def lock_for_change(tx: Tx, actor: Actor, group_id: uuid.UUID, if_match: IfMatch = None) -> Group:
    """The group, locked until the transaction ends, if the caller manages it and it is at a
    version `if_match` names. Identity providers push members of one group in parallel: each
    change waits for the one before instead of failing on its version. A change made of several
    steps (a SCIM PATCH) takes it first, so that its version check and all it reads hold until
    it commits; its steps then find the group locked already."""
    group = get_group(tx, actor, group_id, lock=True)
    rules.ensure_manages_account(actor, group.account_id)
    _ensure_version(group, if_match)
    return group


def _ensure_version(group: Group, if_match: IfMatch) -> None:
    """Refuse a change made against an older version of the group."""
    if is_stale(group.version, if_match):
        raise PreconditionFailed(
            f"The group {group.display_name} was changed since it was read "
            f"(now version {group.version}); read it again before changing it."
        )


def _touch(tx: Tx, group: Group) -> None:
    """Record a change now, so the group handed back carries its new version (the ETag)."""
    group.modified_at = now()
    if not write_columns(tx, group):
        tx.flush()


def _add(tx: Tx, group: Group, user_ids: Iterable[uuid.UUID]) -> list[str]:
    wanted = set(user_ids)
    if not wanted:
        return []
    # The account's users among them, and whether each is a member already: one query.
    is_member = and_(Membership.user_id == User.id, Membership.group_id == group.id)
    found = dict(
        tx.execute(
            select(User.id, Membership.user_id.is_not(None))
            .outerjoin(Membership, is_member)
            .where(User.id.in_(wanted), User.account_id == group.account_id)
        ).all()
    )
    missing = sorted(str(u) for u in wanted - found.keys())
    if missing:
        raise InvalidInput(
            f"No user {', '.join(missing)} in this account: a group's members are users of its "
            "account (groups are not members of groups here).",
            field="members",
        )
    new = sorted(user for user, held in found.items() if not held)
    if group.is_contact_role and new:
        _refuse_people_who_left(tx, group, new)
    tx.add_all(Membership(group_id=group.id, user_id=u) for u in new)
    tx.flush()
    _groups_changed(tx, new)
    tx.expire(group, ["members"])
    return [str(u) for u in new]


def _refuse_people_who_left(tx: Tx, group: Group, user_ids: list[uuid.UUID]) -> None:
    """People "No Longer at Account" hold no contact role (SPEC §1 Users: they get none of the
    roles' mail), through any door."""
    left = sorted(
        tx.scalars(
            select(User.user_name).where(User.id.in_(user_ids), User.no_longer_at_account.is_(True))
        )
    )
    if left:
        raise Forbidden(
            f"{', '.join(left)} {'is' if len(left) == 1 else 'are'} No Longer at Account: "
            f"they hold no contact roles, {group.display_name} included.",
            field="members",
        )


def _groups_changed(tx: Tx, user_ids: Collection[uuid.UUID] | Select[Any]) -> None:
    """A user's `groups` are part of the user: those whose groups changed get a new version
    (and modification time), so their ETags no longer match what clients cached."""
    if isinstance(user_ids, Collection) and not user_ids:
        return
    tx.execute(
        update(User)
        .where(User.id.in_(user_ids))
        .values(version=User.version + 1, modified_at=now())
        .execution_options(synchronize_session="fetch")
    )


def losing_member(
    tx: Tx, user_id: uuid.UUID, already: Collection[uuid.UUID] = ()
) -> set[uuid.UUID]:
    """The groups of a user about to be deleted (but those `already` done), each given a new
    version and modification time: its members change with the deletion, so the ETags clients
    hold must stop matching. Called before the user is locked, it locks the groups first, as
    every change of a group's members does."""
    query = select(Membership.group_id).where(
        Membership.user_id == user_id, Membership.group_id.not_in(list(already))
    )
    # In the order of their ids, as every taker of several groups' locks: two deletions of
    # people who share groups then never wait for each other.
    ids = tx.scalars(
        select(Group.id).where(Group.id.in_(query)).order_by(Group.id).with_for_update()
    ).all()
    if ids:
        tx.execute(
            update(Group)
            .where(Group.id.in_(ids))
            .values(version=Group.version + 1, modified_at=now())
            .execution_options(synchronize_session=False)
        )
    return set(ids)


def _member_ids(group_id: uuid.UUID) -> Select[Any]:
    return select(Membership.user_id).where(Membership.group_id == group_id)


def _name(display_name: str) -> str:
    """A group's name, refused when it reads as a contact role's but is not spelled as one
    ("Super  User", two spaces: pages show it as the role; the role's own name is taken)."""
    name = clean_text(Group, "display_name", display_name, required=True, label="displayName")
    assert name is not None
    read = " ".join(fold(name).split())
    role = next((r for r in CONTACT_ROLES if fold(r) == read), None)
    if role is not None and fold(name) != fold(role):
        raise Conflict(
            f"{name!r} reads as the contact role {role}; choose another name.",
            field="display_name",
        )
    return name


def _ensure_name_free(tx: Tx, account_id: uuid.UUID, name: str) -> None:
    if tx.scalar(select(_name_taken_in(account_id, name))):
        raise _name_taken(name)


def _name_taken_in(account_id: uuid.UUID, name: str) -> Any:
    return exists().where(Group.account_id == account_id, Group.display_name_ci == fold(name))


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A group named {name!r} already exists in this account.", field="display_name")


def _target(group: Group) -> dict[str, object]:
    return {"target_type": "group", "target_id": group.id, "account_id": group.account_id}
