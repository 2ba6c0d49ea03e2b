"""Signing in with a passkey or security key: as a second factor for a person who is known
(after their password), or on its own (passwordless, with a discoverable key that verified the
person). A failed answer counts toward the same lockout as a wrong password (`store.signin`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from webauthn import generate_authentication_options, verify_authentication_response
from webauthn.helpers import (
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import AuthenticationCredential, UserVerificationRequirement

from store import federation, passkeys, signin
from store.actors import Actor, Door
from store.db import Tx, now
from store.errors import Forbidden, InvalidInput, NotFound
from store.models.directory import User
from store.models.security import Passkey
from store.passkey_ceremonies import (
    PASSWORDLESS,
    SECOND_FACTOR,
    TIMEOUT_MS,
    UNREADABLE,
    RelyingParty,
    descriptors,
    issue_challenge,
    use_challenge,
)

# RFC 8176 "user": the authenticator tested that the person is there, and here also verified
# them (PIN or biometric: WebAuthn does not say which, so neither `pin` nor `fpt` is claimed).
USER_PRESENCE = "user"
NOT_ACCEPTED = (
    "This passkey or security key was not accepted. A failed attempt counts like a wrong "
    "password: after 6 in a row the account is locked."
)


class PasskeyRefused(Forbidden):
    """The browser's answer did not prove possession of a key of this person."""


def begin_authentication(tx: Tx, rp: RelyingParty, user: User) -> dict[str, Any]:
    """The options for `navigator.credentials.get()` when the person is known (a second factor
    after the password): any of their keys, without asking for their PIN again."""
    owner = _load(tx, user.id)
    keys = passkeys.list_for(tx, owner)
    if not keys:
        raise NotFound("You have no passkey or security key yet.")
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=issue_challenge(tx, SECOND_FACTOR, owner),
        timeout=TIMEOUT_MS,
        allow_credentials=descriptors(keys),
        user_verification=UserVerificationRequirement.DISCOURAGED,
    )
    return options_to_json_dict(options)


def authenticate(tx: Tx, rp: RelyingParty, user: User, credential: Any) -> tuple[str, ...]:
    """The methods (`hwk` or `swk`) this person earns by the browser's answer, which must be
    signed by one of their own keys over the challenge they were given; otherwise PasskeyRefused.

    A refusal after the challenge was used counts toward the lockout as a wrong password does:
    the caller commits `tx` whether or not this raises.
    """
    owner = _load(tx, user.id)
    parsed = _parse_assertion(credential)
    challenge = use_challenge(tx, parsed.response.client_data_json, SECOND_FACTOR, owner)
    if owner.locked_at is not None:
        raise PasskeyRefused(NOT_ACCEPTED)  # the lock mail told the owner
    passkey = _key_of(tx, owner, bytes_to_base64url(parsed.raw_id))
    _verify(tx, rp, owner, passkey, parsed, challenge, user_verification=False)
    return (passkey.amr,)


def begin_passwordless(tx: Tx, rp: RelyingParty) -> dict[str, Any]:
    """The options for signing in with a passkey alone: the browser offers the keys it holds for
    this site, and the device must verify the person (PIN or biometric)."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=issue_challenge(tx, PASSWORDLESS, None),
        timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json_dict(options)


def sign_in_passwordless(tx: Tx, rp: RelyingParty, credential: Any) -> tuple[User, tuple[str, ...]]:
    """The person whose discoverable key signed the challenge, with user verification, and the
    methods that earns: the key's (`hwk`/`swk`) and `user`, which `Proof` counts as two factors
    (something held, and a PIN or biometric checked by the device). Refused like a password is:
    a locked, not enabled or deactivated account does not sign in, nor one whose organization
    requires signing in at its own provider. A failed attempt with a known
    key counts toward its owner's lockout (the caller commits `tx` whether or not this raises)."""
    parsed = _parse_assertion(credential)
    challenge = use_challenge(tx, parsed.response.client_data_json, PASSWORDLESS, None)
    passkey = tx.scalar(
        select(Passkey).where(Passkey.credential_id == bytes_to_base64url(parsed.raw_id))
    )
    if passkey is None:
        raise PasskeyRefused(NOT_ACCEPTED)
    owner = _load(tx, passkey.user_id)
    handle = parsed.response.user_handle
    if handle is not None and handle != owner.id.bytes:
        signin.count_failure(tx, owner)
        raise PasskeyRefused(NOT_ACCEPTED)
    if owner.locked_at is not None:
        raise PasskeyRefused(NOT_ACCEPTED)
    _verify(tx, rp, owner, passkey, parsed, challenge, user_verification=True)
    if not owner.email_verified:
        raise signin.SignInRefused("not_enabled", owner)
    if not owner.active:
        raise signin.SignInRefused("inactive", owner)
    if federation.required_for(tx, owner) is not None:  # its organization signs it in
        raise signin.SignInRefused("federated", owner)
    signin.record_sign_in(tx, owner)
    return owner, (passkey.amr, USER_PRESENCE)


def _parse_assertion(credential: Any) -> AuthenticationCredential:
    try:
        return parse_authentication_credential_json(credential)
    except WebAuthnException as error:
        raise InvalidInput(UNREADABLE) from error


def _key_of(tx: Tx, owner: User, credential_id: str) -> Passkey:
    """The owner's key of this id; any other key (another person's too) is a failed attempt."""
    passkey = tx.scalar(
        select(Passkey).where(Passkey.credential_id == credential_id, Passkey.user_id == owner.id)
    )
    if passkey is None:
        signin.count_failure(tx, owner)
        raise PasskeyRefused(NOT_ACCEPTED)
    return passkey


def _verify(
    tx: Tx,
    rp: RelyingParty,
    owner: User,
    passkey: Passkey,
    parsed: AuthenticationCredential,
    challenge: bytes,
    *,
    user_verification: bool,
) -> None:
    """Check the signature, then the counter: a counter that did not grow after a good signature
    means a copy of the key may be in use, so it is refused and audited. py_webauthn is given a
    zero count so that only a verified signature can raise that alarm."""
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=0,
            require_user_verification=user_verification,
        )
    except WebAuthnException as error:
        signin.count_failure(tx, owner)
        raise PasskeyRefused(NOT_ACCEPTED) from error
    counted = verified.new_sign_count
    if (counted > 0 or passkey.sign_count > 0) and counted <= passkey.sign_count:
        passkeys.record(
            tx,
            Actor.system(Door.SSO, "sign-in"),
            "passkey.sign_count_regressed",
            owner,
            passkey,
            {"sign_count": [passkey.sign_count, counted]},
        )
        signin.count_failure(tx, owner)
        raise PasskeyRefused(NOT_ACCEPTED)
    tx.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id)
        .values(sign_count=counted, last_used_at=now())
        .execution_options(synchronize_session=False)
    )


def _load(tx: Tx, user_id: uuid.UUID) -> User:
    user = tx.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user
