"""Passkeys and security keys in `store`, with real WebAuthn answers made by a Python
authenticator (tests/authenticator.py) and checked by py_webauthn: adding, signing in as a
second factor and on their own, and every refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from store import audit, federation, mfa, outbox, passkey_signin, passkeys, second_factors
from store.actors import Actor, Door
from store.assurance import HARDWARE_KEY, SOFTWARE_KEY, Proof
from store.db import Database, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound
from store.models.directory import User
from store.models.security import Passkey, PasskeyChallenge
from store.passkey_ceremonies import RelyingParty
from store.passkey_signin import PasskeyRefused
from store.signin import LOCK_AFTER, SignInRefused
from tests.authenticator import SoftAuthenticator

RP = RelyingParty.of("https://id.example.test")


@pytest.fixture
def person(make_user: Callable[..., User]) -> User:
    return make_user(None, "pat.key", email_verified=True)


def add_key(
    db: Database, user: User, device: SoftAuthenticator | None = None, name: str = ""
) -> tuple[Passkey, SoftAuthenticator]:
    device = device or SoftAuthenticator(RP.origin)
    with db.transaction() as tx:
        options = passkeys.begin_registration(tx, RP, user, signed_in_at=now())
    with db.transaction() as tx:
        actor = Actor.for_user(user, Door.PORTAL)
        added = passkeys.finish_registration(tx, RP, actor, user, device.create(options), name)
        tx.expunge(added)
    return added, device


def second_factor(db: Database, user: User, device: SoftAuthenticator, **answer: Any) -> Any:
    """Sign in with the device as a second factor; the refusal is committed, as doors do."""
    with db.transaction() as tx:
        options = passkey_signin.begin_authentication(tx, RP, user)
    with db.transaction() as tx:
        try:
            return passkey_signin.authenticate(tx, RP, user, device.get(options, **answer))
        except PasskeyRefused as refused:
            return refused


def passkey_events(tx: Any, user: User) -> list[str]:
    events = audit.events_for(tx, "user", user.id)
    return [e.action for e in events if e.action.startswith("passkey.")]


def failures(db: Database, user: User) -> int:
    with db.transaction(write=False) as tx:
        return tx.get(User, user.id).failed_logins


def test_the_relying_party_is_the_issuers_host_and_origin() -> None:
    assert RelyingParty.of("https://id.example.com/") == RelyingParty(
        "id.example.com", "https://id.example.com"
    )
    assert RelyingParty.of("https://id.example.com:443").origin == "https://id.example.com"
    assert RelyingParty.of("http://localhost:5123/").origin == "http://localhost:5123"
    with pytest.raises(InvalidInput):
        RelyingParty.of("id.example.com")
    with pytest.raises(InvalidInput, match="host name, not the address"):
        RelyingParty.of("http://127.0.0.1:8000/")


def test_a_platform_passkey_is_added_earns_swk_and_the_person_is_told(
    db: Database, person: User
) -> None:
    with db.transaction() as tx:
        options = passkeys.begin_registration(tx, RP, person, signed_in_at=now())
    assert options["rp"] == {"id": "id.example.test", "name": "Success Community"}
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["attestation"] == "none"
    device = SoftAuthenticator(RP.origin)
    with db.transaction() as tx:
        actor = Actor.for_user(person, Door.PORTAL)
        added = passkeys.finish_registration(
            tx, RP, actor, person, device.create(options), "Laptop"
        )
    with db.transaction(write=False) as tx:
        [kept] = passkeys.list_for(tx, person)
        assert passkeys.has_any(tx, person)
        assert (kept.id, kept.name, kept.amr) == (added.id, "Laptop", SOFTWARE_KEY)
        assert kept.transports == ["internal"]
        assert kept.aaguid == "00000000-0000-0000-0000-000000000000"
        [mail] = outbox.pending(tx, outbox.EMAIL)
        assert mail.payload["template"] == "passkey_added"
        assert mail.payload["key_name"] == "Laptop"
        assert passkey_events(tx, person) == ["passkey.added"]


def test_adding_a_key_needs_a_recent_sign_in(db: Database, person: User) -> None:
    with db.transaction() as tx, pytest.raises(Forbidden, match="sign in again"):
        passkeys.begin_registration(tx, RP, person, signed_in_at=now() - timedelta(minutes=16))
    with db.transaction() as tx:
        passkeys.begin_registration(tx, RP, person, signed_in_at=now() - timedelta(minutes=14))


def test_a_roaming_security_key_earns_hwk_and_a_synced_one_swk(db: Database, person: User) -> None:
    usb = SoftAuthenticator(RP.origin, attachment="cross-platform", transports=("usb", "nfc"))
    synced = SoftAuthenticator(RP.origin, attachment="cross-platform", synced=True)
    key, _ = add_key(db, person, usb)
    phone, _ = add_key(db, person, synced)
    assert (key.amr, key.name) == (HARDWARE_KEY, "Security key")
    assert (phone.amr, phone.name) == (SOFTWARE_KEY, "Passkey")


def test_a_key_signs_in_as_a_second_factor(db: Database, person: User) -> None:
    key, device = add_key(db, person, SoftAuthenticator(RP.origin, attachment="cross-platform"))
    assert second_factor(db, person, device) == (HARDWARE_KEY,)
    assert Proof.password().with_methods([HARDWARE_KEY]).amr == ("pwd", "hwk", "mfa")
    with db.transaction(write=False) as tx:
        kept = tx.get(Passkey, key.id)
        assert kept.sign_count == 1
        assert kept.last_used_at is not None


def test_a_challenge_is_used_once(db: Database, person: User) -> None:
    _, device = add_key(db, person)
    with db.transaction() as tx:
        options = passkey_signin.begin_authentication(tx, RP, person)
    answer = device.get(options)
    with db.transaction() as tx:
        assert passkey_signin.authenticate(tx, RP, person, answer) == (SOFTWARE_KEY,)
    with db.transaction() as tx, pytest.raises(InvalidInput, match="expired or was already used"):
        passkey_signin.authenticate(tx, RP, person, answer)
    with db.transaction(write=False) as tx:
        assert tx.scalars(select(PasskeyChallenge)).all() == []


def test_a_registration_challenge_cannot_finish_a_sign_in(db: Database, person: User) -> None:
    _, device = add_key(db, person)
    with db.transaction() as tx:
        options = passkeys.begin_registration(tx, RP, person, signed_in_at=now())
    options["rpId"] = RP.id
    with db.transaction() as tx, pytest.raises(InvalidInput, match="expired"):
        passkey_signin.authenticate(tx, RP, person, device.get(options))


def test_a_counter_that_goes_back_is_refused_audited_and_counted(
    db: Database, person: User
) -> None:
    _, device = add_key(db, person)
    assert second_factor(db, person, device, count=7) == (SOFTWARE_KEY,)
    refused = second_factor(db, person, device, count=7)
    assert isinstance(refused, PasskeyRefused)
    refused = second_factor(db, person, device, count=3)
    assert isinstance(refused, PasskeyRefused)
    assert failures(db, person) == 2
    with db.transaction(write=False) as tx:
        assert passkey_events(tx, person).count("passkey.sign_count_regressed") == 2
        assert tx.scalar(select(Passkey.sign_count)) == 7
    assert second_factor(db, person, device, count=8) == (SOFTWARE_KEY,)


def test_a_key_that_never_counts_keeps_working(db: Database, person: User) -> None:
    _, device = add_key(db, person, SoftAuthenticator(RP.origin, synced=True))
    assert second_factor(db, person, device, count=0) == (SOFTWARE_KEY,)
    assert second_factor(db, person, device, count=0) == (SOFTWARE_KEY,)


def test_another_persons_key_is_refused_and_counts(
    db: Database, person: User, make_user: Callable[..., User]
) -> None:
    other = make_user(None, "other.person", email_verified=True)
    _, theirs = add_key(db, other)
    add_key(db, person)
    with db.transaction() as tx:
        options = passkey_signin.begin_authentication(tx, RP, person)
    with db.transaction() as tx, pytest.raises(PasskeyRefused):
        passkey_signin.authenticate(tx, RP, person, theirs.get(options))
    assert failures(db, person) == 1
    assert failures(db, other) == 0


def test_a_forged_signature_wrong_origin_or_site_is_refused(db: Database, person: User) -> None:
    _, device = add_key(db, person)
    impostor = SoftAuthenticator(RP.origin, credential_id=device.credential_id)
    assert isinstance(second_factor(db, person, impostor), PasskeyRefused)
    assert isinstance(second_factor(db, person, device, origin="https://evil.test"), PasskeyRefused)
    assert isinstance(second_factor(db, person, device, rp_id="evil.test"), PasskeyRefused)
    assert failures(db, person) == 3


def test_failed_answers_lock_the_account_like_wrong_passwords(db: Database, person: User) -> None:
    _, device = add_key(db, person)
    impostor = SoftAuthenticator(RP.origin, credential_id=device.credential_id)
    for _ in range(LOCK_AFTER):
        assert isinstance(second_factor(db, person, impostor), PasskeyRefused)
    with db.transaction(write=False) as tx:
        assert tx.get(User, person.id).locked_at is not None
        assert any(m.payload["template"] == "account_locked" for m in outbox.pending(tx))
    assert isinstance(second_factor(db, person, device), PasskeyRefused)  # locked: refused


def test_a_registration_answer_from_another_site_is_refused(db: Database, person: User) -> None:
    with db.transaction() as tx:
        options = passkeys.begin_registration(tx, RP, person, signed_in_at=now())
    answer = SoftAuthenticator("https://evil.test").create(options)
    with db.transaction() as tx:
        actor = Actor.for_user(person, Door.PORTAL)
        with pytest.raises(InvalidInput, match="not accepted"):
            passkeys.finish_registration(tx, RP, actor, person, answer)


def test_garbage_is_a_clear_refusal(db: Database, person: User) -> None:
    actor = Actor.for_user(person, Door.PORTAL)
    for garbage in ("not json", {}, {"id": "x", "rawId": "x", "response": {}}, [1]):
        with db.transaction() as tx, pytest.raises(InvalidInput, match="could not be read"):
            passkeys.finish_registration(tx, RP, actor, person, garbage)
        with db.transaction() as tx, pytest.raises(InvalidInput, match="could not be read"):
            passkey_signin.authenticate(tx, RP, person, garbage)


def test_the_same_key_cannot_be_added_twice(db: Database, person: User) -> None:
    _, device = add_key(db, person)
    with pytest.raises(Conflict, match="already added"):
        add_key(db, person, device)


def test_rename_and_remove_are_the_owners_audited_and_mailed(
    db: Database, person: User, make_user: Callable[..., User]
) -> None:
    key, _ = add_key(db, person, name="Old name")
    other = make_user(None, "other.person")
    actor = Actor.for_user(person, Door.PORTAL)
    with db.transaction() as tx, pytest.raises(NotFound):
        passkeys.rename(tx, Actor.for_user(other, Door.PORTAL), other, key.id, "Mine now")
    with db.transaction() as tx, pytest.raises(InvalidInput, match="name"):
        passkeys.rename(tx, actor, person, key.id, "   ")
    with db.transaction() as tx, pytest.raises(InvalidInput, match="at most"):
        passkeys.rename(tx, actor, person, key.id, "x" * 101)
    with db.transaction() as tx:
        assert passkeys.rename(tx, actor, person, key.id, "  Work   laptop ").name == "Work laptop"
    with db.transaction() as tx, pytest.raises(NotFound):
        passkeys.remove(tx, Actor.for_user(other, Door.PORTAL), other, key.id, signed_in_at=now())
    stale = now() - timedelta(hours=1)  # a browser left signed in takes no factor away
    with db.transaction() as tx, pytest.raises(Forbidden, match="sign in again"):
        passkeys.remove(tx, actor, person, key.id, signed_in_at=stale)
    with db.transaction() as tx:
        passkeys.remove(tx, actor, person, key.id, signed_in_at=now())
    with db.transaction(write=False) as tx:
        assert not passkeys.has_any(tx, person)
        assert passkey_events(tx, person) == ["passkey.added", "passkey.renamed", "passkey.removed"]
        [removed] = [m for m in outbox.pending(tx) if m.payload["template"] == "passkey_removed"]
        assert removed.payload["key_name"] == "Work laptop"


def test_a_person_without_keys_is_told_so(db: Database, person: User) -> None:
    with db.transaction() as tx, pytest.raises(NotFound, match="no passkey"):
        passkey_signin.begin_authentication(tx, RP, person)


def test_a_passkey_alone_signs_in_with_user_verification(db: Database, person: User) -> None:
    _, device = add_key(db, person)
    with db.transaction() as tx:
        options = passkey_signin.begin_passwordless(tx, RP)
    assert options["userVerification"] == "required"
    assert options["allowCredentials"] == []
    with db.transaction() as tx:
        user, methods = passkey_signin.sign_in_passwordless(tx, RP, device.get(options))
        assert user.id == person.id
    assert methods == (SOFTWARE_KEY, "user")
    assert Proof.of(methods).amr == ("swk", "user", "mfa")
    assert Proof.of(methods).multi_factor
    with db.transaction(write=False) as tx:
        assert tx.get(User, person.id).last_login_at is not None


def test_a_passkey_alone_without_user_verification_is_refused(db: Database, person: User) -> None:
    _, device = add_key(db, person)
    with db.transaction() as tx:
        options = passkey_signin.begin_passwordless(tx, RP)
    with db.transaction() as tx, pytest.raises(PasskeyRefused):
        passkey_signin.sign_in_passwordless(tx, RP, device.get(options, verified=False))


def test_a_passkey_alone_does_not_sign_in_a_deactivated_person(
    db: Database, make_user: Callable[..., User]
) -> None:
    quiet = make_user(None, "quiet.one", email_verified=True)
    _, device = add_key(db, quiet)
    with db.transaction() as tx:
        tx.get(User, quiet.id).active = False
    with db.transaction() as tx:
        options = passkey_signin.begin_passwordless(tx, RP)
    with db.transaction() as tx, pytest.raises(SignInRefused) as refused:
        passkey_signin.sign_in_passwordless(tx, RP, device.get(options))
    assert refused.value.reason == "inactive"


def test_a_passkey_alone_does_not_sign_in_where_the_organization_must(
    db: Database, make_account: Callable[..., Any], make_user: Callable[..., User], support: Actor
) -> None:
    account = make_account("Federated Clinic")
    member = make_user(account, "fed.member", email_verified=True)
    _, device = add_key(db, member)
    with db.transaction() as tx:
        federation.create_connection(
            tx,
            support,
            account.id,
            issuer="https://idp.example",
            client_id="rollcall",
            client_secret="s" * 20,
            required=True,
        )
        options = passkey_signin.begin_passwordless(tx, RP)
    with db.transaction() as tx, pytest.raises(SignInRefused) as refused:
        passkey_signin.sign_in_passwordless(tx, RP, device.get(options))
    assert refused.value.reason == "federated"


def test_an_unknown_key_alone_is_refused(db: Database, person: User) -> None:
    with db.transaction() as tx:
        options = passkey_signin.begin_passwordless(tx, RP)
    stranger = SoftAuthenticator(RP.origin, user_handle=person.id.bytes)
    with db.transaction() as tx, pytest.raises(PasskeyRefused):
        passkey_signin.sign_in_passwordless(tx, RP, stranger.get(options))


def test_support_removes_every_key(db: Database, person: User, support: Actor) -> None:
    add_key(db, person)
    add_key(db, person)
    with db.transaction() as tx:
        assert passkeys.remove_all(tx, support, person) == 2
    with db.transaction(write=False) as tx:
        assert not passkeys.has_any(tx, person)


def test_supports_reset_of_second_factors_takes_the_keys_too(
    db: Database, person: User, support: Actor
) -> None:
    add_key(db, person)
    with db.transaction() as tx:
        assert second_factors.methods_of(tx, person) == {second_factors.PASSKEY}
        mfa.reset(tx, support, person.id)
    with db.transaction(write=False) as tx:
        assert second_factors.methods_of(tx, person) == set()
        assert "passkey.removed" in passkey_events(tx, person)
