"""What may happen to a user once added: read, update, replace, delete, deactivate, activate,
roles. (Adding one is `store.new_users`.)

Every operation checks tenancy and the rules of SPEC §1 here, writes one audit event, and queues
the mails and logout calls its change causes, all in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from store import (
    access,
    audit,
    credentials,
    groups,
    links,
    outbox,
    rules,
    sessions,
    sign_in_names,
    user_fields,
)
from store.actors import Actor, ActorType
from store.contact_roles import hold_roles, lock_contact_roles, wanted_roles
from store.db import Tx, integrity_message, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from store.models.directory import User, fold, primary_entry
from store.rows import locked, write_columns
from store.versions import IfMatch, is_stale

# Everything a full view of a user shows, fetched in the same query (a user has few of each).
WITH_RELATED = (
    joinedload(User.account),
    joinedload(User.emails),
    joinedload(User.phone_numbers),
    joinedload(User.groups),
    joinedload(User.applications),
)


def get_user(
    tx: Tx, actor: Actor, user_id: uuid.UUID, *, related: bool = False, lock: bool = False
) -> User:
    """The user, if the caller may see it: other accounts' users answer NotFound.

    `related` loads emails, phones, groups, applications and account with it, in one query;
    `lock` holds the user's row until the transaction ends, so concurrent changes queue.
    """
    if lock:
        user = locked(tx, User, user_id, WITH_RELATED if related else ())
    else:
        user = tx.get(User, user_id, options=WITH_RELATED if related else ())
    if user is None:
        raise NotFound("No such user.")
    if actor.id != str(user.id):
        rules.ensure_visible(actor, user.account_id)
    return user


def lock_for_change(tx: Tx, actor: Actor, user_id: uuid.UUID, *, may_leave: bool) -> User:
    """The user with what it shows, locked, for a change computed from it (a SCIM PATCH or
    PUT applied to the user as it is). A change that may set "No Longer at Account" takes the
    contact roles' locks first, as `update_user` would: taken after the user's, they would
    wait against a member added to a contact role, which locks the role before the user."""
    if may_leave:
        lock_contact_roles(tx, get_user(tx, actor, user_id).account_id)
    return get_user(tx, actor, user_id, related=True, lock=True)


def active_user(tx: Tx, user_id: Any, *, details: bool = False) -> User | None:
    """The user a session, code or token stands for, while they may use it: None once deleted
    or deactivated (SPEC §1 Users: deactivation ends sign-in and every session and token at
    once). `details` loads the account and emails with it (what pages and ID tokens show)."""
    return tx.scalar(_ACTIVE_DETAILED if details else _ACTIVE, {"user_id": user_id})


_ACTIVE = select(User).where(User.id == bindparam("user_id"), User.active.is_(True))
_ACTIVE_DETAILED = _ACTIVE.options(selectinload(User.emails), joinedload(User.account))


def update_user(
    tx: Tx,
    actor: Actor,
    user_id: uuid.UUID,
    changes: Mapping[str, Any],
    *,
    if_match: IfMatch = None,
    sign_in_to: str | None = None,
    proven: bool = False,
) -> User:
    """Change some fields; deactivation, activation and profile changes all come through here.
    `sign_in_to`: where an activated user's sign-in email goes, if not their address (`activate`).
    `proven`: the person changing their own record proved it is them (`rules.ensure_may_edit`).
    """
    if changes.get("no_longer_at_account"):
        # Leaving takes the contact roles away: lock them before the user, as every change of
        # roles does (`set_contact_roles`).
        lock_contact_roles(tx, get_user(tx, actor, user_id).account_id)
    user = get_user(tx, actor, user_id, lock=True)
    _check_version(user, if_match)
    clean = user_fields.normalize(tx, user, changes, pushed=actor.is_identity_provider)
    if "profile" in clean:
        profile = rules.check_profile(actor, user.account, user.profile, clean["profile"])
        clean["profile"] = profile.value if profile else user.profile
    diff = user_fields.changed(user, clean)
    rules.ensure_may_edit(actor, user, diff, proven=proven)
    rules.check_ownership(actor, user, diff)
    if "applications" in diff:
        rules.applications_allowed(user.account)
        access.check_grant_change(actor, user.applications, diff["applications"])
        if diff.get("no_longer_at_account", user.no_longer_at_account):
            rules.check_nothing_given_to_leaver(
                actor, user.user_name, applications=diff["applications"]
            )
    renamed = "user_name" in diff and fold(diff["user_name"]) != user.user_name_ci
    if renamed:
        address = primary_address(diff) if "emails" in diff else user.primary_email
        sign_in_names.check_chosen_user_name(actor, diff["user_name"], address)
    if "user_name" in diff or "emails" in diff:
        sign_in_names.check(
            tx,
            diff.get("user_name", user.user_name),
            primary_address(diff) if "emails" in diff else user.primary_email,
            user_id=user.id,
            before=sign_in_names.names_held(user),
            actor=actor,
        )
    if renamed:
        ensure_user_name_free(tx, diff["user_name"])
    if diff.get("no_longer_at_account") is False:
        rules.check_return_to_account(actor, user, diff.get("profile", user.profile))
    if rules.counts_as_main_contact(user) and not _main_contact_after(user, diff):
        rules.keep_a_main_contact(tx, user)
    return _apply(tx, actor, user, diff, sign_in_to)


def replace_user(
    tx: Tx,
    actor: Actor,
    user_id: uuid.UUID,
    fields: Mapping[str, Any],
    *,
    if_match: IfMatch = None,
) -> User:
    """Full replacement (SCIM PUT): replaceable fields not given are cleared, the rest kept."""
    if "user_name" not in fields:
        raise InvalidInput("userName is required.", field="user_name")
    cleared = {field: None for field in user_fields.REPLACEABLE if field not in fields}
    return update_user(tx, actor, user_id, {**cleared, **fields}, if_match=if_match)


def deactivate(tx: Tx, actor: Actor, user_id: uuid.UUID) -> User:
    """Take away sign-in without deleting anything (SPEC §1 Users)."""
    return update_user(tx, actor, user_id, {"active": False})


def activate(tx: Tx, actor: Actor, user_id: uuid.UUID, *, new_email: str | None = None) -> User:
    """Give sign-in back; the user is sent a sign-in email (with a set-password link if the user
    has no password). `new_email`: the address the same change asked to move the user to
    (`user_mail.request_email_change`); the sign-in email goes there, where the person now is."""
    return update_user(tx, actor, user_id, {"active": True}, sign_in_to=new_email)


def set_profile(tx: Tx, actor: Actor, user_id: uuid.UUID, profile: str) -> User:
    return update_user(tx, actor, user_id, {"profile": profile})


def set_password(tx: Tx, actor: Actor, user_id: uuid.UUID, password: str) -> User:
    return update_user(tx, actor, user_id, {"password": password})


def grant_application(tx: Tx, actor: Actor, user_id: uuid.UUID, key: str) -> User:
    user = get_user(tx, actor, user_id, lock=True)  # read under the lock it is written under
    keys = {a.key for a in user.applications} | {key}
    return update_user(tx, actor, user_id, {"applications": sorted(keys)})


def revoke_application(tx: Tx, actor: Actor, user_id: uuid.UUID, key: str) -> User:
    user = get_user(tx, actor, user_id, lock=True)
    keys = {a.key for a in user.applications} - {key}
    return update_user(tx, actor, user_id, {"applications": sorted(keys)})


def delete_user(tx: Tx, actor: Actor, user_id: uuid.UUID, *, if_match: IfMatch = None) -> None:
    """Remove the user for good: sessions end, memberships and grants go with the record; the
    groups they leave and the users they managed get new versions (their ETags change)."""
    left = groups.losing_member(tx, user_id)
    user = get_user(tx, actor, user_id, related=True, lock=True)  # the audit shows all of it
    if {group.id for group in user.groups} - left:  # joined one meanwhile
        groups.losing_member(tx, user_id, already=left)
    _managers_gone(tx, user_id)
    _check_version(user, if_match)
    rules.ensure_manages(actor, user.account)
    if rules.owned_elsewhere(actor, user):
        raise Forbidden(
            f"{user.user_name} is managed by {rules.owner_name(user)}; remove them there."
        )
    rules.keep_a_main_contact(tx, user)
    sessions.end_all(tx, user)
    credentials.revoke_minted_by(tx, actor, user.id, f"{user.user_name} was deleted")
    # One statement: what hangs off the user (emails, memberships, grants, sign-in names,
    # sessions...) goes by the foreign keys' ON DELETE CASCADE, not row by row.
    tx.execute(_DELETE, {"user_id": user.id})
    tx.expunge(user)
    audit.record(
        tx, actor, "user.deleted", **audit_target(user), changes=user_fields.snapshot(user)
    )


_DELETE = User.__table__.delete().where(User.__table__.c.id == bindparam("user_id"))


def _managers_gone(tx: Tx, user_id: uuid.UUID) -> None:
    """The users a deleted user managed lose their manager (ON DELETE SET NULL): a change of
    them, so they get new versions. Under the deleted user's lock, so that one given this
    manager meanwhile is among them (a change naming the manager waits for that lock, and one
    that does not name it waits for no lock of ours)."""
    tx.execute(
        update(User)
        .where(User.manager_id == user_id, User.id != user_id)
        .values(version=User.version + 1, modified_at=now())
        .execution_options(synchronize_session=False)
    )


def set_contact_roles(
    tx: Tx, actor: Actor, user_id: uuid.UUID, roles: Iterable[str], *, if_match: IfMatch = None
) -> User:
    """Make the user hold exactly these contact roles (allowed on externally managed users too).

    The account's contact roles are locked before the user, as a group's changes lock the group
    before its members: a transaction that changes the user otherwise too does this first."""
    user = get_user(tx, actor, user_id)
    rules.ensure_manages(actor, user.account)
    wanted = wanted_roles(user, roles)
    if user.no_longer_at_account:
        rules.check_nothing_given_to_leaver(
            actor, user.user_name, roles=wanted - set(contact_roles_of(user))
        )
    role_groups = lock_contact_roles(tx, user.account_id)
    user = get_user(tx, actor, user_id, lock=True)
    _check_version(user, if_match)
    before = hold_roles(tx, user, role_groups, wanted)
    after = sorted(wanted)
    if before != after:
        user.modified_at = now()
        tx.flush()  # the user handed back carries its new version
        audit.record(
            tx,
            actor,
            "user.contact_roles_changed",
            **audit_target(user),
            changes={"contact_roles": [before, after]},
        )
    return user


def contact_roles_of(user: User) -> list[str]:
    return sorted(g.display_name for g in user.groups if g.is_contact_role)


def _apply(
    tx: Tx, actor: Actor, user: User, diff: dict[str, Any], sign_in_to: str | None = None
) -> User:
    if not diff:
        return user
    was_active, was_main = user.active, rules.counts_as_main_contact(user)
    left = diff.get("no_longer_at_account") and not user.no_longer_at_account
    names_before, old_address = sign_in_names.names_held(user), user.primary_email
    granted_before = {a.key for a in user.applications} if "applications" in diff else set()
    taken_over = takes_over(actor, user, diff)
    changes = user_fields.assign(user, diff)
    if taken_over:
        user.managed_by = "identity_provider"
        changes["managed_by"] = [None, "identity_provider"]
    if left:
        keep = actor.is_identity_provider and "applications" in diff  # its list, sent with it
        changes |= _leave_account(tx, user, keep_grants=keep)
    if fold(old_address or "") != fold(user.primary_email or ""):
        changes |= sign_in_names.announce_change(tx, user, old_address, changed_by(actor, user))
    user.modified_at = now()
    flush_user(tx, changed=user)
    if "applications" in diff:
        added = {a.key for a in user.applications} - granted_before
        access.record_source(tx, actor, user.id, added)
    if "user_name" in diff or "emails" in diff:
        sign_in_names.claim(tx, user, names_before)
    if was_main and not rules.counts_as_main_contact(user):
        reason = f"{user.user_name} is no longer a main contact"
        credentials.revoke_minted_by(tx, actor, user.id, reason)
    action = "user.updated"
    if was_active and not user.active:
        action = "user.deactivated"
        sessions.end_all(tx, user)
    elif user.active and not was_active:
        action = "user.activated"
        send_sign_in(tx, user, reason="activated", to=sign_in_to)
    audit.record(tx, actor, action, **audit_target(user), changes=changes)
    return user


def takes_over(actor: Actor, user: User, diff: Mapping[str, Any]) -> bool:
    """Whether this change makes a user created here one the identity provider manages: the
    provider wrote a field of the person's record (name, address, userName, ...). Changing only
    the community's state (`rules.COMMUNITY_FIELDS`: active, profile, applications, ...) does
    not."""
    return (
        actor.is_identity_provider
        and user.managed_by is None
        and bool(set(diff) - rules.COMMUNITY_FIELDS)
    )


def release(tx: Tx, actor: Actor, user_id: uuid.UUID) -> User:
    """Support gives a user the identity provider took over back to Rollcall's console: its
    fields are edited here again (until the provider writes one of them once more). Users of
    Office accounts stay NextGen Office's."""
    if not actor.privileged:
        raise Forbidden("Only support staff can take a user back from the identity provider.")
    user = get_user(tx, actor, user_id, lock=True)
    if user.managed_by != "identity_provider":
        raise Conflict(f"{user.user_name} is not managed by an identity provider.")
    user.managed_by = None
    user.modified_at = now()
    flush_user(tx)
    audit.record(
        tx,
        actor,
        "user.released",
        **audit_target(user),
        changes={"managed_by": ["identity_provider", None]},
    )
    return user


