"""Adding users: to an account or as guests, through the unit of work (`create_user`) or by one
statement (`create_user_at_once`), and support operators.

The profile rules and the checks of every value are applied here, whatever door adds the user,
and an active user with an address is sent the sign-in email.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from store import access, audit, links, outbox, rules, sign_in_names, user_fields
from store.actors import Actor
from store.contact_roles import hold_roles, lock_contact_roles, wanted_roles
from store.credentials import AccountRow
from store.db import Database, Tx, now
from store.errors import Conflict, Forbidden, NotFound
from store.models.directory import Account, SignInName, User, UserEmail, UserPhoneNumber
from store.models.logs import AuditEvent, OutboxMessage, ProvisioningLogEntry
from store.models.sign_in import UserLink
from store.profiles import AccountKind, default_profile
from store.statements import Condition, both, with_defaults
from store.users import (
    audit_target,
    ensure_user_name_free,
    flush_user,
    primary_address,
    send_sign_in,
)


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
    sign_in_names.check(tx, new.clean["user_name"], primary_address(new.clean), actor=actor)
    # A new user has none of these yet: saying so spares a query for each when it is shown.
    user = User(**new.values, emails=[], phone_numbers=[], groups=[], applications=[])
    user_fields.fill(user, new.clean)
    if user.no_longer_at_account:
        rules.check_nothing_given_to_leaver(
            actor,
            user.user_name,
            roles=wanted_roles(user, contact_roles),
            applications=[a.key for a in user.applications],
        )
    tx.add(user)
    flush_user(tx, user.user_name)  # the unique index says whether the userName is free
    access.record_source(tx, actor, user.id, [a.key for a in user.applications])
    sign_in_names.claim(tx, user)
    roles = wanted_roles(user, contact_roles)
    if roles:
        hold_roles(tx, user, lock_contact_roles(tx, user.account_id), roles)
    changes = user_fields.snapshot(user) | ({"contact_roles": sorted(roles)} if roles else {})
    audit.record(tx, actor, "user.created", **audit_target(user), changes=changes)
    if (
        welcomes(new.clean | {"active": user.active})
        if send_sign_in_email is None
        else (send_sign_in_email)
    ):
        send_sign_in(tx, user, reason="created")
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
    sign_in_names.check_chosen_user_name(actor, clean["user_name"], primary_address(clean))
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
    event = audit.event_values(actor, "user.created", **audit_target(user), changes=changes)
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
    # Checked in the statement, not before it: one round trip for the user.
    domains = sign_in_names.domain_guard(
        actor, columns["user_name_ci"], columns["primary_email_ci"]
    )
    only_if = both(only_if, domains)
    info: dict[str, Any] = {}
    welcome = welcomes(new.clean | {"active": columns["active"]})
    if welcome if send_sign_in_email is None else send_sign_in_email:
        rows += _sign_in_rows(user, primary_address(new.clean), info)
    if logged is not None:
        rows.append((ProvisioningLogEntry, with_defaults(ProvisioningLogEntry, logged(user))))
    try:
        written = db.insert_together(rows, only_if, info)
    except Conflict as exc:
        if exc.field is not None or not _made_way(db, actor, user.user_name, new.clean):
            _refuse_clash(db, exc, user.user_name, new.clean)
            raise
        try:  # nothing was written the first time: once more, now the names are free
            written = db.insert_together(rows, only_if, info)
        except Conflict as again:
            _refuse_clash(db, again, user.user_name, new.clean)
            raise
    if not written and domains is not None:
        with db.reading() as reads:  # the domain, or the caller's own condition, did not hold
            names = sign_in_names.names_of(columns["user_name_ci"], columns["primary_email_ci"])
            sign_in_names.check_domains(
                reads, sign_in_names.domain_bound(actor), names, columns["user_name_ci"]
            )
    return user if written else None


def _made_way(db: Database, actor: Actor, user_name: str, clean: dict[str, Any]) -> bool:
    """`sign_in_names.make_way` for a user written at once, asked only when a name clashed."""
    with db.transaction() as tx:
        return sign_in_names.make_way(tx, actor, user_name, primary_address(clean))


def _refuse_clash(db: Database, exc: Conflict, user_name: str, clean: dict[str, Any]) -> None:
    """The refusal of a name another user holds, in words (else `exc` stands)."""
    if exc.field is None:
        with db.reading() as reads:  # which name was taken, in words
            refusal = sign_in_names.clash(reads, user_name, primary_address(clean))
        if refusal is None and "userName" in str(exc):
            refusal = Conflict(f"The userName {user_name!r} is already taken.", field="user_name")
        if refusal is not None:
            raise refusal from exc


def _sign_in_rows(user: Any, address: str | None, info: dict[str, Any]) -> list[Any]:
    """The rows of a new user's sign-in mail (`send_sign_in` of a user added), for
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
    ensure_user_name_free(tx, clean["user_name"])
    sign_in_names.check(tx, clean["user_name"], email)
    user_fields.assign(user, clean)
    tx.add(user)
    flush_user(tx)
    sign_in_names.claim(tx, user)
    audit.record(
        tx,
        actor,
        "user.created",
        **audit_target(user),
        changes=user_fields.snapshot(user) | {"support": True},
    )
    return user


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
