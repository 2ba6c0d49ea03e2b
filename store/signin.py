"""Checking a person's password at sign-in, with the states of SPEC §2 (FAQ 7, 8).

The answer for an unknown login, a wrong password and a locked account is the same, and costs the
same (a password hash is verified either way): only the owner learns of a lock, by the mail that
says so, so the page tells no one which logins exist, and a locked account's password is never
checked, so guessing on past the lock learns nothing either. Wrong passwords are counted in the
database with one atomic update, so concurrent attempts lose no increment: the 6th wrong one in a
row locks the user, and exactly one attempt sees the lock happen and queues the mail.
"""

from __future__ import annotations

from sqlalchemy import case, func, update

from store import audit, federation, outbox, passwords, second_factors, sign_in_names
from store.actors import Actor, Door
from store.db import Tx, now
from store.errors import DomainError
from store.models.directory import User

LOCK_AFTER = 6  # "More than 5 wrong passwords in a row lock the account."

# A sign-in's bookkeeping is no change of the person's details: `modified_at` (SCIM
# meta.lastModified, OIDC updated_at) stays, as an identity provider's lastUpdated does.
_UNMODIFIED = {"modified_at": User.modified_at}

MESSAGES = {
    "invalid": (
        "The username or password is not correct. After 6 wrong passwords in a row an account "
        "is locked: its owner gets an email, and Forgot Password unlocks it."
    ),
    "not_enabled": (
        "This account is not enabled yet: follow the link in the verification email we sent. "
        "We can send the link again."
    ),
    "inactive": "This account has been deactivated. Ask a main contact of your organization.",
    "federated": (
        "Your organization signs you in: enter your username or email alone and continue to "
        "your organization's sign-in page."
    ),
}


class SignInRefused(DomainError):
    """Sign-in did not succeed; `reason` (what the person is told) is one of invalid,
    not_enabled, inactive, federated. `outcome` says more, for monitoring only (an unknown login,
    a wrong password and a locked account all read "invalid"), and `locked_now` that this attempt
    locked the account."""

    def __init__(
        self,
        reason: str,
        user: User | None = None,
        *,
        outcome: str | None = None,
        locked_now: bool = False,
    ) -> None:
        super().__init__(MESSAGES[reason])
        self.reason = reason
        self.user = user
        self.outcome = outcome or reason
        self.locked_now = locked_now


def authenticate(tx: Tx, login: str, password: str) -> User:
    """The user whose password this is, allowed to sign in; otherwise SignInRefused.

    A refusal changes the database too (the count of wrong passwords, the lock and its mail):
    the caller commits `tx` whether or not this raises.
    """
    user = sign_in_names.find(tx, login)
    if user is None:
        passwords.verify_password(passwords.dummy_hash(), password)
        raise SignInRefused("invalid", outcome="unknown_login")
    if user.locked_at is not None:
        passwords.verify_password(passwords.dummy_hash(), password)
        raise SignInRefused("invalid", user, outcome="locked")  # the lock mail told the owner
    if not passwords.verify_password(user.password_hash or passwords.dummy_hash(), password):
        locked_now = _count_failure(tx, user)
        raise SignInRefused("invalid", user, outcome="wrong_password", locked_now=locked_now)
    if not user.email_verified:
        raise SignInRefused("not_enabled", user)
    if not user.active:
        raise SignInRefused("inactive", user)
    if federation.required_for(tx, user) is not None:  # issue 21: no Rollcall password
        raise SignInRefused("federated", user)
    _record_success(tx, user, password)
    return user


def count_failure(tx: Tx, user: User) -> bool:
    """A failed second proof (a passkey's refused answer, a wrong code) counts toward the lockout
    exactly as a wrong password does; True when it locks the account."""
    return _count_failure(tx, user)


def record_sign_in(tx: Tx, user: User) -> None:
    """A sign-in completed without a password check here (a passkey alone, the second factor,
    the organization's provider): the count of failures starts again and the console shows the
    sign-in."""
    tx.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=0, last_login_at=now(), **_UNMODIFIED)
        .execution_options(synchronize_session=False)
    )
    tx.expire(user, ["failed_logins", "last_login_at"])


def _count_failure(tx: Tx, user: User) -> bool:
    """Count a wrong attempt; True when it is the one that locks the account."""
    moment = now()
    count = tx.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            failed_logins=User.failed_logins + 1,
            locked_at=case(
                (User.failed_logins + 1 >= LOCK_AFTER, func.coalesce(User.locked_at, moment)),
                else_=User.locked_at,
            ),
            **_UNMODIFIED,
        )
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    tx.expire(user, ["failed_logins", "locked_at"])
    if count == LOCK_AFTER:
        actor = Actor.system(Door.SSO, "sign-in")
        audit.record(
            tx,
            actor,
            "user.locked_out",
            target_type="user",
            target_id=user.id,
            account_id=user.account_id,
        )
        outbox.enqueue_email(tx, user, "account_locked")
    return count == LOCK_AFTER


def _record_success(tx: Tx, user: User, password: str) -> None:
    values: dict[str, object] = {"last_login_at": now()}
    if not second_factors.methods_of(tx, user):  # else the right code resets it (store.mfa)
        values["failed_logins"] = 0
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        values["password_hash"] = passwords.hash_password(password)
    tx.execute(
        update(User)
        .where(User.id == user.id)
        .values(**values, **_UNMODIFIED)
        .execution_options(synchronize_session=False)
    )
    tx.expire(user, list(values))
