"""Self-registration and enabling an account by its emailed link (SPEC §2, FAQ 2, 3, 7).

A registered account is "not enabled" until the person follows the link mailed to the address
they gave. Registering with an address that already has an account creates nothing and mails that
address instead, and the page says the same in both cases, after the same work, so the form does
not tell who has an account. (A taken username is said: SECURITY.md gives the reasons.)
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import exists, select

from store import audit, csc, links, new_users, outbox, passwords, sign_in_names
from store.actors import Actor, Door
from store.db import Tx
from store.errors import Conflict, InvalidInput
from store.models.directory import User, fold
from store.rows import locked
from store.validation import clean_email

# Registration acts for nobody yet: the audit trail shows the portal's self-registration.
SELF_REGISTRATION = Actor.system(Door.PORTAL, "self-registration")


class Choice(StrEnum):
    CSC_MEMBER = "csc_member"  # uses the software and has CSC access
    CSC_REQUEST = "csc_request"  # uses the software and would like CSC access
    GUEST = "guest"  # does not use the software


def register(
    tx: Tx,
    *,
    choice: Choice | str,
    email: str,
    given_name: str,
    family_name: str,
    user_name: str | None = None,
    password: str | None = None,
    csc_user_name: str | None = None,
    csc_password: str | None = None,
    organization: str | None = None,
    customer_number: str | None = None,
    verifier: csc.CscVerifier | None = None,
) -> User | None:
    """Register a person; the new user (None when the address already had an account).

    A CSC member's web account reuses the CSC login; when the CSC password does not meet the
    community's rules, the login still proves CSC access and `password` is the community password
    the person chooses instead (FAQ 4: the two are independent afterwards)."""
    choice = Choice(choice)
    email = clean_email(email, "email")
    identity = None
    if choice == Choice.CSC_MEMBER:
        identity = (verifier or csc.LocalDirectory()).verify(
            tx, csc_user_name or "", csc_password or ""
        )
        if identity is None:
            raise InvalidInput(
                "The Client Support Center username or password is not correct.",
                field="csc_user_name",
            )
        # The web account reuses the CSC login (FAQ 4); afterwards the two are independent.
        user_name, password = identity.user_name, password or csc_password
    if not user_name or not password:
        raise InvalidInput("Choose a username and a password.", field="user_name")
    if choice == Choice.CSC_REQUEST:  # checked before anything tells whether the address is known
        csc.request_details(organization, customer_number)
    # Before anything tells whether a name is taken: a username that is an address is the
    # person's own (the one registered), and an address with an account is answered below
    # as every other registration is.
    sign_in_names.check_chosen_user_name(SELF_REGISTRATION, user_name, email)
    if fold(user_name.strip()) != fold(email) and _taken(tx, user_name.strip()):
        if identity is not None:
            raise Conflict(
                "A web account with this Client Support Center username already exists. "
                "Use Forgot Password to get into it.",
                field="csc_user_name",
            )
        raise Conflict(f"The username {user_name.strip()!r} is taken.", field="user_name")
    try:
        passwords.check_policy(password, user_name)
    except InvalidInput as refusal:
        if identity is None or password != csc_password:
            raise
        raise InvalidInput(
            f"Your Client Support Center login is verified, but its password does not meet the "
            f"community's password rules: {refusal} Choose a community password for your web "
            "account; afterwards the two passwords are independent.",
            field="password",
        ) from refusal
    owner = sign_in_names.find(tx, email)
    if owner is not None:
        # Creating a user hashes its password, the slow part of registering: this answer spends
        # the same time, so its timing does not tell that the address has an account either.
        passwords.hash_password(password)
        outbox.enqueue_email(tx, owner, "account_exists")
        return None
    user = new_users.create_user(
        tx,
        SELF_REGISTRATION,
        account_id=None,
        user_name=user_name,
        given_name=given_name,
        family_name=family_name,
        emails=[{"value": email, "type": "work", "primary": True}],
        password=password,
        send_sign_in_email=False,  # the verification mail below is its welcome
    )
    if identity is not None:
        csc.record_verified(tx, user, identity)
    elif choice == Choice.CSC_REQUEST:
        csc.request_access(tx, user, organization=organization, customer_number=customer_number)
    audit.record(
        tx,
        SELF_REGISTRATION,
        "user.registered",
        target_type="user",
        target_id=user.id,
        account_id=None,
        changes={"choice": choice.value},
    )
    send_verification(tx, user)
    return user


def _taken(tx: Tx, user_name: str) -> bool:
    """Whether the username signs someone in, or is a userName already (one migration 0010
    withheld from signing in)."""
    if sign_in_names.find(tx, user_name) is not None:
        return True
    return bool(tx.scalar(select(exists().where(User.user_name_ci == fold(user_name)))))


def send_verification(tx: Tx, user: User) -> None:
    """Mail the user a new verification link (earlier ones stop working)."""
    sign_in_names.send_verification(tx, user)


def resend_verification(tx: Tx, login: str) -> None:
    """Send the link again to a not-enabled account named by username or email; the caller
    learns nothing either way."""
    user = sign_in_names.find(tx, login)
    if user is not None and user.active and not user.email_verified and user.primary_email:
        send_verification(tx, user)


def verify_email(tx: Tx, token: str) -> User:
    """Enable the account of a verification link."""
    link = links.consume(tx, links.VERIFY_EMAIL, token)
    user = locked(tx, User, link.user_id)
    assert user is not None
    sent_to = link.payload.get("email")
    if sent_to and fold(sent_to) != fold(user.primary_email or ""):
        raise links.LinkRefused("expired")  # the address changed since the mail was sent
    if not user.email_verified:
        user.email_verified = True
        audit.record(
            tx,
            Actor.for_user(user, Door.PORTAL),
            "user.email_verified",
            target_type="user",
            target_id=user.id,
            account_id=user.account_id,
            changes={"email": user.primary_email},
        )
    return user
