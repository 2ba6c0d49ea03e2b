"""The twelve contact roles every account has as groups (SPEC §1 Contact roles = groups), and
how a user is made to hold some of them, under the lock every change of them takes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import select

from store.db import Tx, now
from store.errors import InvalidInput
from store.models.directory import Group, Membership, User

CONTACT_ROLES: dict[str, str] = {
    "Accounting Receiver": "Contact who handles billing questions.",
    "Change Approver": (
        "Contact with authority to approve Change Requests on behalf of your organization."
    ),
    "Clinician Receiver": "Medical professional at your organization.",
    "Default Case Contact": (
        "Contact who should be notified if we open a case on behalf of your organization."
    ),
    "IT Receiver": "Technical professional at your organization.",
    "License Key Receiver": "Contact who would receive keys for any new product licenses.",
    "NG Product Admin Receiver": "Non-clinical staff such as front office employee.",
    "Outage Notification Receiver": (
        "Contact who should be notified if there is an outage impacting your organization."
    ),
    "Purchasing Decision Maker": (
        "Contact who has authority to sign contracts for your organization."
    ),
    "Purchasing Influencer": "Contact who is part of the purchasing process for your organization.",
    "Security Reviewer": (
        "Contact who should be notified if we need to discuss security information for your "
        "organization."
    ),
    "Super User": (
        "Contact who is very knowledgeable on a product (i.e. administrator) for your organization."
    ),
}


def wanted_roles(user: User, roles: Iterable[str]) -> set[str]:
    """The contact roles asked for, checked: known ones, and only for a user of an account."""
    wanted = set(roles)
    unknown = sorted(wanted - set(CONTACT_ROLES))
    if unknown:
        raise InvalidInput(f"Unknown contact role {', '.join(unknown)}.", field="contact_roles")
    if wanted and user.account_id is None:
        raise InvalidInput("Only users of an account hold contact roles.", field="contact_roles")
    return wanted


def lock_contact_roles(tx: Tx, account_id: uuid.UUID | None) -> Sequence[Group]:
    """The account's contact roles, read afresh and locked until the transaction ends, in the
    order of their ids, so that two transactions locking them never wait for each other."""
    if account_id is None:
        return []
    query = (
        select(Group)
        .where(Group.account_id == account_id, Group.is_contact_role.is_(True))
        .order_by(Group.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return tx.scalars(query).all()


def hold_roles(tx: Tx, user: User, role_groups: Sequence[Group], wanted: set[str]) -> list[str]:
    """Make the user a member of exactly the `wanted` of these (locked) contact roles; returns
    the roles the user held before."""
    held = set(tx.scalars(select(Membership.group_id).where(Membership.user_id == user.id)))
    before = sorted(g.display_name for g in role_groups if g.id in held)
    for group in role_groups:
        if (group.display_name in wanted) != (group.id in held):
            if group.id in held:
                tx.execute(
                    Membership.__table__.delete().where(
                        Membership.group_id == group.id, Membership.user_id == user.id
                    )
                )
            else:
                tx.add(Membership(group_id=group.id, user_id=user.id))
            group.modified_at = now()
            tx.expire(group, ["members"])
    tx.flush()
    tx.expire(user, ["groups"])
    return before