def _leave_account(tx: Tx, user: User, *, keep_grants: bool = False) -> dict[str, list[Any]]:
    """What ends when a person is flagged "No Longer at Account" (SPEC §1 Users): every session
    and token of theirs, the account's application access, and the contact roles (whose mail
    goes to their holders). Flagging back restores none of it. `keep_grants`: an identity
    provider sent its list with the flag, which gives nothing while the flag is set. Returns the
    audit form of what changed."""
    sessions.end_all(tx, user)
    ended: dict[str, list[Any]] = {}
    granted = sorted(a.key for a in user.applications)
    if granted and not keep_grants:
        user.applications = []
        ended["applications"] = [granted, []]
    held = hold_roles(tx, user, lock_contact_roles(tx, user.account_id), set())
    if held:
        ended["contact_roles"] = [held, []]
    return ended


def changed_by(actor: Actor, user: User) -> str:
    """Who changed (or asked to change) a user's address, as the mails about it name them."""
    if actor.is_identity_provider:
        return rules.owner_name(user) or rules.OWNER_NAMES["identity_provider"]
    if actor.type == ActorType.USER and actor.id == str(user.id):
        return "you"
    if actor.type == ActorType.USER and not actor.privileged:
        return "your organization's main contact"
    return "Success Community support"


def send_sign_in(tx: Tx, user: User, *, reason: str, to: str | None = None) -> None:
    """The sign-in mail of a user added or activated: while the user has no password it carries
    a link to choose one (a week long); otherwise it points to sign-in (and no further: a reset
    link goes only to a confirmed address, `sign_in_names.confirmed`)."""
    if user.primary_email is None:
        return
    context: dict[str, Any] = {"template": "sign_in", "reason": reason}
    if user.password_hash is None:
        sent_to = {"email": to} if to else None  # it verifies only the address it reached
        context["link"] = f"/set-password/{links.issue(tx, user, links.SET_PASSWORD, sent_to)}"
    if to is None:
        outbox.enqueue_email(tx, user, **context)
    else:
        outbox.enqueue(tx, outbox.EMAIL, {"to": to, "user_id": str(user.id), **context})


