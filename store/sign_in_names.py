"""Sign-in names (SPEC §1 Users: sign-in names are unambiguous).

A person signs in, and asks for a forgotten username or password, with a name: their userName
or the address of their primary email. Each name reaches one user: `sign_in_names` holds it once
(its primary key), so a userName that is another user's address, or an address that is another
user's userName or address, is refused, whichever door asks and however concurrently. A user's
other addresses (an identity provider's home or other emails) are data, not sign-in names.

A userName chosen by people at a page (registration, the console) that is an email address must
be the user's own address. Identity providers and the operator name users as their directory
does (Entra ID's userPrincipalName is an address, not always the mailbox), bound only by the
uniqueness above.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import idna
from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    delete,
    exists,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError

from store import audit, links, outbox
from store.actors import Actor, ActorType, Door
from store.db import Tx
from store.errors import Conflict, Forbidden, InvalidInput
from store.models.directory import SignInName, User, fold
from store.models.logs import AuditEvent
from store.models.security import FederationConnection, FederationDomain
from store.statements import Condition, Reads


def names_of(user_name_ci: str, address_ci: str) -> frozenset[str]:
    """The sign-in names of a user with this folded userName and primary address ('' if none)."""
    return frozenset(name for name in (user_name_ci, address_ci) if name)


def names_held(user: Any) -> frozenset[str]:
    """The names a user (a User, or a row with the same names) signs in with, from its fields."""
    return names_of(user.user_name_ci, user.primary_email_ci)


def find(tx: Tx, login: str) -> User | None:
    """The one user a typed login reaches: the holder of that userName or address, if any."""
    key = fold(login.strip())
    if not key:
        return None
    return tx.scalar(
        select(User)
        .join(SignInName, SignInName.user_id == User.id)
        .where(SignInName.name_ci == key)
    )


def check(
    tx: Tx,
    user_name: str,
    address: str | None,
    *,
    user_id: uuid.UUID | None = None,
    before: Iterable[str] = (),
    actor: Actor | None = None,
) -> None:
    """Refuse, before anything is written, names another user holds: those a user named
    `user_name` with this primary address would newly have (`before`: the names it has). With
    the `actor` writing, a name held by an unconfirmed self-registration is taken from it
    (`make_way`) instead."""
    new = names_of(fold(user_name), fold(address or "")) - frozenset(before)
    check_domains(tx, domain_bound(actor), new, fold(user_name))
    refusal = clash(tx, user_name, address, user_id=user_id, names=new) if new else None
    if refusal is not None and actor is not None and make_way(tx, actor, user_name, address):
        refusal = clash(tx, user_name, address, user_id=user_id, names=new)
    if refusal is not None:
        raise refusal


def make_way(tx: Tx, actor: Actor, user_name: str, address: str | None) -> bool:
    """Withdraw the unconfirmed self-registrations that hold this userName or address, when
    an account's or support's writer needs them (`makes_way_for`): a registration never
    verified and never signed in holds nothing its registrant has shown to be theirs, and
    else anyone could block a person's account, or an identity provider's push, by
    registering their address first. True when one was withdrawn."""
    if not makes_way_for(actor):
        return False
    user_name_ci, address_ci = fold(user_name), fold(address or "")
    holders = select(SignInName.user_id).where(
        SignInName.name_ci.in_(sorted(names_of(user_name_ci, address_ci)))
    )
    unconfirmed = dict(
        tx.execute(
            select(User.id, User.user_name).where(
                (User.id.in_(holders) | (User.user_name_ci == user_name_ci)),
                User.account_id.is_(None),
                User.email_verified.is_(False),
                User.last_login_at.is_(None),
            )
        ).all()
    )
    registered = (
        set(
            tx.scalars(
                select(AuditEvent.target_id).where(
                    AuditEvent.target_type == "user",
                    AuditEvent.target_id.in_([str(u) for u in unconfirmed]),
                    AuditEvent.action == "user.registered",
                )
            )
        )
        if unconfirmed
        else set()
    )
    waiting = [(u, name) for u, name in unconfirmed.items() if str(u) in registered]
    for user_id, name in waiting:
        tx.execute(delete(User).where(User.id == user_id))
        audit.record(
            tx,
            actor,
            "user.registration_withdrawn",
            target_type="user",
            target_id=user_id,
            account_id=None,
            changes={"user_name": name, "reason": "its userName or address was needed"},
        )
    return bool(waiting)


def makes_way_for(actor: Actor) -> bool:
    """Whether an unconfirmed self-registration gives way to this writer: a main contact,
    support, an identity provider, the operator; never another registration or a person
    changing their own address."""
    if actor.manages_users or actor.type in (ActorType.SUPPORT, ActorType.CREDENTIAL):
        return True
    return actor.type == ActorType.SYSTEM and actor.door != Door.PORTAL


def claim(tx: Tx, user: User, before: Iterable[str] = ()) -> None:
    """Make the user hold the names its fields give it (`check`ed first), `before` being those
    it had: names new to it are taken and names it lost are given up. Names it keeps are left
    as they are, so a name migration 0010 withheld stays withheld. A name taken meanwhile by a
    concurrent change is a Conflict (the primary key decides)."""
    before = frozenset(before)
    wanted = names_held(user)
    gone, new = before - wanted, wanted - before
    if gone:
        tx.execute(
            delete(SignInName).where(SignInName.user_id == user.id, SignInName.name_ci.in_(gone))
        )
    if not new:
        return
    try:
        tx.execute(insert(SignInName), [{"name_ci": n, "user_id": user.id} for n in sorted(new)])
    except IntegrityError as exc:  # taken between the look and the write
        field = "emails" if fold(user.user_name) not in new else "user_name"
        raise Conflict(
            "That userName or email address was just taken by another user.", field=field
        ) from exc


def rows_of(user_id: uuid.UUID, user_name_ci: str, address_ci: str) -> list[dict[str, Any]]:
    """The sign_in_names rows of a new user, for writing it without the ORM."""
    return [{"name_ci": n, "user_id": user_id} for n in sorted(names_of(user_name_ci, address_ci))]


def clash(
    reads: Reads,
    user_name: str,
    address: str | None,
    *,
    user_id: uuid.UUID | None = None,
    names: Iterable[str] | None = None,
) -> Conflict | None:
    """Why a user named `user_name` with this primary address cannot have its names (another
    user holds one), or None."""
    user_name_ci = fold(user_name)
    if names is None:
        names = names_of(user_name_ci, fold(address or ""))
    held = reads.execute(
        select(SignInName.name_ci, SignInName.user_id, User.user_name_ci)
        .join(User, User.id == SignInName.user_id)
        .where(SignInName.name_ci.in_(sorted(names)))
    ).all()
    # The userName's own clash first, whatever order the rows came in.
    held.sort(key=lambda row: (row.name_ci != user_name_ci, row.name_ci))
    for name, holder, holder_user_name in held:
        if holder == user_id:
            continue
        if address and name == fold(address):  # a userName that is the address too: the address
            return Conflict(
                f"The email address {address} already signs in another user: an address signs "
                "in one person only.",
                field="emails",
            )
        if holder_user_name == name:
            return Conflict(f"The userName {user_name!r} is already taken.", field="user_name")
        return Conflict(
            f"The userName {user_name!r} is another user's email address; a userName that is "
            "an email address must be the user's own.",
            field="user_name",
        )
    return None


def domain_bound(actor: Actor | None) -> uuid.UUID | None:
    """The account whose email domains alone the caller may give a user (with the domains no
    account owns), or None when it may give any: an account's identity provider, main contacts
    and people are bound to their account's; support, the operator and people registering
    (of no account yet) are not."""
    if actor is None or actor.account_id is None or actor.privileged:
        return None
    return actor.account_id


def check_domains(
    reads: Reads,
    account_id: uuid.UUID | None,
    names: Iterable[str],
    user_name_ci: str = "",
    *,
    field: str | None = None,
) -> None:
    """Refuse names at an email domain support assigned to another account than `account_id`
    (`domain_bound`): its addresses are that account's people's, so another account's identity
    provider cannot take one first (SPEC §1 Users: it never takes over another account's
    user's address) and block their push."""
    by_domain = {
        suffix: name for name in sorted(names) for suffix in _domain_and_parents(domain_of(name))
    }
    if account_id is None or not by_domain:
        return
    owned = reads.execute(
        _OWNED_ELSEWHERE.where(FederationDomain.domain.in_(sorted(by_domain))),
        {"names_account": account_id},
    ).scalar()
    if owned is not None:
        raise Forbidden(
            f"{by_domain[owned]} is at {owned}, a domain support assigned to another account: "
            "its addresses sign in that account's people. Choose another, or ask support.",
            field=field or ("user_name" if by_domain[owned] == user_name_ci else "emails"),
        )


def _domain_and_parents(domain: str) -> list[str]:
    """A domain and those it is part of (mail.b.example: b.example, example): a domain an
    account owns covers its subdomains."""
    labels = domain.split(".") if domain else []
    return [".".join(labels[n:]) for n in range(len(labels))]


def domain_of(name: str) -> str:
    """The email domain of a folded name that is an address, as owned domains are written
    (ASCII: bücher.example is xn--bcher-kva.example to mail servers), else ''."""
    return ascii_domain(name.rpartition("@")[2]) if "@" in name else ""


def ascii_domain(domain: str) -> str:
    """A domain as mail servers and owned domains write it: IDNA's ASCII form (bücher.example
    is xn--bcher-kva.example), without the root's dot (b.example. is b.example)."""
    domain = domain.strip().rstrip(".")
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain  # not a domain a mail server would take: nobody owns it


_OWNED_ELSEWHERE = (
    select(FederationDomain.domain)
    .join(FederationConnection, FederationConnection.id == FederationDomain.connection_id)
    .where(FederationConnection.account_id != bindparam("names_account"))
    .limit(1)
)


def _at_or_under(domain: Any) -> ColumnElement[bool]:
    """SQL: `domain` (a parameter) is an owned domain or one of its subdomains."""
    return or_(
        FederationDomain.domain == domain,
        domain.like(literal("%.", String) + FederationDomain.domain),
    )


DOMAIN_FREE = ~exists(
    _OWNED_ELSEWHERE.where(
        or_(
            _at_or_under(bindparam("name_domain", type_=String)),
            _at_or_under(bindparam("address_domain", type_=String)),
        )
    )
)
"""SQL, for a user written at once (`new_users.create_user_at_once`): no other account than
`names_account` owns the domain of its userName or its address (`name_domain`,
`address_domain`, '' for none), or a domain they are under."""


def domain_guard(actor: Actor, user_name_ci: str, address_ci: str | None) -> Condition | None:
    """`check_domains` as a condition checked in the statement that writes a new user, or None
    when the caller is not bound (`domain_bound`)."""
    account_id = domain_bound(actor)
    if account_id is None:
        return None
    return DOMAIN_FREE, {
        "names_account": account_id,
        "name_domain": domain_of(user_name_ci),
        "address_domain": domain_of(address_ci or ""),
    }


def ensure_free(tx: Tx, actor: Actor, user: User, address: str, *, field: str = "emails") -> None:
    """Refuse, before anything is mailed, an address another user signs in with, or one at
    another account's domain (`check_domains`)."""
    check_domains(tx, domain_bound(actor), {fold(address)}, field=field)
    holder = tx.scalar(select(SignInName.user_id).where(SignInName.name_ci == fold(address)))
    if holder is not None and holder != user.id:
        raise Conflict(
            f"The email address {address} already signs in another user: an address signs in "
            "one person only.",
            field=field,
        )


def check_chosen_user_name(actor: Actor, user_name: str | None, address: str | None) -> None:
    """A userName people choose at a page that is an email address must be the user's own
    address (the one being registered or given with it)."""
    if not user_name or "@" not in user_name or names_as_directory(actor):
        return
    if fold(user_name.strip()) != fold((address or "").strip()):
        raise InvalidInput(
            "A username that is an email address must be the person's own email address: use "
            "that address, or a username that is not an address.",
            field="user_name",
        )


def names_as_directory(actor: Actor) -> bool:
    """Whether the caller names users as a directory does: an identity provider or support's
    tooling over SCIM, or the operator. People at pages (self-registration included) do not."""
    if actor.is_provisioning_client:
        return True
    return actor.type == ActorType.SYSTEM and actor.door != Door.PORTAL


def email_verified() -> ColumnElement[bool]:
    """SQL, of a user: whether Rollcall vouches for their primary address (the OIDC claim
    `email_verified`): it is verified, and it is theirs, a sign-in name they hold. An address
    two users shared before migration 0010 is vouched for only in its holder's claims."""
    return User.email_verified & exists().where(
        SignInName.name_ci == User.primary_email_ci, SignInName.user_id == User.id
    )


def vouches_for(tx: Tx, user: User) -> bool:
    """`email_verified` of one user."""
    return bool(tx.scalar(select(email_verified()).where(User.id == user.id)))


def confirmed(user: User) -> bool:
    """Whether mail that lets someone into the account (a reset link, a username reminder) may
    go to the user's address: once the address is verified, or while the user has no password
    (the address the account was made with is then its only way in). Otherwise the address gets
    its confirmation link instead (issue #19: an address a source changed is confirmed first)."""
    return bool(user.email_verified) or user.password_hash is None


def send_verification(tx: Tx, user: User, template: str = "verify_email", **context: Any) -> None:
    """Mail the user's address a link that verifies it (earlier ones stop working), in the
    mail `template` (`confirm_new_email` for an address someone else changed)."""
    token = links.issue(tx, user, links.VERIFY_EMAIL, {"email": user.primary_email})
    outbox.enqueue_email(
        tx, user, template, link=f"/verify/{token}", user_name=user.user_name, **context
    )


def announce_change(
    tx: Tx, user: User, old_address: str | None, changed_by: str
) -> dict[str, list[Any]]:
    """Someone other than a person confirming by link changed the address of an existing user
    (issue #19): the old address is told, and a user with a password confirms the new one by its
    link before a reset or a username goes there (`confirmed`); until then signing in asks for
    the confirmation. (`user_mail.ask_to_confirm` changes addresses only once confirmed.) Returns
    the audit form of what changed besides the emails."""
    if old_address:
        outbox.enqueue(
            tx,
            outbox.EMAIL,
            {
                "template": "email_changed_notice",
                "to": old_address,
                "user_id": str(user.id),
                "user_name": user.user_name,
                "new_email": user.primary_email or "",
                "changed_by": changed_by,
            },
        )
    if user.primary_email is None or user.password_hash is None:
        return {}
    was_verified, user.email_verified = user.email_verified, False
    send_verification(tx, user, "confirm_new_email", changed_by=changed_by)
    return {"email_verified": [was_verified, False]}
