"""The rules of SPEC §1, each written once and called by every operation it concerns."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select

from store.actors import Actor, ActorType
from store.db import Tx
from store.errors import Conflict, Forbidden, InvalidInput, NotFound
from store.models.directory import Account, User
from store.profiles import (
    MAIN_PROFILES,
    AccountKind,
    Profile,
    allowed_profiles,
    counts_as_main_contact,
)

# Fields a person may change on their own record ("Edit Basic Information").
SELF_SERVICE_FIELDS = frozenset(
    {
        "given_name",
        "family_name",
        "display_name",
        "phone_numbers",
        "preferred_contact_method",
        "password",
    }
)
# What a person changes of their own record only where Rollcall proves it is them.
PROVEN_FIELDS = frozenset({"password", "emails", "user_name"})
# Fields that stay Rollcall's own on a user owned by an identity provider or NextGen Office: the
# community profile, which whoever manages the account's users changes (the console, a token
# that does not speak for the source), and the password of the community sign-in, which only
# the person changes (sources do not push it).
# Application access is the community's entitlement, not the source's data (SPEC §1 Applications).
LOCAL_FIELDS_OF_MANAGED = frozenset({"profile", "applications"})
# Granted by support's vetting (the CSC registration paths), never by a main contact's checkbox.
VETTED_APPLICATIONS = frozenset({"csc"})
# What an identity provider may change on a user created here without taking the user over:
# the community's own state. Any other field it writes makes the user its own.
COMMUNITY_FIELDS = frozenset(
    {"active", "profile", "applications", "no_longer_at_account", "preferred_contact_method"}
)
OWN_FIELDS_OF_MANAGED = LOCAL_FIELDS_OF_MANAGED | {"password"}

OWNER_NAMES = {
    "identity_provider": "your organization's identity provider",
    "office": "NextGen Office",
}


def ensure_visible(actor: Actor, account_id: uuid.UUID | None, what: str = "user") -> None:
    """Another account's things do not exist for the caller: the answer is NotFound, not 403."""
    if actor.privileged:
        return
    if account_id is None or account_id != actor.account_id:
        raise NotFound(f"No such {what}.")


def listable_users(actor: Actor) -> ColumnElement[bool]:
    """The users the caller may list and look up (`users_listed_by` for this caller)."""
    return users_listed_by(actor.account_id, support=actor.privileged)


def users_listed_by(
    account_id: Any, *, support: Any, users: Any = User.__table__.c
) -> ColumnElement[bool]:
    """Which users a caller lists (SPEC §3: a credential sees only its account; support sees
    every account's users, not its own staff), as SQL. `account_id` and `support` are the
    caller's: Python values, or SQL (parameters of a statement built once, or the columns of the
    credential read by the same statement); `users` the columns of the users listed."""
    every_account = users.is_support.is_(False)
    own_account = users.account_id == account_id
    if support is True:
        return every_account
    if support is False:
        return own_account
    return or_(and_(support, every_account), and_(not_(support), own_account))


def ensure_manages(actor: Actor, account: Account | None) -> None:
    """Only main contacts of the account, its identity provider and support change its users."""
    ensure_manages_account(actor, account.id if account else None)


def ensure_manages_account(actor: Actor, account_id: uuid.UUID | None) -> None:
    """`ensure_manages` of the account with this id, for a caller that need not read it."""
    ensure_visible(actor, account_id)
    if actor.privileged:
        return
    if not actor.manages_users:
        raise Forbidden("Only main contacts of the account can manage its users.")


def speaks_for_office(actor: Actor) -> bool:
    """Whether the caller is NextGen Office (or the operator): an Office account's credential
    the operator made. A token a person mints in the console is the account's identity
    provider's and may do no more than the console does (issue #19): it neither adds Office
    users nor changes what Office owns."""
    if actor.type == ActorType.SYSTEM:
        return True
    return actor.is_identity_provider and not actor.minted_by_person


def new_users_refused(actor: Actor, account_kind: str | None) -> str | None:
    """Why the caller may not add users to an account of this kind, or None when it may.

    Users of an Office account come from the Office product (SPEC §1 Accounts): its credential
    and the operator add them; main contacts and support change them once they are here.
    """
    if account_kind != AccountKind.OFFICE:
        return None
    if speaks_for_office(actor):
        return None
    return (
        "Users of NextGen Office accounts are created in NextGen Office; they arrive here with "
        "the Client Community User profile."
    )


def ensure_may_add_users(actor: Actor, account_kind: str | None) -> None:
    refusal = new_users_refused(actor, account_kind)
    if refusal:
        raise Forbidden(refusal)


def keep_a_main_contact(tx: Tx, user: User) -> None:
    """Refuse a change that would leave the user's account without an active main contact.

    Call it before applying the change, when the user is a main contact now and will not be
    after. The account row is locked so two such changes cannot both see "one other left".
    """
    if not counts_as_main_contact(user):
        return
    tx.execute(select(Account.id).where(Account.id == user.account_id).with_for_update())
    others = tx.scalar(
        select(func.count())
        .select_from(User)
        .where(
            User.account_id == user.account_id,
            User.id != user.id,
            User.active.is_(True),
            User.no_longer_at_account.is_(False),
            User.profile.in_([p.value for p in MAIN_PROFILES]),
        )
    )
    if not others:
        raise Conflict(
            f"{user.user_name} is the account's last active main contact; every account must "
            "keep one. Ask support to make another user a main contact first."
        )