def _main_contact_after(user: User, diff: Mapping[str, Any]) -> bool:
    return (
        diff.get("active", user.active)
        and diff.get("profile", user.profile) in rules.MAIN_PROFILES
        and not diff.get("no_longer_at_account", user.no_longer_at_account)
    )


def primary_address(clean: Mapping[str, Any]) -> str | None:
    """The primary address among checked values (`user_fields.normalize`), if they give one."""
    chosen = primary_entry(clean.get("emails") or ())
    return chosen.value if chosen else None


def ensure_user_name_free(tx: Tx, user_name: str) -> None:
    """Refuse a userName another user has (in any case: the folded names are compared)."""
    if tx.scalar(select(exists().where(User.user_name_ci == fold(user_name)))):
        raise Conflict(f"The userName {user_name!r} is already taken.", field="user_name")


def _check_version(user: User, if_match: IfMatch) -> None:
    if is_stale(user.version, if_match):
        raise PreconditionFailed(
            f"{user.user_name} was changed since it was read (now version {user.version}); "
            "read it again before changing it."
        )


def flush_user(tx: Tx, user_name: str | None = None, *, changed: User | None = None) -> None:
    """Flush so a concurrent insert of the same userName fails here, as a Conflict. A `changed`
    user whose columns alone changed is written by one plain UPDATE (`rows.write_columns`)."""
    try:
        if changed is None or not write_columns(tx, changed):
            tx.flush()
    except IntegrityError as exc:
        if "user_name" not in str(exc.orig).lower():
            # e.g. the manager named was deleted meanwhile (a foreign key): no uniqueness error
            raise Conflict(integrity_message(exc)) from exc
        taken = f"The userName {user_name!r}" if user_name else "That userName"
        raise Conflict(f"{taken} is already taken.", field="user_name") from exc


def audit_target(user: User) -> dict[str, Any]:
    """How the audit events of a change of this user name it."""
    return {"target_type": "user", "target_id": user.id, "account_id": user.account_id}
