"""What may happen to a user: create, update, replace, delete, deactivate, activate, roles.

Every operation checks tenancy and the rules of SPEC §1 here, writes one audit event, and queues
the mails and logout calls its change causes, all in the caller's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from store import (
    access,
    audit,
    credentials,
    links,
    outbox,
    rules,
    sessions,
    sign_in_names,
    user_fields,
)
from store.actors import Actor, ActorType
from store.contact_roles import CONTACT_ROLES
from store.credentials import AccountRow
from store.db import Database, Tx, integrity_message, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from store.models import (
    Account,
    AuditEvent,
    Group,
    Membership,
    OutboxMessage,
    ProvisioningLogEntry,
    SignInName,
    User,
    UserEmail,
    UserLink,
    UserPhoneNumber,
    fold,
    primary_entry,
)
from store.profiles import AccountKind, default_profile
from store.rows import locked, write_columns
from store.statements import Condition, with_defaults
from store.versions import IfMatch, is_stale


def create_user(
    tx: Tx,
    actor: Actor,
    *,
    account_id: uuid.UUID | None,
    user_name: str,
    email_verified: bool | None = None,
    contact_roles: Iterable[str] = (),
    send_sign_in_email: bool | None = None,
    **fields: Any,
) -> User:
    """Add a user to an account (or a guest without one) with the profile rules applied.

    A user created without a profile gets the account kind's default; users of Office accounts and
    users pushed by an identity provider are owned by that source from the start. Their address
    counts as verified when `email_verified` says so, else when the creator vouches for it
    (`vouches_for_email`). An active user with an address is sent the sign-in email, whatever
    door adds them (`welcomes`), unless `send_sign_in_email` says otherwise; while the user has
    no password it carries a link to choose one.
    """
    account = _account(tx, actor, account_id)
    new = new_user(tx, actor, account, user_name=user_name, email_verified=email_verified, **fields)
    sign_in_names.check(tx, new.clean["user_name"], _address(new.clean))
    # A new user has none of these yet: saying so spares a query for each when it is shown.
    user = User(**new.values, emails=[], phone_numbers=[], groups=[], applications=[])
    user_fields.fill(user, new.clean)
    tx.add(user)
    _flush(tx, user.user_name)  # the unique index says whether the userName is free
    access.record_source(tx, actor, user.id, [a.key for a in user.applications])
    sign_in_names.claim(tx, user)
    roles = _wanted_roles(user, contact_roles)
    if roles:
        _hold_roles(tx, user, _lock_contact_roles(tx, user.account_id), roles)
    changes = user_fields.snapshot(user) | ({"contact_roles": sorted(roles)} if roles else {})
    audit.record(tx, actor, "user.created", **_target(user), changes=changes)
    if (
        welcomes(new.clean | {"active": user.active})
        if send_sign_in_email is None
        else (send_sign_in_email)
    ):
        _send_sign_in(tx, user, reason="created")
    return user


def welcomes(fields: Mapping[str, Any]) -> bool:
    """Whether a user created with these fields is sent the sign-in email (the guide: "When you
    add a user, they will receive a login email"): an active user with an address. One created
    inactive gets it when activated."""
    return fields.get("active", True) is not False and bool(fields.get("emails"))


@dataclass(frozen=True)
class NewUser:
    """A user `create_user` is about to add: the columns it sets itself, and the checked values
    asked for (`user_fields.normalize`)."""

    values: dict[str, Any]
    clean: dict[str, Any]


def new_user(
    tx: Tx | None,
    actor: Actor,
    account: Account | AccountRow | None,
    *,
    user_name: str,
    email_verified: bool | None,
    **fields: Any,
) -> NewUser:
    """The user `create_user` adds, with the profile rules applied and every value checked, not
    yet stored. `tx` reads what some values name (a manager, applications); without one, such
    values are not accepted."""
    if account is None:
        _ensure_may_create_guest(actor)
    else:
        rules.ensure_manages(actor, account)
    rules.ensure_may_add_users(actor, account.kind if account else None)
    kind = AccountKind(account.kind) if account else None
    profile = rules.check_profile(actor, account, None, fields.pop("profile", None))
    if fields.get("applications"):
        rules.applications_allowed(account)
    if tx is None and not reads_nothing(fields):
        raise TypeError("applications and a manager are read in a transaction")
    values = {
        "account_id": account.id if account else None,
        "user_name": "",
        "profile": (profile or default_profile(kind)).value,
        "managed_by": _owner(actor, account),
        "email_verified": vouches_for_email(actor) if email_verified is None else email_verified,
        "active": True,
        "no_longer_at_account": False,
        "preferred_contact_method": "email",
    }
    # A value left empty is the new user's value already: only the others need checking.
    wanted = {"user_name": user_name} | {
        field: value for field, value in fields.items() if value not in (None, [], {})
    }
    probe = User(account_id=values["account_id"])  # what a manager named must share
    clean = user_fields.normalize(tx, probe, wanted, pushed=actor.is_identity_provider)
    access.check_grant_change(actor, [], clean.get("applications") or [])
    sign_in_names.check_chosen_user_name(actor, clean["user_name"], _address(clean))
    return NewUser(values, clean)


def vouches_for_email(actor: Actor) -> bool:
    """Whether the addresses of the users this caller creates count as verified: a provisioning
    client's do (its identity provider verified them), a person's in the console do not (the
    user confirms by the link of the sign-in mail)."""
    return actor.is_provisioning_client


def reads_nothing(fields: Mapping[str, Any]) -> bool:
    """Whether `new_user` can check these values without a transaction: they name no manager
    and no applications."""
    return fields.get("manager_id") in (None, "") and fields.get("applications") is None


def create_user_at_once(
    db: Database,
    actor: Actor,
    account: AccountRow,
    *,
    user_name: str,
    email_verified: bool | None = None,
    logged: Callable[[Any], dict[str, Any]] | None = None,
    only_if: Condition | None = None,
    send_sign_in_email: bool | None = None,
    **fields: Any,
) -> Any:
    """`create_user` of a user without contact roles, a manager or applications, written by one
    durable statement without a session (Database.insert_together): the user, its emails and
    phone numbers, its sign-in names, its sign-in mail (and the link in it), its audit event
    and, when `logged` gives the columns of one for it, the provisioning log entry of the
    request. Returns the user as plain attributes (what
    `listing.UserView.of` shows), or None when `only_if` (a condition checked in the same
    statement) did not hold and nothing was written. Identity providers create users by the
    thousand, and the ORM's unit of work costs several times what the database does. Same rules,
    values and rows as `create_user` (tests/store/test_create_at_once.py compares them)."""
    new = new_user(
        None, actor, account, user_name=user_name, email_verified=email_verified, **fields
    )
    columns, emails, phones = user_fields.new_columns(new.values, new.clean)
    moment = now()
    columns |= {"id": uuid.uuid4(), "version": 1, "created_at": moment, "modified_at": moment}
    columns = with_defaults(User, columns)
    emails = [with_defaults(UserEmail, e | {"user_id": columns["id"]}) for e in emails]
    phones = [with_defaults(UserPhoneNumber, p | {"user_id": columns["id"]}) for p in phones]
    user: Any = SimpleNamespace(  # read as a User is: by the audit snapshot and by views
        **columns,
        emails=[SimpleNamespace(**e) for e in emails],
        phone_numbers=[SimpleNamespace(**p) for p in phones],
        groups=[],
        applications=[],
    )
    changes = user_fields.snapshot(user)
    event = audit.event_values(actor, "user.created", **_target(user), changes=changes)
    names = sign_in_names.rows_of(
        columns["id"], columns["user_name_ci"], columns["primary_email_ci"]
    )
    rows: list[tuple[Any, dict[str, Any]]] = [
        (User, columns),
        *((UserEmail, e) for e in emails),
        *((UserPhoneNumber, p) for p in phones),
        *((SignInName, n) for n in names),
        (AuditEvent, with_defaults(AuditEvent, event)),
    ]
    info: dict[str, Any] = {}
    welcome = welcomes(new.clean | {"active": columns["active"]})
    if welcome if send_sign_in_email is None else send_sign_in_email:
        rows += _sign_in_rows(user, _address(new.clean), info)
    if logged is not None:
        rows.append((ProvisioningLogEntry, with_defaults(ProvisioningLogEntry, logged(user))))
    try:
        if not db.insert_together(rows, only_if, info):
            return None
    except Conflict as exc:
        if exc.field is not None:
            raise
        with db.reading() as reads:  # which name was taken, in words
            refusal = sign_in_names.clash(reads, user.user_name, _address(new.clean))
        if refusal is None and "userName" in str(exc):
            refusal = Conflict(
                f"The userName {user.user_name!r} is already taken.", field="user_name"
            )
        if refusal is None:
            raise
        raise refusal from exc
    return user


def _sign_in_rows(user: Any, address: str | None, info: dict[str, Any]) -> list[Any]:
    """The rows of a new user's sign-in mail (`_send_sign_in` of a user added), for
    `insert_together`: the link to choose a password, while the user has none, and the mail."""
    if address is None:
        return []
    rows: list[Any] = []
    context: dict[str, Any] = {"reason": "created"}
    if user.password_hash is None:
        token, link = links.new_link(user.id, links.SET_PASSWORD)
        rows.append((UserLink, with_defaults(UserLink, link)))
        context["link"] = f"/set-password/{token}"
    payload = outbox.email_payload(address, user.id, "sign_in", **context)
    message = {"kind": outbox.EMAIL, "payload": payload}
    rows.append((OutboxMessage, with_defaults(OutboxMessage, message)))
    outbox.mark_queued(info, outbox.EMAIL)
    return rows


def create_support_user(
    tx: Tx, actor: Actor, *, user_name: str, email: str, password: str | None = None
) -> User:
    """Add a support operator: a user of no account with support rights (operators only)."""
    if not actor.privileged:
        raise Forbidden("Only support staff can add support staff.")
    user = User(
        account_id=None,
        user_name="",
        is_support=True,
        email_verified=True,
        active=True,
        no_longer_at_account=False,
        preferred_contact_method="email",
    )
    wanted = {"user_name": user_name, "emails": [{"value": email, "primary": True}]}
    if password is not None:
        wanted["password"] = password
    clean = user_fields.normalize(tx, user, wanted)
    _ensure_user_name_free(tx, clean["user_name"])
    sign_in_names.check(tx, clean["user_name"], email)
    user_fields.assign(user, clean)
    tx.add(user)
    _flush(tx)
    sign_in_names.claim(tx, user)
    audit.record(
        tx,
        actor,
        "user.created",
        **_target(user),
        changes=user_fields.snapshot(user) | {"support": True},
    )
    return user


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
) -> User:
    """Change some fields; deactivation, activation and profile changes all come through here.
    `sign_in_to`: where an activated user's sign-in email goes, if not their address (`activate`).
    """
    if changes.get("no_longer_at_account"):
        # Leaving takes the contact roles away: lock them before the user, as every change of
        # roles does (`set_contact_roles`).
        _lock_contact_roles(tx, get_user(tx, actor, user_id).account_id)
    user = get_user(tx, actor, user_id, lock=True)
    _check_version(user, if_match)
    clean = user_fields.normalize(tx, user, changes, pushed=actor.is_identity_provider)
    if "profile" in clean:
        profile = rules.check_profile(actor, user.account, user.profile, clean["profile"])
        clean["profile"] = profile.value if profile else user.profile
    diff = user_fields.changed(user, clean)
    if not rules.is_self_service(actor, user, diff):
        rules.ensure_manages(actor, user.account)
    rules.check_ownership(actor, user, diff)
    if "applications" in diff:
        rules.applications_allowed(user.account)
        access.check_grant_change(actor, user.applications, diff["applications"])
        flagged = diff.get("no_longer_at_account", user.no_longer_at_account)
        # An identity provider's list is its record of the person, kept as sent: it gives
        # nothing while the flag is set (store.access). People are told no.
        if diff["applications"] and flagged and not actor.is_identity_provider:
            raise Forbidden(
                f"{user.user_name} is No Longer at Account: the account's applications are not "
                "granted to them."
            )
    if "user_name" in diff and fold(diff["user_name"]) != user.user_name_ci:
        _ensure_user_name_free(tx, diff["user_name"])
        address = _address(diff) if "emails" in diff else user.primary_email
        sign_in_names.check_chosen_user_name(actor, diff["user_name"], address)
    if "user_name" in diff or "emails" in diff:
        sign_in_names.check(
            tx,
            diff.get("user_name", user.user_name),
            _address(diff) if "emails" in diff else user.primary_email,
            user_id=user.id,
            before=sign_in_names.names_held(user),
        )
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
    """Remove the user for good: sessions end, memberships and grants go with the record."""
    user = get_user(tx, actor, user_id, related=True, lock=True)  # the audit shows all of it
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
    audit.record(tx, actor, "user.deleted", **_target(user), changes=user_fields.snapshot(user))


_DELETE = User.__table__.delete().where(User.__table__.c.id == bindparam("user_id"))


def set_contact_roles(
    tx: Tx, actor: Actor, user_id: uuid.UUID, roles: Iterable[str], *, if_match: IfMatch = None
) -> User:
    """Make the user hold exactly these contact roles (allowed on externally managed users too).

    The account's contact roles are locked before the user, as a group's changes lock the group
    before its members: a transaction that changes the user otherwise too does this first."""
    user = get_user(tx, actor, user_id)
    rules.ensure_manages(actor, user.account)
    wanted = _wanted_roles(user, roles)
    if wanted and user.no_longer_at_account:
        held = set(contact_roles_of(user))
        if wanted - held:
            raise Forbidden(
                f"{user.user_name} is No Longer at Account: they hold no contact roles of the "
                "account.",
                field="contact_roles",
            )
    role_groups = _lock_contact_roles(tx, user.account_id)
    user = get_user(tx, actor, user_id, lock=True)
    _check_version(user, if_match)
    before = _hold_roles(tx, user, role_groups, wanted)
    after = sorted(wanted)
    if before != after:
        user.modified_at = now()
        tx.flush()  # the user handed back carries its new version
        audit.record(
            tx,
            actor,
            "user.contact_roles_changed",
            **_target(user),
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
    _flush(tx, changed=user)
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
        _send_sign_in(tx, user, reason="activated", to=sign_in_to)
    audit.record(tx, actor, action, **_target(user), changes=changes)
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
    _flush(tx)
    audit.record(
        tx,
        actor,
        "user.released",
        **_target(user),
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
    held = _hold_roles(tx, user, _lock_contact_roles(tx, user.account_id), set())
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


def _send_sign_in(tx: Tx, user: User, *, reason: str, to: str | None = None) -> None:
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


def _wanted_roles(user: User, roles: Iterable[str]) -> set[str]:
    wanted = set(roles)
    unknown = sorted(wanted - set(CONTACT_ROLES))
    if unknown:
        raise InvalidInput(f"Unknown contact role {', '.join(unknown)}.", field="contact_roles")
    if wanted and user.account_id is None:
        raise InvalidInput("Only users of an account hold contact roles.", field="contact_roles")
    return wanted


def _lock_contact_roles(tx: Tx, account_id: uuid.UUID | None) -> Sequence[Group]:
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


def _hold_roles(tx: Tx, user: User, role_groups: Sequence[Group], wanted: set[str]) -> list[str]:
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
    tx.flush()
    tx.expire(user, ["groups"])
    return before


def _address(clean: Mapping[str, Any]) -> str | None:
    """The primary address among checked values (`user_fields.normalize`), if they give one."""
    chosen = primary_entry(clean.get("emails") or ())
    return chosen.value if chosen else None


def _account(tx: Tx, actor: Actor, account_id: uuid.UUID | None) -> Account | None:
    if account_id is None:
        return None
    account = tx.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.")
    rules.ensure_visible(actor, account.id, "account")
    return account


def _ensure_may_create_guest(actor: Actor) -> None:
    if not actor.privileged:
        raise NotFound("No such account.")


def _owner(actor: Actor, account: Account | AccountRow | None) -> str | None:
    if account is not None and account.kind == AccountKind.OFFICE:
        return "office"
    return "identity_provider" if actor.is_identity_provider else None


def _ensure_user_name_free(tx: Tx, user_name: str) -> None:
    if tx.scalar(select(exists().where(User.user_name_ci == fold(user_name)))):
        raise Conflict(f"The userName {user_name!r} is already taken.", field="user_name")


def _check_version(user: User, if_match: IfMatch) -> None:
    if is_stale(user.version, if_match):
        raise PreconditionFailed(
            f"{user.user_name} was changed since it was read (now version {user.version}); "
            "read it again before changing it."
        )


def _flush(tx: Tx, user_name: str | None = None, *, changed: User | None = None) -> None:
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


def _target(user: User) -> dict[str, Any]:
    return {"target_type": "user", "target_id": user.id, "account_id": user.account_id}
