"""Who may open which linked application (SPEC §1 Applications), and where each grant came from.

A client registered with access `everyone` admits every active user (the community site); one with
`granted` admits only users who have its application: granted to them directly (by a main contact
or support in the console, or by the identity provider over SCIM: one list, the last writer's), or
through a group of their account mapped to the application, while they are members. Users flagged
"No Longer at Account" have none. The home page lists the same answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, exists, false, or_, select, update

from store import audit, rules
from store.actors import Actor
from store.db import Tx
from store.errors import Forbidden, InvalidInput, NotFound
from store.models.directory import (
    Account,
    Application,
    ApplicationGrant,
    Group,
    GroupApplication,
    Membership,
    User,
)
from store.models.sign_in import OAuthClient

# A direct grant's source, as `ApplicationGrant.granted_by` holds it, and as pages name it.
GRANT_SOURCES = {
    "main_contact": "a main contact",
    "support": "support",
    "identity_provider": "the identity provider",
}


def may_open(tx: Tx, user: User, client: OAuthClient) -> bool:
    """True when the user (an active one: `users.active_user`) may sign in to this client's
    application."""
    if client.access == "everyone":
        return True
    if client.application_id is None:
        return False
    query = select(exists(_held(user).where(Application.id == client.application_id)))
    return bool(tx.scalar(query))


def applications_for(tx: Tx, user: User) -> Sequence[Application]:
    """The applications the user may open, for the home page and the `applications` claim."""
    held = _held(user).with_only_columns(Application.id)
    query = (
        select(Application)
        .where(or_(Application.access == "everyone", Application.id.in_(held)))
        .order_by(Application.name)
    )
    return tx.scalars(query).all()


@dataclass(frozen=True)
class Source:
    """One reason a user has an application: a direct grant (`granted_by`) or a mapped group."""

    key: str
    granted_by: str | None = None
    group: str | None = None

    @property
    def label(self) -> str:
        if self.group is not None:
            return f"through the group {self.group}"
        return f"granted by {GRANT_SOURCES.get(self.granted_by or '', 'a main contact')}"


def sources_of(tx: Tx, user: User) -> list[Source]:
    """Every direct grant and group-carried application of the user (for the console)."""
    direct = tx.execute(
        select(Application.key, ApplicationGrant.granted_by)
        .join(ApplicationGrant, ApplicationGrant.application_id == Application.id)
        .where(ApplicationGrant.user_id == user.id)
    ).all()
    grouped = tx.execute(
        select(Application.key, Group.display_name)
        .join(GroupApplication, GroupApplication.application_id == Application.id)
        .join(Group, Group.id == GroupApplication.group_id)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id)
    ).all()
    found = [Source(key, granted_by=by) for key, by in direct]
    found += [Source(key, group=name) for key, name in grouped]
    return sorted(found, key=lambda s: (s.key, s.group or ""))


def source_of(actor: Actor) -> str:
    """What a direct grant made by this caller records as its source."""
    if actor.is_identity_provider:
        return "identity_provider"
    return "support" if actor.privileged else "main_contact"


def record_source(tx: Tx, actor: Actor, user_id: uuid.UUID, keys: Iterable[str]) -> None:
    """Stamp the grants of these applications (just made) with the caller as their source."""
    keys = list(keys)
    if not keys:
        return
    ids = select(Application.id).where(Application.key.in_(keys))
    tx.execute(
        update(ApplicationGrant)
        .where(ApplicationGrant.user_id == user_id, ApplicationGrant.application_id.in_(ids))
        .values(granted_by=source_of(actor))
        .execution_options(synchronize_session=False)
    )


def check_grant_change(
    actor: Actor, before: Iterable[Application], after: Iterable[Application]
) -> None:
    """The applications a caller may give or take: one open to everyone is no grant, and the
    Client Support Center is granted by support's vetting (the CSC registration paths), not by
    a main contact's checkbox nor an identity provider (SPEC §1 Applications)."""
    held = {a.key: a for a in before}
    wanted = {a.key: a for a in after}
    for key in sorted(wanted.keys() - held.keys()):
        if wanted[key].access == "everyone":
            raise InvalidInput(
                f"{wanted[key].name} is open to everyone; it is not granted.",
                field="applications",
            )
    if actor.privileged:
        return
    for key in sorted(held.keys() ^ wanted.keys()):
        if key in rules.VETTED_APPLICATIONS:
            raise Forbidden(
                "Access to the Client Support Center is granted by support after vetting "
                "(the Client Support Center request on the registration page), not here."
            )


