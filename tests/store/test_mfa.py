"""Second factors in `store`, called directly: the authenticator app (codes computed with pyotp),
replays, the shared lockout, recovery codes, who must use a second factor, support's reset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from rollcall.mail import render
from store import audit, mfa, mfa_policy, outbox, signin, users
from store.actors import Actor, Door
from store.db import Database
from store.errors import Conflict, Forbidden, InvalidInput
from store.models.directory import User
from store.models.security import RecoveryCode, TotpFactor
from tests.authenticator_app import Authenticator, enrol

PASSWORD = "harbor willow sixty two"


@pytest.fixture
def person(enterprise: Any, make_user: Callable[..., User]) -> User:
    return make_user(
        enterprise.account, "pat.person", password=PASSWORD, email_verified=True, profile="client"
    )


def me(user: User) -> Actor:
    return Actor.for_user(user, Door.PORTAL)


def verify(db: Database, user: User, method: str, code: str) -> Any:
    """A code given at sign-in; the refusal is committed, as the page commits it."""
    with db.transaction() as tx:
        try:
            return mfa.verify(tx, user.id, method, code)
        except mfa.CodeRefused as refused:
            return refused


def stored(db: Database, user: User) -> User:
    with db.transaction(write=False) as tx:
        return tx.get(User, user.id)


def mails(db: Database, template: str) -> list[Any]:
    with db.transaction(write=False) as tx:
        return [
            m.payload for m in outbox.pending(tx, outbox.EMAIL) if m.payload["template"] == template
        ]


def test_an_app_counts_once_a_code_confirms_it(db: Database, person: User) -> None:
    with db.transaction() as tx:
        started = mfa.start_totp(tx, me(person), person.id)
        assert mfa.methods_of(tx, person) == set()  # not before its first code
    assert started.uri.startswith("otpauth://totp/") and f"secret={started.secret}" in started.uri
    app = Authenticator(started.secret)
    with db.transaction() as tx, pytest.raises(InvalidInput, match="does not match"):
        mfa.confirm_totp(tx, me(person), person.id, app.wrong_code())
    with db.transaction() as tx:
        codes = mfa.confirm_totp(tx, me(person), person.id, app.code())
        assert mfa.methods_of(tx, person) == {"totp", "recovery_codes"}
    assert len(codes) == 10 and len(set(codes)) == 10
    with db.transaction(write=False) as tx:
        hashes = tx.scalars(select(RecoveryCode.code_hash)).all()
    assert not {c.replace("-", "") for c in codes} & set(hashes)  # kept hashed
    [added] = mails(db, "second_factor_changed")
    mail = render(added, base_url="http://id.test", user={"user_name": "pat.person"})
    assert mail.subject == "An authenticator app was added to your Success Community account"
    assert "An authenticator app now signs in to your account pat.person" in mail.text
    with db.transaction() as tx, pytest.raises(Conflict):
        mfa.start_totp(tx, me(person), person.id)  # one app per person


def test_a_code_from_the_app_signs_in_and_works_once(db: Database, person: User) -> None:
    app, _ = enrol(db, person)
    code = app.code()
    assert verify(db, person, "totp", code) == ("otp",)
    replayed = verify(db, person, "totp", code)
    assert isinstance(replayed, mfa.CodeRefused)
    assert stored(db, person).failed_logins == 1  # a replay is a wrong code
    assert verify(db, person, "totp", app.code()) == ("otp",)  # the next step's code works
    assert stored(db, person).failed_logins == 0  # the right code ends the count


def test_an_earlier_step_is_refused_after_a_later_one(db: Database, person: User) -> None:
    app, _ = enrol(db, person)
    earlier, later = app.code(), app.code()
    assert verify(db, person, "totp", later) == ("otp",)
    assert isinstance(verify(db, person, "totp", earlier), mfa.CodeRefused)


def test_wrong_codes_count_with_wrong_passwords_and_the_sixth_locks(
    db: Database, person: User
) -> None:
    app, _ = enrol(db, person)
    for attempt in range(3):
        with db.transaction() as tx, pytest.raises(signin.SignInRefused):
            signin.authenticate(tx, "pat.person", f"wrong password {attempt}")
    with db.transaction() as tx:
        signin.authenticate(tx, "pat.person", PASSWORD)
    assert stored(db, person).failed_logins == 3  # the password alone ends no count: a code follows
    for _ in range(2):
        assert isinstance(verify(db, person, "totp", app.wrong_code()), mfa.CodeRefused)
    assert stored(db, person).locked_at is None and not mails(db, "account_locked")
    assert isinstance(verify(db, person, "totp", app.wrong_code()), mfa.CodeRefused)  # the 6th
    assert stored(db, person).locked_at is not None
    assert len(mails(db, "account_locked")) == 1
    assert isinstance(verify(db, person, "totp", app.code()), mfa.CodeRefused)  # locked: refused
    with db.transaction() as tx, pytest.raises(signin.SignInRefused):
        signin.authenticate(tx, "pat.person", PASSWORD)


def test_a_recovery_code_works_once(db: Database, person: User) -> None:
    _, codes = enrol(db, person)
    assert verify(db, person, "recovery_codes", codes[0].upper()) == ("otp",)
    assert isinstance(verify(db, person, "recovery_codes", codes[0]), mfa.CodeRefused)
    assert isinstance(verify(db, person, "totp", codes[1]), mfa.CodeRefused)  # not an app code
    assert verify(db, person, "recovery_codes", codes[1].replace("-", " ")) == ("otp",)
    with db.transaction(write=False) as tx:
        assert mfa.recovery_codes_left(tx, person.id) == 8
        used = [e.action for e in audit.events_for(tx, "user", person.id)]
    assert used.count("user.recovery_code_used") == 2
    assert [m["left"] for m in mails(db, "recovery_code_used")] == [9, 8]


def test_new_recovery_codes_replace_the_old(db: Database, person: User) -> None:
    _, old = enrol(db, person)
    with db.transaction() as tx:
        new = mfa.regenerate_recovery_codes(tx, me(person), person.id)
    assert len(new) == 10 and not set(new) & set(old)
    assert isinstance(verify(db, person, "recovery_codes", old[0]), mfa.CodeRefused)
    assert verify(db, person, "recovery_codes", new[0]) == ("otp",)


def test_removing_the_app_takes_the_recovery_codes_with_it(db: Database, person: User) -> None:
    enrol(db, person)
    with db.transaction() as tx:
        mfa.remove_totp(tx, me(person), person.id)
        assert mfa.methods_of(tx, person) == set()
        assert tx.scalar(select(RecoveryCode.id)) is None
    with db.transaction() as tx, pytest.raises(Conflict, match="authenticator app first"):
        mfa.regenerate_recovery_codes(tx, me(person), person.id)


def test_nobody_sets_up_another_persons_factors(
    db: Database, person: User, enterprise: Any
) -> None:
    with db.transaction() as tx, pytest.raises(Forbidden):
        mfa.start_totp(tx, enterprise.actor, person.id)


def test_changing_factors_needs_a_recent_sign_in_or_the_password(
    db: Database, person: User
) -> None:
    from datetime import timedelta

    from store.db import now

    with db.transaction() as tx:
        mfa.confirm_presence(tx, person.id, password=None, signed_in_at=now())
        mfa.confirm_presence(
            tx, person.id, password=PASSWORD, signed_in_at=now() - timedelta(hours=1)
        )
        for password in (None, "not the password"):
            with pytest.raises(InvalidInput):
                mfa.confirm_presence(
                    tx, person.id, password=password, signed_in_at=now() - timedelta(hours=1)
                )


def test_who_must_use_a_second_factor(
    db: Database,
    enterprise: Any,
    person: User,
    make_user: Callable[..., User],
    support: Actor,
) -> None:
    guest = make_user(None, "gail.guest", profile="guest")

    def required() -> dict[str, bool]:
        with db.transaction(write=False) as tx:
            users = {"main": enterprise.main, "client": person, "guest": guest}
            return {name: mfa.required_for(tx, tx.get(User, u.id)) for name, u in users.items()}

    assert required() == {"main": False, "client": False, "guest": False}
    with db.transaction() as tx:
        mfa_policy.set_policy(tx, enterprise.actor, enterprise.account.id, "main_contacts")
    assert required() == {"main": True, "client": False, "guest": False}
    with db.transaction() as tx:
        mfa_policy.set_policy(tx, enterprise.actor, enterprise.account.id, "everyone")
    assert required() == {"main": True, "client": True, "guest": False}
    with db.transaction() as tx:
        mfa_policy.set_policy(tx, support, enterprise.account.id, "optional")
        mfa_policy.require_everywhere(tx, support, True)
    assert required() == {"main": True, "client": True, "guest": True}
    with db.transaction() as tx:
        mfa_policy.require_everywhere(tx, support, False)
        assert mfa.next_step(tx, person) == mfa.Step.DONE
        actions = [e.action for e in audit.recent(tx, support)]
    assert actions.count("account.mfa_policy_changed") == 3
    assert actions.count("deployment.mfa_required_changed") == 2


def test_only_main_contacts_and_support_set_the_policy(
    db: Database, enterprise: Any, person: User, make_account: Callable[..., Any]
) -> None:
    other = make_account()
    refused = [
        (me(person), enterprise.account.id),  # not a main contact
        (enterprise.actor, other.id),  # another account's
        (enterprise.okta, enterprise.account.id),  # an identity provider's token
    ]
    for actor, account_id in refused:
        with db.transaction() as tx, pytest.raises(Forbidden):
            mfa_policy.set_policy(tx, actor, account_id, "everyone")
    with db.transaction() as tx, pytest.raises(Forbidden):
        mfa_policy.require_everywhere(tx, enterprise.actor, True)
    with db.transaction() as tx, pytest.raises(InvalidInput):
        mfa_policy.set_policy(tx, enterprise.actor, enterprise.account.id, "sometimes")


def test_a_person_who_must_enrol_is_asked_to(db: Database, enterprise: Any, person: User) -> None:
    with db.transaction() as tx:
        mfa_policy.set_policy(tx, enterprise.actor, enterprise.account.id, "everyone")
        assert mfa.next_step(tx, person) == mfa.Step.ENROL
    enrol(db, person)
    with db.transaction() as tx:
        assert mfa.next_step(tx, person) == mfa.Step.VERIFY


def test_support_resets_factors_audited_and_mailed(
    db: Database, person: User, support: Actor, enterprise: Any
) -> None:
    enrol(db, person)
    with db.transaction() as tx, pytest.raises(Forbidden):
        mfa.reset(tx, enterprise.actor, person.id)  # a main contact may not
    with db.transaction() as tx:
        mfa.reset(tx, support, person.id)
    with db.transaction(write=False) as tx:
        assert mfa.methods_of(tx, person) == set()
        assert tx.scalar(select(TotpFactor.user_id)) is None
        [event] = [e for e in audit.events_for(tx, "user", person.id) if "reset" in e.action]
    assert event.action == "user.second_factors_reset" and event.actor_label == "support.staff"
    assert event.changes == {"second_factors": [["recovery_codes", "totp"], []]}
    [mail] = mails(db, "second_factors_reset")
    assert mail["to"] == "pat.person@example.test"
    text = render(mail, base_url="http://id.test", user={"given_name": "Pat"}).text
    assert "Support reset the second factors of your account pat.person" in text
    with db.transaction() as tx, pytest.raises(Conflict, match="no second factors to reset"):
        mfa.reset(tx, support, person.id)  # again: nothing to take, no second mail
    assert len(mails(db, "second_factors_reset")) == 1


def test_deleting_a_person_deletes_their_factors(
    db: Database, person: User, operator: Actor
) -> None:
    enrol(db, person)
    with db.transaction() as tx:
        users.delete_user(tx, operator, person.id)
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(TotpFactor.user_id)) is None
        assert tx.scalar(select(RecoveryCode.id)) is None


def test_the_wrong_code_that_locks_the_account_says_so(
    db: Database, make_user: Callable[..., User]
) -> None:
    """The 6th wrong password or code in a row locks; the refusal of the code that did says so
    (the sign-in page counts it among the lockouts)."""
    user = make_user(None, "codes.wrong", email_verified=True)
    locked = []
    for _ in range(signin.LOCK_AFTER):
        with db.transaction() as tx:
            try:
                mfa.verify(tx, user.id, mfa.TOTP, "000000")
            except mfa.CodeRefused as refused:
                locked.append(refused.locked_now)
    assert locked == [False] * (signin.LOCK_AFTER - 1) + [True]
