"""Passkeys and security keys (WebAuthn, checked by py_webauthn): adding them, and signing in
with them as a second factor or on their own.

Every ceremony starts with a random challenge kept here (its SHA-256, for `CHALLENGE_LIFETIME`)
and ends by using it once: the browser's answer names its challenge in `clientDataJSON`, which
is looked up, deleted and only then checked, so a replayed answer finds nothing.

What a key earns (RFC 8176 `amr`), decided once when it is added from what the browser reports:
`hwk` for a roaming security key (authenticator attachment `cross-platform`, or only USB, NFC or
Bluetooth transports) that cannot be backed up, whose private key never leaves that device; `swk`
for everything else: passkeys of the platform (Windows Hello, Touch ID, Android) and synced
passkeys (backup-eligible, copied through a cloud account). With attestation `none` nothing
proves which it is: the method says what the person used, not a certified device class.
"""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from store import audit, outbox, signin
from store.actors import Actor, Door
from store.assurance import HARDWARE_KEY, SOFTWARE_KEY
from store.db import Tx, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound
from store.hashes import digest
from store.models import Passkey, PasskeyChallenge, User

CHALLENGE_LIFETIME = timedelta(minutes=5)
# Adding a key needs a sign-in this recent: a key signs in for good, so a browser left signed in
# (or a stolen session) must not be enough to add one.
RECENT_SIGN_IN = timedelta(minutes=15)
SIGN_IN_AGAIN = "For your security, sign in again before adding a passkey or security key."
TIMEOUT_MS = 120_000  # what the browser is told; the challenge outlives it
MAX_PER_USER = 20
NAME_LENGTH = Passkey.__table__.c.name.type.length
# RFC 8176 "user": the authenticator tested that the person is there, and here also verified
# them (PIN or biometric: WebAuthn does not say which, so neither `pin` nor `fpt` is claimed).
USER_PRESENCE = "user"

REGISTER = "register"
SECOND_FACTOR = "second_factor"
PASSWORDLESS = "passwordless"

ROAMING_TRANSPORTS = {
    AuthenticatorTransport.USB,
    AuthenticatorTransport.NFC,
    AuthenticatorTransport.BLE,
    AuthenticatorTransport.SMART_CARD,
}
EXPIRED = "This request has expired or was already used. Please start again."
NOT_ACCEPTED = (
    "This passkey or security key was not accepted. A failed attempt counts like a wrong "
    "password: after 6 in a row the account is locked."
)


class PasskeyRefused(Forbidden):
    """The browser's answer did not prove possession of a key of this person."""


@dataclass(frozen=True)
class RelyingParty:
    """Who the keys are made for (WebAuthn's relying party): the host name of the issuer's URL as
    the RP id, and its origin, which every browser answer must come from."""

    id: str
    origin: str
    name: str = "Success Community"

    @classmethod
    def of(cls, url: str) -> RelyingParty:
        """The relying party of the OpenID Provider's public URL (ROLLCALL_ISSUER, or the URL a
        request came to)."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise InvalidInput(f"Passkeys need an http(s) address, not {url!r}.")
        host = parts.hostname
        if _is_address(host):
            raise InvalidInput(
                f"Passkeys need a host name, not the address {host}: open Rollcall by its name "
                "(http://localhost in development) or set ROLLCALL_ISSUER."
            )
        default_port = 443 if parts.scheme == "https" else 80
        port = f":{parts.port}" if parts.port and parts.port != default_port else ""
        return cls(id=host, origin=f"{parts.scheme}://{host}{port}")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# Adding a key.


def signed_in_recently(signed_in_at: datetime) -> bool:
    """Whether a sign-in at this time is recent enough to add a key (`RECENT_SIGN_IN`)."""
    return signed_in_at + RECENT_SIGN_IN > now()


def begin_registration(
    tx: Tx, rp: RelyingParty, user: User, *, signed_in_at: datetime
) -> dict[str, Any]:
    """The options for `navigator.credentials.create()`: a discoverable key where the device
    can make one (so it also signs in without a password), never one the person already has.
    The person must have signed in recently (`signed_in_at`: their session's last sign-in)."""
    if not signed_in_recently(signed_in_at):
        raise Forbidden(SIGN_IN_AGAIN)
    owner = _load(tx, user.id)
    if len(_keys_of(tx, owner.id)) >= MAX_PER_USER:
        raise Conflict(f"You have {MAX_PER_USER} passkeys and security keys; remove one first.")
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=owner.id.bytes,
        user_name=owner.user_name,
        user_display_name=_display_name(owner),
        challenge=_issue(tx, REGISTER, owner),
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(_keys_of(tx, owner.id)),
    )
    return options_to_json_dict(options)