def grantable(actor: Actor, applications: Iterable[Application]) -> list[Application]:
    """The applications the caller may tick for a user (the console's checkboxes)."""
    return [
        a
        for a in applications
        if a.access != "everyone" and (actor.privileged or a.key not in rules.VETTED_APPLICATIONS)
    ]


def map_group(
    tx: Tx, actor: Actor, group_id: uuid.UUID, key: str, *, account_id: uuid.UUID | None = None
) -> None:
    """Let the group's members have the application while they are members (`account_id`: the
    group must be of that account)."""
    group, application = _group_and_application(tx, actor, group_id, key, account_id)
    if tx.get(GroupApplication, (group.id, application.id)) is None:
        tx.add(GroupApplication(group_id=group.id, application_id=application.id))
        tx.flush()
        _audit_mapping(tx, actor, group, "group.application_mapped", application.key)


def unmap_group(
    tx: Tx, actor: Actor, group_id: uuid.UUID, key: str, *, account_id: uuid.UUID | None = None
) -> None:
    """The group no longer carries the application (direct grants stay)."""
    group, application = _group_and_application(tx, actor, group_id, key, account_id)
    removed = tx.execute(
        delete(GroupApplication).where(
            GroupApplication.group_id == group.id,
            GroupApplication.application_id == application.id,
        )
    ).rowcount
    if removed:
        _audit_mapping(tx, actor, group, "group.application_unmapped", application.key)


def pushed_groups(tx: Tx, account_id: uuid.UUID) -> list[tuple[Group, list[str]]]:
    """The account's groups other than the contact roles (those its identity provider pushes),
    each with the keys of the applications it carries (the caller checked the account)."""
    found = tx.scalars(
        select(Group)
        .where(Group.account_id == account_id, Group.is_contact_role.is_(False))
        .order_by(Group.display_name_ci)
    ).all()
    carried: dict[uuid.UUID, list[str]] = {g.id: [] for g in found}
    rows = tx.execute(
        select(GroupApplication.group_id, Application.key)
        .join(Application, Application.id == GroupApplication.application_id)
        .where(GroupApplication.group_id.in_(list(carried)))
        .order_by(Application.key)
    )
    for group_id, key in rows:
        carried[group_id].append(key)
    return [(g, carried[g.id]) for g in found]


def mapped_applications(tx: Tx, group_id: uuid.UUID) -> list[str]:
    query = (
        select(Application.key)
        .join(GroupApplication, GroupApplication.application_id == Application.id)
        .where(GroupApplication.group_id == group_id)
        .order_by(Application.key)
    )
    return list(tx.scalars(query))


def _group_and_application(
    tx: Tx, actor: Actor, group_id: uuid.UUID, key: str, account_id: uuid.UUID | None
) -> tuple[Group, Application]:
    group = tx.get(Group, group_id)
    if group is None or account_id not in (None, group.account_id):
        raise NotFound("No such group.")
    rules.ensure_visible(actor, group.account_id, "group")
    account = tx.get(Account, group.account_id)
    rules.ensure_manages(actor, account)
    rules.applications_allowed(account)
    application = tx.scalar(select(Application).where(Application.key == key))
    if application is None:
        raise InvalidInput(f"Unknown application {key}.", field="applications")
    check_grant_change(actor, [], [application])
    return group, application


def _audit_mapping(tx: Tx, actor: Actor, group: Group, action: str, key: str) -> None:
    audit.record(
        tx,
        actor,
        action,
        target_type="group",
        target_id=group.id,
        account_id=group.account_id,
        changes={"application": key},
    )


def _held(user: User) -> Select[tuple[Application]]:
    """The applications the user holds, directly or through a mapped group (none once "No
    Longer at Account")."""
    if user.no_longer_at_account:
        return select(Application).where(false())
    direct = exists().where(
        ApplicationGrant.user_id == user.id, ApplicationGrant.application_id == Application.id
    )
    grouped = exists().where(
        GroupApplication.application_id == Application.id,
        Membership.group_id == GroupApplication.group_id,
        Membership.user_id == user.id,
    )
    return select(Application).where(or_(direct, grouped))


def granted_by_support(tx: Tx, client: OAuthClient) -> bool:
    """Whether support's vetting, not a main contact, grants this client's application: the
    Client Support Center (SPEC §1 Applications)."""
    if client.application_id is None:
        return False
    key = tx.scalar(select(Application.key).where(Application.id == client.application_id))
    return key in rules.VETTED_APPLICATIONS