def check_profile(
    actor: Actor, account: Account | None, current: str | None, wanted: str | None
) -> Profile | None:
    """The profile must suit the account kind, and only support grants or removes main.
    Profile names are matched without case ("Knowledge" is knowledge)."""
    if isinstance(wanted, str):
        wanted = wanted.strip().lower()
    if wanted is None or wanted == current:
        return Profile(current) if current else None
    try:
        profile = Profile(wanted)
    except ValueError:
        raise InvalidInput(f"Unknown profile {wanted!r}.", field="profile") from None
    kind = AccountKind(account.kind) if account else None
    allowed = allowed_profiles(kind)
    if profile not in allowed:
        names = ", ".join(p.value for p in allowed)
        where = f"an account of kind {kind.value}" if kind else "a user without an account"
        raise InvalidInput(
            f"Profile {profile.value!r} is not available in {where} (allowed: {names}).",
            field="profile",
        )
    if profile not in profiles_offered(actor, kind) or not may_change_profile(actor, current):
        raise Forbidden(
            "Only support staff can grant or remove the main contact profile; open a support "
            "case with the category Community."
        )
    return profile


def check_return_to_account(actor: Actor, user: User, profile: str | None) -> None:
    """Clearing "No Longer at Account" restores nothing by itself (SPEC §1 Users): for a user
    with a main profile it would make them a main contact again, which only support grants."""
    if user.no_longer_at_account and profile in MAIN_PROFILES and not actor.privileged:
        raise Forbidden(
            f"{user.user_name} left the account as a main contact; only support staff can make "
            "them a main contact again. Open a support case with the category Community."
        )


def check_nothing_given_to_leaver(
    actor: Actor, user_name: str, *, roles: Iterable[str] = (), applications: Iterable[str] = ()
) -> None:
    """People "No Longer at Account" hold no contact role and are granted no application of the
    account (SPEC §1 Users), whether the flag is set already or in the same change. An identity
    provider's list of applications is its record of the person, kept as sent: it gives nothing
    while the flag is set (store.access)."""
    if list(roles):
        raise Forbidden(
            f"{user_name} is No Longer at Account: they hold no contact roles of the account.",
            field="contact_roles",
        )
    if list(applications) and not actor.is_identity_provider:
        raise Forbidden(
            f"{user_name} is No Longer at Account: the account's applications are not granted "
            "to them.",
            field="applications",
        )


def profiles_offered(actor: Actor, kind: AccountKind | str | None) -> tuple[Profile, ...]:
    """The profiles the caller may give a user of an account of this kind: the kind's own
    (SPEC §1 Profiles), without the main ones unless the caller is support (§1 Main contacts)."""
    kind = AccountKind(kind) if kind else None
    return tuple(p for p in allowed_profiles(kind) if actor.privileged or p not in MAIN_PROFILES)


def may_change_profile(actor: Actor, current: str | None) -> bool:
    """Whether the caller may change a profile the user holds: only support removes main."""
    return actor.privileged or current not in MAIN_PROFILES


def owned_elsewhere(actor: Actor, user: User) -> bool:
    """True when the user's record belongs to a source other than the caller.

    The operator and support's tooling speak for every source, an account's credentials for
    its identity provider, and only NextGen Office's own credential for Office's users
    (`speaks_for_office`); people in the console and in their own profile speak for none.
    """
    if not user.externally_managed or actor.type == ActorType.SYSTEM:
        return False
    if actor.is_provisioning_client and actor.type == ActorType.SUPPORT:
        return False
    if actor.is_identity_provider:
        return user.managed_by == "office" and not speaks_for_office(actor)
    return True


def owner_name(user: User) -> str | None:
    """Who owns an externally managed user's fields, as every door names it (SPEC §1 Externally
    managed users: read-only here, "and say where to change them"); None for Rollcall's own."""
    if user.managed_by is None:
        return None
    return OWNER_NAMES.get(user.managed_by, user.managed_by)


def check_ownership(actor: Actor, user: User, fields: Iterable[str]) -> None:
    """Users owned by an identity provider or Office: their source changes their record."""
    if not owned_elsewhere(actor, user):
        return
    local = OWN_FIELDS_OF_MANAGED if actor.id == str(user.id) else LOCAL_FIELDS_OF_MANAGED
    owned = sorted(set(fields) - local)
    if owned:
        raise Forbidden(
            f"{user.user_name} is managed by {owner_name(user)}; change {', '.join(owned)} there."
        )


def ensure_may_edit(actor: Actor, user: User, fields: Iterable[str], *, proven: bool) -> None:
    """A person edits their own basic information, and whoever manages the account the rest.
    A person's own password, address and userName change only where Rollcall proves it is
    them (`proven`: the profile page asked the current password, or the new address followed
    its link; SPEC §2 Password change), never by an application holding their token (/Me)."""
    fields = set(fields)
    own = actor.id == str(user.id)
    if own and not proven and fields & PROVEN_FIELDS:
        raise Forbidden(
            "Your password, email address and username are changed on your profile page "
            "(/profile), which asks for your current password and confirms a new address by a "
            "link, not by an application."
        )
    if own and fields <= SELF_SERVICE_FIELDS:
        return
    try:
        ensure_manages(actor, user.account)
    except Forbidden:
        if own:
            raise Forbidden(
                "On your own record you may change your name, phone and preferred contact "
                "method; a main contact of your organization changes the rest."
            ) from None
        raise


def applications_allowed(account: Account | None) -> None:
    if account is None or account.kind != AccountKind.ENTERPRISE:
        raise Forbidden("Access to applications can only be granted in enterprise accounts.")