def finish_registration(
    tx: Tx, rp: RelyingParty, actor: Actor, user: User, credential: Any, name: str = ""
) -> Passkey:
    """Keep the key the browser made, once its answer checks out against the challenge this
    person was given; audited, and the person is told by mail."""
    owner = _load(tx, user.id)
    try:
        parsed = parse_registration_credential_json(credential)
    except WebAuthnException as error:
        raise InvalidInput("The browser's answer could not be read.") from error
    challenge = _consume(tx, parsed.response.client_data_json, REGISTER, owner)
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except WebAuthnException as error:
        raise InvalidInput(f"The new key was not accepted: {error}.") from error
    credential_id = bytes_to_base64url(verified.credential_id)
    if tx.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        raise Conflict("This passkey or security key is already added.")
    transports = [t.value for t in parsed.response.transports or []]
    roaming = parsed.authenticator_attachment == AuthenticatorAttachment.CROSS_PLATFORM or (
        parsed.authenticator_attachment is None
        and bool(transports)
        and set(transports) <= {t.value for t in ROAMING_TRANSPORTS}
    )
    synced = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    amr = HARDWARE_KEY if roaming and not synced else SOFTWARE_KEY
    passkey = Passkey(
        user_id=owner.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
        name=_clean_name(name) or ("Security key" if amr == HARDWARE_KEY else "Passkey"),
        aaguid=verified.aaguid,
        amr=amr,
        created_at=now(),
    )
    tx.add(passkey)
    tx.flush()
    _audit(tx, actor, "passkey.added", owner, passkey)
    outbox.enqueue_email(tx, owner, "passkey_added", **_mail_context(owner, passkey))
    return passkey


# Signing in with a key.


def begin_authentication(tx: Tx, rp: RelyingParty, user: User) -> dict[str, Any]:
    """The options for `navigator.credentials.get()` when the person is known (a second factor
    after the password): any of their keys, without asking for their PIN again."""
    owner = _load(tx, user.id)
    keys = _keys_of(tx, owner.id)
    if not keys:
        raise NotFound("You have no passkey or security key yet.")
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=_issue(tx, SECOND_FACTOR, owner),
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(keys),
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
    challenge = _consume(tx, parsed.response.client_data_json, SECOND_FACTOR, owner)
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
        challenge=_issue(tx, PASSWORDLESS, None),
        timeout=TIMEOUT_MS,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json_dict(options)


def sign_in_passwordless(tx: Tx, rp: RelyingParty, credential: Any) -> tuple[User, tuple[str, ...]]:
    """The person whose discoverable key signed the challenge, with user verification, and the
    methods that earns: the key's (`hwk`/`swk`) and `user`, which `Proof` counts as two factors
    (something held, and a PIN or biometric checked by the device). Refused like a password is:
    a locked, not enabled or deactivated account does not sign in. A failed attempt with a known
    key counts toward its owner's lockout (the caller commits `tx` whether or not this raises)."""
    parsed = _parse_assertion(credential)
    challenge = _consume(tx, parsed.response.client_data_json, PASSWORDLESS, None)
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
    signin.record_sign_in(tx, owner)
    return owner, (passkey.amr, USER_PRESENCE)


# The person's list.


def list_for(tx: Tx, user: User) -> Sequence[Passkey]:
    """The person's keys, oldest first."""
    return _keys_of(tx, user.id)


def has_any(tx: Tx, user: User) -> bool:
    """Whether the person has a key to prove a second factor with (for the MFA policy)."""
    return tx.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1)) is not None


def rename(tx: Tx, actor: Actor, user: User, passkey_id: uuid.UUID, name: str) -> Passkey:
    owner = _load(tx, user.id)
    passkey = _own(tx, owner, passkey_id)
    cleaned = _clean_name(name)
    if not cleaned:
        raise InvalidInput("Give the key a name.", field="name")
    before = passkey.name
    passkey.name = cleaned
    _audit(tx, actor, "passkey.renamed", owner, passkey, {"name": [before, cleaned]})
    return passkey


