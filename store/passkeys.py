"""Passkeys and security keys (WebAuthn, checked by py_webauthn): adding them, and the list a
person keeps of them. Signing in with them is `store.passkey_signin`.

What a key earns (RFC 8176 `amr`), decided once when it is added from what the browser reports:
`hwk` for a roaming security key (authenticator attachment `cross-platform`, or only USB, NFC or
Bluetooth transports) that cannot be backed up, whose private key never leaves that device; `swk`
for everything else: passkeys of the platform (Windows Hello, Touch ID, Android) and synced
passkeys (backup-eligible, copied through a cloud account). With attestation `none` nothing
proves which it is: the method says what the person used, not a certified device class.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from webauthn import generate_registration_options, verify_registration_response
from webauthn.helpers import (
    bytes_to_base64url,
    options_to_json_dict,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from store import audit, outbox, sessions
from store.actors import Actor
from store.assurance import HARDWARE_KEY, SOFTWARE_KEY
from store.db import Tx, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound
from store.models.directory import User
from store.models.security import Passkey
from store.passkey_ceremonies import (
    REGISTER,
    TIMEOUT_MS,
    UNREADABLE,
    RelyingParty,
    descriptors,
    issue_challenge,
    use_challenge,
)

# Adding a key needs a sign-in this recent: a key signs in for good, so a browser left signed in
# (or a stolen session) must not be enough to add one.
RECENT_SIGN_IN = timedelta(minutes=15)
SIGN_IN_AGAIN = "For your security, sign in again before adding a passkey or security key."
SIGN_IN_AGAIN_TO_REMOVE = (
    "For your security, sign in again before removing a passkey or security key."
)
MAX_PER_USER = 20
NAME_LENGTH = Passkey.__table__.c.name.type.length
ROAMING_TRANSPORTS = {
    AuthenticatorTransport.USB,
    AuthenticatorTransport.NFC,
    AuthenticatorTransport.BLE,
    AuthenticatorTransport.SMART_CARD,
}


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
    if len(list_for(tx, owner)) >= MAX_PER_USER:
        raise Conflict(f"You have {MAX_PER_USER} passkeys and security keys; remove one first.")
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=owner.id.bytes,
        user_name=owner.user_name,
        user_display_name=_display_name(owner),
        challenge=issue_challenge(tx, REGISTER, owner),
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=descriptors(list_for(tx, owner)),
    )
    return options_to_json_dict(options)


def finish_registration(
    tx: Tx,
    rp: RelyingParty,
    actor: Actor,
    user: User,
    credential: Any,
    name: str = "",
    *,
    keep: uuid.UUID | None = None,
) -> Passkey:
    """Keep the key the browser made, once its answer checks out against the challenge this
    person was given; audited, and the person is told by mail. Their other sessions end, and
    their tokens with them (`keep`: this browser's session), as for a new authenticator app
    (`mfa.confirm_totp`): a session signed in with a stolen password must not outlive it."""
    owner = _load(tx, user.id)
    try:
        parsed = parse_registration_credential_json(credential)
    except WebAuthnException as error:
        raise InvalidInput(UNREADABLE) from error
    challenge = use_challenge(tx, parsed.response.client_data_json, REGISTER, owner)
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
    record(tx, actor, "passkey.added", owner, passkey)
    outbox.enqueue_email(tx, owner, "passkey_added", **_mail_context(owner, passkey))
    sessions.end_all(tx, owner, keep=keep)
    return passkey


def list_for(tx: Tx, user: User) -> Sequence[Passkey]:
    """The person's keys, oldest first."""
    return tx.scalars(
        select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.created_at, Passkey.id)
    ).all()


def has_any(tx: Tx, user: User) -> bool:
    """Whether the person has a key to prove a second factor with (for the MFA policy)."""
    return tx.scalar(select(Passkey.id).where(Passkey.user_id == user.id).limit(1)) is not None


def record(
    tx: Tx,
    actor: Actor,
    action: str,
    owner: User,
    passkey: Passkey,
    changes: dict[str, Any] | None = None,
) -> None:
    """An audit event about one of the owner's keys."""
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


def rename(tx: Tx, actor: Actor, user: User, passkey_id: uuid.UUID, name: str) -> Passkey:
    owner = _load(tx, user.id)
    passkey = _own(tx, owner, passkey_id)
    cleaned = _clean_name(name)
    if not cleaned:
        raise InvalidInput("Give the key a name.", field="name")
    before = passkey.name
    passkey.name = cleaned
    record(tx, actor, "passkey.renamed", owner, passkey, {"name": [before, cleaned]})
    return passkey


def remove(
    tx: Tx, actor: Actor, user: User, passkey_id: uuid.UUID, *, signed_in_at: datetime
) -> None:
    """The key signs nobody in any more; audited, and the person is told by mail. As adding
    one, it needs a recent sign-in: a browser left signed in must not take a factor away."""
    if not signed_in_recently(signed_in_at):
        raise Forbidden(SIGN_IN_AGAIN_TO_REMOVE)
    owner = _load(tx, user.id)
    passkey = _own(tx, owner, passkey_id)
    context = _mail_context(owner, passkey)
    record(tx, actor, "passkey.removed", owner, passkey)
    tx.delete(passkey)
    tx.flush()
    outbox.enqueue_email(tx, owner, "passkey_removed", **context)


def remove_all(tx: Tx, actor: Actor, user: User) -> int:
    """Every key of the person removed (support resetting their factors; that reset mails them
    once), each audited; returns how many."""
    owner = _load(tx, user.id)
    keys = list_for(tx, owner)
    for passkey in keys:
        record(tx, actor, "passkey.removed", owner, passkey)
        tx.delete(passkey)
    tx.flush()
    return len(keys)


def _load(tx: Tx, user_id: uuid.UUID) -> User:
    user = tx.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def _own(tx: Tx, owner: User, passkey_id: uuid.UUID) -> Passkey:
    passkey = tx.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != owner.id:
        raise NotFound("No such passkey or security key.")
    return passkey


def _clean_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if len(cleaned) > NAME_LENGTH:
        raise InvalidInput(f"A name has at most {NAME_LENGTH} characters.", field="name")
    return cleaned


def _display_name(user: User) -> str:
    full = f"{user.given_name or ''} {user.family_name or ''}".strip()
    return user.display_name or full or user.user_name


def _mail_context(owner: User, passkey: Passkey) -> dict[str, Any]:
    kind = "security key" if passkey.amr == HARDWARE_KEY else "passkey"
    return {"user_name": owner.user_name, "key_name": passkey.name, "kind": kind}
