"""Second factors: an authenticator app (TOTP, RFC 6238) and single-use recovery codes.

An app counts once a code from it confirmed its secret; a code is accepted for the time step it
was made for and the steps either side (clocks drift), and never again: the last accepted step
is kept, and only later ones pass. Recovery codes (10, shown once) are kept as SHA-256 digests
and each works once. A wrong code counts toward the same lockout as a wrong password
(`store.signin`), and the right one ends the count, as a complete sign-in.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import pyotp
from sqlalchemy import delete, or_, update

from store import (
    audit,
    outbox,
    passkeys,
    passwords,
    recovery_codes,
    second_factors,
    sessions,
    signin,
)
from store.actors import Actor
from store.assurance import ONE_TIME_CODE, TWO_FACTOR_ACR, Proof
from store.db import Tx, now
from store.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from store.mfa_policy import required_for as required_for
from store.models.directory import User
from store.models.security import TotpFactor
from store.models.sign_in import OAuthClient
from store.rows import locked

TOTP = second_factors.TOTP
RECOVERY_CODES = second_factors.RECOVERY_CODES
METHODS = (TOTP, RECOVERY_CODES)
# What giving each proves (RFC 8176): a code, once, from an app or the list.
PROVES = {TOTP: (ONE_TIME_CODE,), RECOVERY_CODES: (ONE_TIME_CODE,)}
# For the doors: `mfa.methods_of`, `mfa.required_for`, `mfa.recovery_codes_left`.
methods_of = second_factors.methods_of
recovery_codes_left = recovery_codes.left

ISSUER = "Success Community"  # how authenticator apps name the account
STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of now
UNCONFIRMED_FOR = 15 * 60  # seconds an unconfirmed secret is offered again (a page reloaded)
FRESH_SIGN_IN = timedelta(minutes=10)  # changing factors without typing the password again

REFUSED = (
    "The code is not correct. After 6 wrong passwords or codes in a row an account is locked: "
    "its owner gets an email, and Forgot Password unlocks it."
)


class CodeRefused(DomainError):
    """A second factor's code was not accepted (wrong, used already, or the account cannot sign
    in); counted toward the lockout like a wrong password."""

    def __init__(self, *, locked_now: bool = False) -> None:
        super().__init__(REFUSED, field="code")
        self.locked_now = locked_now  # this code was the one that locked the account


class Step(StrEnum):
    """What sign-in asks once the password is right."""

    DONE = "done"  # nothing more: the password is enough
    VERIFY = "verify"  # a code from a second factor the person has
    ENROL = "enrol"  # the person must set up a second factor first


def next_step(tx: Tx, user: Any) -> Step:
    """A person with a second factor gives it; one who must have one and has none sets one up."""
    if methods_of(tx, user):
        return Step.VERIFY
    return Step.ENROL if required_for(tx, user) else Step.DONE


def step_up_needed(
    tx: Tx, client: OAuthClient, acr_values: str | None, proof: Proof, user: User
) -> bool:
    """Whether signing in to this client needs a second factor the session has not given: the
    client requires one, or the request's `acr_values` lists `urn:rollcall:acr:2fa` (other
    values are not refused, as OIDC Core §3.1.2.1 lets a provider do: the ID token's `acr`
    says what the sign-in reached), or the person must now sign in with one (a policy made
    stricter after this session began reaches it at its next sign-in to an application)."""
    asked = client.require_mfa or TWO_FACTOR_ACR in (acr_values or "").split()
    return (asked and not proof.multi_factor) or owes_second_factor(tx, user, proof)


def owes_second_factor(tx: Tx, user: User, proof: Proof) -> bool:
    """Whether a session proven so must give a second factor before it goes on: the person
    must sign in with one now (a policy made stricter after the session began) and has not."""
    return not proof.multi_factor and required_for(tx, user)


# The authenticator app.


@dataclass(frozen=True)
class TotpEnrolment:
    """A secret waiting for its first code: shown as a QR code of `uri` and as text."""

    secret: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        """The secret in groups of four, as people type it into an app."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