def remove(tx: Tx, actor: Actor, user: User, passkey_id: uuid.UUID) -> None:
    """The key signs nobody in any more; audited, and the person is told by mail."""
    owner = _load(tx, user.id)
    passkey = _own(tx, owner, passkey_id)
    context = _mail_context(owner, passkey)
    _audit(tx, actor, "passkey.removed", owner, passkey)
    tx.delete(passkey)
    tx.flush()
    outbox.enqueue_email(tx, owner, "passkey_removed", **context)


def remove_all(tx: Tx, actor: Actor, user: User) -> int:
    """Every key of the person removed (support resetting their factors; that reset mails them
    once), each audited; returns how many."""
    owner = _load(tx, user.id)
    keys = _keys_of(tx, owner.id)
    for passkey in keys:
        _audit(tx, actor, "passkey.removed", owner, passkey)
        tx.delete(passkey)
    tx.flush()
    return len(keys)


# The pieces.


def _issue(tx: Tx, purpose: str, user: User | None) -> bytes:
    """A new challenge for this ceremony (expired ones are swept away on the way)."""
    moment = now()
    tx.execute(
        delete(PasskeyChallenge)
        .where(PasskeyChallenge.expires_at <= moment)
        .execution_options(synchronize_session=False)
    )
    challenge = secrets.token_bytes(32)
    tx.add(
        PasskeyChallenge(
            challenge_hash=digest(bytes_to_base64url(challenge)),
            purpose=purpose,
            user_id=user.id if user else None,
            created_at=moment,
            expires_at=moment + CHALLENGE_LIFETIME,
        )
    )
    tx.flush()
    return challenge


def _consume(tx: Tx, client_data_json: bytes, purpose: str, user: User | None) -> bytes:
    """The challenge the answer names, used up: it must have been given for this ceremony and
    person, and not have expired."""
    try:
        challenge = parse_client_data_json(client_data_json).challenge
    except Exception as error:  # py_webauthn raises whatever json and base64 raise
        raise InvalidInput("The browser's answer could not be read.") from error
    owner = (
        PasskeyChallenge.user_id.is_(None)
        if user is None
        else (PasskeyChallenge.user_id == user.id)
    )
    used = tx.execute(
        delete(PasskeyChallenge)
        .where(
            PasskeyChallenge.challenge_hash == digest(bytes_to_base64url(challenge)),
            PasskeyChallenge.purpose == purpose,
            PasskeyChallenge.expires_at > now(),
            owner,
        )
        .returning(PasskeyChallenge.challenge_hash)
        .execution_options(synchronize_session=False)
    ).scalar()
    if used is None:
        raise InvalidInput(EXPIRED)
    return challenge


def _parse_assertion(credential: Any) -> Any:
    try:
        return parse_authentication_credential_json(credential)
    except WebAuthnException as error:
        raise InvalidInput("The browser's answer could not be read.") from error


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
    parsed: Any,
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
        _audit(
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


def _keys_of(tx: Tx, user_id: uuid.UUID) -> Sequence[Passkey]:
    return tx.scalars(
        select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at, Passkey.id)
    ).all()


def _own(tx: Tx, owner: User, passkey_id: uuid.UUID) -> Passkey:
    passkey = tx.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != owner.id:
        raise NotFound("No such passkey or security key.")
    return passkey


def _descriptors(keys: Sequence[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(key.credential_id),
            transports=[AuthenticatorTransport(t) for t in key.transports or []] or None,
        )
        for key in keys
    ]


def _clean_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if len(cleaned) > NAME_LENGTH:
        raise InvalidInput(f"A name has at most {NAME_LENGTH} characters.", field="name")
    return cleaned


def _display_name(user: User) -> str:
    full = f"{user.given_name or ''} {user.family_name or ''}".strip()
    return user.display_name or full or user.user_name


def _audit(
    tx: Tx,
    actor: Actor,
    action: str,
    owner: User,
    passkey: Passkey,
    changes: dict[str, Any] | None = None,
) -> None:
    audit.record(
        tx,
        actor,
        action,
        target_type="user",
        target_id=owner.id,
        account_id=owner.account_id,
        changes={"passkey": str(passkey.id), "name": passkey.name, "amr": passkey.amr}
        | (changes or {}),
    )


def _mail_context(owner: User, passkey: Passkey) -> dict[str, Any]:
    kind = "security key" if passkey.amr == HARDWARE_KEY else "passkey"
    return {"user_name": owner.user_name, "key_name": passkey.name, "kind": kind}
