"""Sign-in names (SPEC §1 Users: sign-in names are unambiguous), asked of `store`: a login reaches
at most one person, whichever door wrote the names, and migration 0010 settles the names that
were shared before it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import insert, select

from store import (
    migrate,
    new_users,
    recovery,
    registration,
    self_service,
    sign_in_names,
    users,
)
from store.actors import Actor, ActorType, Door
from store.credentials import AccountRow
from store.db import Database, now
from store.errors import Conflict, Forbidden, InvalidInput
from store.models.directory import SignInName, User, UserEmail
from store.models.logs import AuditEvent, OutboxMessage

PASSWORD = "a long enough pass phrase"


def address(value: str) -> list[dict[str, Any]]:
    return [{"value": value, "type": "work", "primary": True}]


def reached(db: Database, login: str) -> str | None:
    with db.transaction(write=False) as tx:
        user = sign_in_names.find(tx, login)
        return user.user_name if user else None


class TestOneNameOnePerson:
    def test_a_login_reaches_the_holder_of_the_username_or_the_address(
        self, db, enterprise, make_user
    ):
        make_user(enterprise.account, "Login.Name", emails=address("Shared@X.test"))
        assert reached(db, " login.NAME ") == "Login.Name"
        assert reached(db, "SHARED@x.test") == "Login.Name"
        assert reached(db, "nobody@x.test") is None
        assert reached(db, "") is None

    def test_other_addresses_of_a_user_sign_nobody_in(self, db, enterprise, make_user):
        emails = [*address("work@x.test"), {"value": "home@x.test", "type": "home"}]
        make_user(enterprise.account, "two.addresses", emails=emails)
        make_user(enterprise.account, "other", emails=address("HOME@x.test"))
        assert reached(db, "home@x.test") == "other"

    def test_another_accounts_address_is_refused_to_every_writer(
        self, db, enterprise, make_account, make_user, operator
    ):
        make_user(enterprise.account, "b.owner", emails=address("owner@b.test"))
        other = make_account(kind="enterprise")
        row = AccountRow(other.id, other.kind)
        okta = Actor(ActorType.CREDENTIAL, "token a", Door.SCIM, "c9", other.id, manages_users=True)
        with pytest.raises(Conflict, match="already signs in another user") as refused:
            new_users.create_user_at_once(
                db, okta, row, user_name="a1", emails=address("OWNER@b.test")
            )
        assert refused.value.field == "emails"
        with db.transaction() as tx, pytest.raises(Conflict) as refused:
            new_users.create_user(
                tx, okta, account_id=other.id, user_name="a2", emails=address("owner@B.test")
            )
        assert refused.value.field == "emails"
        mine = new_users.create_user_at_once(
            db, okta, row, user_name="a3", emails=address("a3@a.test")
        )
        with db.transaction() as tx, pytest.raises(Conflict) as refused:
            users.update_user(tx, okta, mine.id, {"emails": address("owner@b.test")})
        assert refused.value.field == "emails"
        with db.transaction() as tx, pytest.raises(Conflict):
            users.update_user(tx, operator, mine.id, {"user_name": "Owner@B.test"})
        assert reached(db, "owner@b.test") == "b.owner"

    def test_a_username_that_is_someone_elses_address_is_refused(
        self, db, enterprise, make_user, operator
    ):
        make_user(enterprise.account, "chyrece.ferry", emails=address("chyrece.ferry@x.test"))
        with db.transaction() as tx, pytest.raises(Conflict, match="another user's email") as no:
            new_users.create_user(
                tx,
                operator,
                account_id=None,
                user_name="CHYRECE.FERRY@X.TEST",
                emails=address("g@y.test"),
            )
        assert no.value.field == "user_name"
        make_user(enterprise.account, "boss@corp.test", emails=address("b.oss@corp.test"))
        with db.transaction() as tx, pytest.raises(Conflict, match="already signs in") as no:
            new_users.create_user(  # nor may an address be someone's username
                tx, operator, account_id=None, user_name="guest", emails=address("BOSS@corp.test")
            )
        assert no.value.field == "emails"

    def test_an_address_freed_by_a_change_can_be_taken_and_the_old_one_is_released(
        self, db, enterprise, make_user, operator
    ):
        first = make_user(enterprise.account, "first", emails=address("moving@x.test"))
        with db.transaction() as tx:
            users.update_user(tx, operator, first.id, {"emails": address("moved@x.test")})
        make_user(enterprise.account, "second", emails=address("moving@x.test"))
        assert (reached(db, "moved@x.test"), reached(db, "moving@x.test")) == ("first", "second")
        with db.transaction() as tx:
            users.update_user(tx, operator, first.id, {"user_name": "first.renamed"})
        assert (reached(db, "first"), reached(db, "first.renamed")) == (None, "first.renamed")
        with db.transaction() as tx:
            users.delete_user(tx, operator, first.id)
        assert reached(db, "moved@x.test") is None

    def test_a_confirmed_change_of_address_is_refused_once_someone_holds_it(self, db, make_user):
        mover = make_user(None, "mover", password=PASSWORD, email_verified=True)
        make_user(None, "holder", emails=address("held@x.test"))
        with db.transaction() as tx, pytest.raises(Conflict, match="already signs in"):
            self_service.request_email_change(tx, mover.id, "HELD@x.test", PASSWORD)


class TestUsernamesChosenAtPages:
    """A username people choose that is an address is their own address; directories (an
    identity provider's userPrincipalName, the operator) name users as they do."""

    def test_the_console_and_registration_keep_an_address_username_to_its_owner(
        self, db, enterprise
    ):
        with db.transaction() as tx, pytest.raises(InvalidInput, match="own email address"):
            new_users.create_user(
                tx,
                enterprise.actor,
                account_id=enterprise.account.id,
                user_name="someone@x.test",
                emails=address("new.person@x.test"),
            )
        with db.transaction() as tx, pytest.raises(InvalidInput, match="own email address"):
            registration.register(
                tx,
                choice="guest",
                email="me@y.test",
                given_name="G",
                family_name="H",
                user_name="future.hire@x.test",
                password=PASSWORD,
            )
        with db.transaction() as tx:
            own = new_users.create_user(
                tx,
                enterprise.actor,
                account_id=enterprise.account.id,
                user_name="New.Person@x.test",
                emails=address("new.person@X.test"),
            )
        assert reached(db, "new.person@x.test") == own.user_name

    def test_an_identity_provider_may_name_users_by_their_principal_name(self, db, enterprise):
        with db.transaction() as tx:
            upn = new_users.create_user(
                tx,
                enterprise.okta,
                account_id=enterprise.account.id,
                user_name="ada@corp.test",
                emails=address("ada.lovelace@corp.test"),
            )
        assert (
            reached(db, "ada@corp.test") == reached(db, "ada.lovelace@corp.test") == upn.user_name
        )

    @pytest.mark.parametrize("hidden", ["\u200b", "\u200d", "\u202e", "\ufeff", "\u2060"])
    def test_a_username_with_invisible_characters_is_refused_to_every_writer(
        self, db, enterprise, make_user, hidden
    ):
        """ "a\u200bb" would look like "ab" at sign-in and in every list."""
        make_user(enterprise.account, "ab.name")
        name = f"a{hidden}b.name"
        row = AccountRow(enterprise.account.id, enterprise.account.kind)
        with pytest.raises(InvalidInput, match="invisible") as refused:
            new_users.create_user_at_once(db, enterprise.okta, row, user_name=name)
        assert refused.value.field == "user_name"
        with db.transaction() as tx, pytest.raises(InvalidInput, match="invisible"):
            new_users.create_user(
                tx, enterprise.actor, account_id=enterprise.account.id, user_name=name
            )
        with db.transaction() as tx, pytest.raises(InvalidInput, match="invisible"):
            registration.register(
                tx,
                choice="guest",
                email="invisible@y.test",
                given_name="G",
                family_name="H",
                user_name=name,
                password=PASSWORD,
            )
        other = make_user(enterprise.account, "plain.name")
        with db.transaction() as tx, pytest.raises(InvalidInput, match="invisible"):
            users.update_user(tx, enterprise.okta, other.id, {"user_name": name})


class TestUnconfirmedRegistrationsGiveWay:
    """A self-registration never verified nor signed in holds nothing its registrant has shown
    to be theirs: an account's writer who needs its userName or address withdraws it, or anyone
    could block a person's account (or an identity provider's push) by registering first."""

    def squat(self, db: Database, address: str, user_name: str | None = None) -> User:
        with db.transaction() as tx:
            return registration.register(
                tx,
                choice="guest",
                email=address,
                given_name="Not",
                family_name="Them",
                user_name=user_name or address,
                password=PASSWORD,
            )

    def gone(self, db: Database, user: User) -> bool:
        with db.transaction(write=False) as tx:
            return tx.get(User, user.id) is None

    def test_a_main_contact_and_an_identity_provider_take_the_address_back(self, db, enterprise):
        first = self.squat(db, "ada@corp.test")
        with db.transaction() as tx:
            ada = new_users.create_user(
                tx,
                enterprise.actor,
                account_id=enterprise.account.id,
                user_name="ada",
                emails=address("ada@corp.test"),
            )
        assert self.gone(db, first) and reached(db, "ada@corp.test") == ada.user_name
        second = self.squat(db, "bob@corp.test")
        row = AccountRow(enterprise.account.id, enterprise.account.kind)
        bob = new_users.create_user_at_once(
            db, enterprise.okta, row, user_name="bob@corp.test", emails=address("bob@corp.test")
        )
        assert self.gone(db, second) and reached(db, "bob@corp.test") == bob.user_name
        third = self.squat(db, "cy@corp.test", user_name="cy.squatter")
        with db.transaction() as tx:
            users.update_user(tx, enterprise.okta, bob.id, {"emails": address("cy@corp.test")})
        assert self.gone(db, third) and reached(db, "cy@corp.test") == bob.user_name
        with db.transaction(write=False) as tx:
            withdrawn = tx.scalars(
                select(AuditEvent.target_id).where(
                    AuditEvent.action == "user.registration_withdrawn"
                )
            ).all()
        assert sorted(withdrawn) == sorted(str(u.id) for u in (first, second, third))

    def test_a_confirmed_registration_and_another_registration_do_not_displace(
        self, db, enterprise
    ):
        confirmed = self.squat(db, "dee@corp.test")
        with db.transaction() as tx:
            tx.get(User, confirmed.id).email_verified = True
        with db.transaction() as tx, pytest.raises(Conflict):
            new_users.create_user(
                tx,
                enterprise.actor,
                account_id=enterprise.account.id,
                user_name="dee",
                emails=address("dee@corp.test"),
            )
        pending = self.squat(db, "eve@corp.test")
        assert self.squat(db, "eve@corp.test", user_name="eve.two") is None  # told, not made
        assert not self.gone(db, pending) and not self.gone(db, confirmed)


class TestMailReachesTheHolder:
    def test_recovery_mails_the_one_user_a_login_reaches_at_their_own_address(
        self, db, enterprise, make_user
    ):
        make_user(
            enterprise.account,
            "upn@corp.test",
            emails=address("mailbox@corp.test"),
            password=PASSWORD,
            email_verified=True,
        )
        with db.transaction() as tx:
            recovery.send_password_reset(tx, "UPN@corp.test")
            recovery.send_username(tx, "mailbox@corp.test")
            sent = [
                (m.payload["template"], m.payload["to"])
                for m in tx.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            ]
        assert sent == [
            ("reset_password", "mailbox@corp.test"),
            ("forgot_username", "mailbox@corp.test"),
        ]

    def test_an_unverified_address_of_a_user_with_a_password_gets_its_confirmation_first(
        self, db, make_user
    ):
        make_user(None, "not.yet", emails=address("not.yet@x.test"), password=PASSWORD)
        with db.transaction() as tx:
            recovery.send_password_reset(tx, "not.yet@x.test")
            recovery.send_username(tx, "not.yet")
            queued = tx.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            sent = [m.payload["template"] for m in queued]
        assert sent == ["verify_email", "verify_email"]


def test_migration_0010_gives_each_shared_name_to_one_user_and_keeps_every_row(unmigrated):
    """Before 0010 two users could share an address, and a username could be someone else's
    address: the owner of a verified address wins, then the username, then the oldest."""
    database = unmigrated
    migrate.upgrade(database, "0007")
    names = ("chyrece", "squatter", "a.first", "b.second", "unverified", "upn")
    ids = {name: uuid.uuid4() for name in names}
    rows = [  # userName, primary address, verified
        ("chyrece", "chyrece@x.test", True),
        ("CHYRECE@X.TEST", "squatter@y.test", True),  # took chyrece's address
        ("a.first", "shared@x.test", True),  # two accounts' users, one address
        ("b.second", "shared@x.test", True),
        ("unverified", "upn@corp.test", False),
        ("upn@corp.test", "mail@corp.test", True),  # a userPrincipalName
    ]
    with database.engine.begin() as conn:
        for n, (name, (user_name, mail, verified)) in enumerate(zip(names, rows, strict=True)):
            conn.execute(
                insert(User.__table__).values(
                    id=ids[name],
                    user_name=user_name,
                    user_name_ci=user_name.casefold(),
                    primary_email_ci=mail,
                    given_name_ci="",
                    family_name_ci="",
                    addresses=[],
                    other_attributes={},
                    active=True,
                    is_support=False,
                    no_longer_at_account=False,
                    preferred_contact_method="email",
                    email_verified=verified,
                    failed_logins=0,
                    version=1,
                    created_at=now().replace(year=2020 + n),
                    modified_at=now(),
                )
            )
            conn.execute(
                insert(UserEmail.__table__).values(
                    user_id=ids[name], position=0, value=mail, value_ci=mail, primary=True
                )
            )
    migrate.upgrade(database)
    with database.engine.connect() as conn:
        held = dict(conn.execute(select(SignInName.name_ci, SignInName.user_id)).all())
        withheld = conn.execute(
            select(AuditEvent.target_id, AuditEvent.changes).where(
                AuditEvent.action == "user.sign_in_name_withheld"
            )
        ).all()
        kept = conn.execute(select(UserEmail.value_ci)).scalars().all()
    by = {user_id: name for name, user_id in ids.items()}
    assert {name: by[user_id] for name, user_id in held.items()} == {
        "chyrece": "chyrece",
        "chyrece@x.test": "chyrece",
        "squatter@y.test": "squatter",
        "a.first": "a.first",
        "shared@x.test": "a.first",
        "b.second": "b.second",
        "unverified": "unverified",
        "upn@corp.test": "upn",
        "mail@corp.test": "upn",
    }
    assert sorted((by[uuid.UUID(t)], c["name"]) for t, c in withheld) == [
        ("b.second", "shared@x.test"),
        ("squatter", "chyrece@x.test"),
        ("unverified", "upn@corp.test"),
    ]
    assert len(kept) == len(rows)  # every address is still there


class TestDomainsAssignedToAnAccount:
    """Addresses at a domain support assigned to an account are its people's: another
    account's identity provider and main contacts cannot give them to their users first."""

    @pytest.fixture
    def b(self, make_account, assign_domain):
        account = make_account(kind="enterprise")
        assign_domain(account, "b.example")
        return account

    def test_a_main_contact_of_another_account_is_refused_support_is_not(
        self, db, enterprise, b, support
    ):
        new = {"user_name": "ceo", "emails": address("CEO@b.example")}
        with db.transaction() as tx, pytest.raises(Forbidden, match="assigned to another"):
            new_users.create_user(tx, enterprise.actor, account_id=enterprise.account.id, **new)
        with db.transaction() as tx:
            new_users.create_user(tx, support, account_id=enterprise.account.id, **new)
        assert reached(db, "ceo@b.example") == "ceo"

    def test_people_of_another_account_move_to_it_neither_by_link_nor_by_scim(
        self, db, enterprise, make_user, b
    ):
        """A person's own change is bound too: by their profile's link (refused before the link
        is mailed) or by /Me (a main contact's PATCH, which takes effect at once)."""
        mover = make_user(enterprise.account, "mover", password=PASSWORD, email_verified=True)
        with db.transaction() as tx, pytest.raises(Forbidden, match="assigned to another"):
            self_service.request_email_change(tx, mover.id, "mover@b.example", PASSWORD)
        own = Actor.for_user(enterprise.main, Door.SCIM)  # /Me changes no address of theirs
        with db.transaction() as tx, pytest.raises(Forbidden, match="profile page"):
            users.update_user(tx, own, enterprise.main.id, {"emails": address("me@b.example")})
        other = make_user(enterprise.account, "other")  # as a main contact, of another person
        with db.transaction() as tx, pytest.raises(Forbidden, match="assigned to another"):
            both = {"user_name": "me@b.example", "emails": address("me@b.example")}
            users.update_user(tx, own, other.id, both)
        assert reached(db, "mover@b.example") is None and reached(db, "me@b.example") is None

    def test_an_address_at_the_domain_in_ideographic_full_stops_is_refused(self, db, enterprise):
        """IDNA reads U+3002 as "." (ceo@b。example is ceo@b.example to mail servers and to
        applications), but case folding keeps it: written so, the address would pass beside
        the real one."""
        for written in ("cfo@b\u3002example", "cfo@b\uff61example"):
            for fields in ({"emails": address(written)}, {"user_name": written}):
                fields = {"user_name": "cfo"} | fields
                with db.transaction() as tx, pytest.raises(InvalidInput, match="ASCII full"):
                    new_users.create_user(
                        tx, enterprise.okta, account_id=enterprise.account.id, **fields
                    )


def test_a_domain_covers_its_subdomains_and_its_unicode_spelling(
    db, enterprise, make_account, assign_domain
) -> None:
    owner = make_account(kind="enterprise")
    assign_domain(owner, "xn--bcher-kva.example")
    for written in ("ceo@mail.xn--bcher-kva.example", "ceo@Bücher.example", "x@a.bücher.example"):
        fields = {"user_name": "ceo", "emails": address(written)}
        with db.transaction() as tx, pytest.raises(Forbidden, match="assigned to another"):
            new_users.create_user(tx, enterprise.okta, account_id=enterprise.account.id, **fields)
    with db.transaction() as tx:  # a domain that merely ends the same way is not under it
        fields = {"user_name": "ceo", "emails": address("ceo@notbücher.example")}
        new_users.create_user(tx, enterprise.okta, account_id=enterprise.account.id, **fields)