def start_totp(tx: Tx, actor: Actor, user_id: uuid.UUID) -> TotpEnrolment:
    """A secret for the person's authenticator app, counted once `confirm_totp` has a code made
    from it. The same secret is offered again for a while (a page reloaded after scanning)."""
    user = _own_user(tx, actor, user_id)
    factor = locked(tx, TotpFactor, user.id)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict("An authenticator app is set up already: remove it first to use another.")
    fresh = factor is not None and (now() - factor.created_at).total_seconds() < UNCONFIRMED_FOR
    if factor is None:
        factor = TotpFactor(user_id=user.id, secret=pyotp.random_base32())
        tx.add(factor)
    elif not fresh:
        factor.secret, factor.created_at = pyotp.random_base32(), now()
    tx.flush()
    return TotpEnrolment(factor.secret, provisioning_uri(user, factor.secret))


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.user_name, issuer_name=ISSUER
    )


def confirm_totp(
    tx: Tx, actor: Actor, user_id: uuid.UUID, code: str, *, keep: uuid.UUID | None = None
) -> list[str]:
    """The app is set up: a code made from its secret proves it. Returns recovery codes to show
    once, when the person has none left (else their codes stay as they are). A wrong code here is
    a typing slip of someone holding the secret, not a guess: it does not count.

    The person's other sessions end, and their tokens with them (`keep`: this browser's session,
    which goes on): a session someone stole with the password must not outlive the factor set
    up against it, as none outlives a new password."""
    user = _own_user(tx, actor, user_id)
    factor = locked(tx, TotpFactor, user.id)
    if factor is None:
        raise InvalidInput("Start setting up the authenticator app again.", field="code")
    if factor.confirmed_at is not None:
        raise Conflict("An authenticator app is set up already.")
    step = _matching_step(factor.secret, code)
    if step is None:
        raise InvalidInput(
            "That code does not match: check the app shows the account just added, and type "
            "the 6 digits it shows now.",
            field="code",
        )
    factor.confirmed_at, factor.last_used_step = now(), step
    codes = [] if RECOVERY_CODES in methods_of(tx, user) else recovery_codes.issue(tx, user)
    _factor_changed(tx, actor, user, "user.totp_enrolled", "totp_added")
    sessions.end_all(tx, user, keep=keep)
    return codes


def remove_totp(tx: Tx, actor: Actor, user_id: uuid.UUID) -> None:
    """Take the authenticator app away; recovery codes go with it when no other factor is left
    (they stand in for a factor, not for the password)."""
    user = _own_user(tx, actor, user_id)
    factor = locked(tx, TotpFactor, user.id)
    if factor is None or factor.confirmed_at is None:
        raise NotFound("No authenticator app is set up.")
    tx.delete(factor)
    tx.flush()
    if not methods_of(tx, user) - {RECOVERY_CODES}:
        recovery_codes.discard(tx, user.id)
    _factor_changed(tx, actor, user, "user.totp_removed", "totp_removed")


# Signing in with a second factor.


def verify(tx: Tx, user_id: uuid.UUID, method: str, code: str) -> tuple[str, ...]:
    """Check a code of the person's `method` (`totp` or `recovery_codes`) at sign-in; returns
    the authentication methods it proves (RFC 8176), for the session's proof.

    A refusal counts toward the lockout (the 6th wrong password or code in a row locks): the
    caller commits `tx` whether or not this raises. A locked, deactivated or unknown person's
    code is never checked.
    """
    user = tx.get(User, user_id)
    if user is None or not user.active or user.locked_at is not None:
        raise CodeRefused()
    accepted = False
    if method == TOTP:
        accepted = _use_totp(tx, user, code)
    elif method == RECOVERY_CODES:
        accepted = recovery_codes.use(tx, user, code)
    if not accepted:
        raise CodeRefused(locked_now=signin.count_failure(tx, user))
    signin.record_sign_in(tx, user)
    return PROVES[method]


def _use_totp(tx: Tx, user: User, code: str) -> bool:
    factor = tx.get(TotpFactor, user.id)
    if factor is None or factor.confirmed_at is None:
        return False
    step = _matching_step(factor.secret, code)
    if step is None:
        return False
    used = tx.execute(  # one winner among concurrent requests with the same code
        update(TotpFactor)
        .where(
            TotpFactor.user_id == user.id,
            or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    tx.expire(factor, ["last_used_step"])
    return used.rowcount == 1


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side) the code was made for, or None."""
    typed = "".join((code or "").split()).replace("-", "")
    if len(typed) != DIGITS or not typed.isascii() or not typed.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(time.time()) // STEP_SECONDS
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


# Recovery codes (store.recovery_codes keeps them).


def regenerate_recovery_codes(tx: Tx, actor: Actor, user_id: uuid.UUID) -> list[str]:
    """Ten new codes, to show once; the old ones stop working. Only for a person with a second
    factor (the codes stand in for it)."""
    user = _own_user(tx, actor, user_id)
    locked(tx, User, user.id)  # one regeneration at a time
    if not methods_of(tx, user) - {RECOVERY_CODES}:
        raise Conflict("Set up an authenticator app first: recovery codes stand in for it.")
    codes = recovery_codes.issue(tx, user)
    _factor_changed(
        tx, actor, user, "user.recovery_codes_regenerated", "recovery_codes_regenerated"
    )
    return codes


def needs_password(signed_in_at: datetime | None) -> bool:
    """Whether changing second factors asks for the current password: the sign-in is not of
    the last 10 minutes."""
    return signed_in_at is None or now() - signed_in_at >= FRESH_SIGN_IN


def confirm_presence(
    tx: Tx, user_id: uuid.UUID, *, password: str | None, signed_in_at: datetime | None
) -> None:
    """Changing one's second factors needs proof that the person is at the keyboard: a sign-in
    of the last 10 minutes, else the current password (so a browser left signed in is not
    enough to take the factors away, or add an attacker's app)."""
    if not needs_password(signed_in_at):
        return
    user = tx.get(User, user_id)
    if not password:
        raise InvalidInput("Type your current password to confirm.", field="current_password")
    if user is None or not passwords.verify_password(
        user.password_hash or passwords.dummy_hash(), password
    ):
        raise InvalidInput("The current password is not correct.", field="current_password")


# Support.


def reset(tx: Tx, actor: Actor, user_id: uuid.UUID) -> User:
    """Support takes every second factor of a person away (a lost phone): they sign in with
    their password alone, and set up a factor again when one is required. Audited; the person
    is mailed."""
    if not actor.privileged:
        raise Forbidden("Only support staff reset a person's second factors.")
    user = locked(tx, User, user_id)
    if user is None:
        raise NotFound("No such user.")
    had = sorted(methods_of(tx, user))
    if not had:  # nothing to take away, nothing to tell them (the mail would alarm for nothing)
        raise Conflict(f"{user.user_name} has no second factors to reset.")
    tx.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    recovery_codes.discard(tx, user.id)
    passkeys.remove_all(tx, actor, user)  # each audited; this reset mails once
    audit.record(
        tx,
        actor,
        "user.second_factors_reset",
        target_type="user",
        target_id=user.id,
        account_id=user.account_id,
        changes={"second_factors": [had, []]},
    )
    outbox.enqueue_email(tx, user, "second_factors_reset", user_name=user.user_name)
    return user


def _factor_changed(tx: Tx, actor: Actor, user: User, action: str, change: str) -> None:
    """A second factor set up, removed or renewed: audited, and the person mailed, so that a
    change they did not make does not go unseen."""
    audit.record(
        tx, actor, action, target_type="user", target_id=user.id, account_id=user.account_id
    )
    outbox.enqueue_email(tx, user, "second_factor_changed", change=change)


def _own_user(tx: Tx, actor: Actor, user_id: uuid.UUID) -> User:
    """The person changing their own second factors (nobody sets up another's)."""
    if actor.id != str(user_id):
        raise Forbidden("People set up their own second factors.")
    user = tx.get(User, user_id)
    if user is None or not user.active:
        raise NotFound("No such user.")
    return user
