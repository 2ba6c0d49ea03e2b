"""Each rule of SPEC §1 that several doors apply, asked of its one home in `store`."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from rollcall.mail import render
from store import (
    audit,
    credentials,
    listing,
    new_users,
    outbox,
    rules,
    self_service,
    user_fields,
    user_mail,
    user_search,
    users,
)
from store.actors import Actor, ActorType, Door
from store.errors import Forbidden, InvalidInput
from store.models.directory import User, UserEmail, primary_value
from store.profiles import Profile


class TestWhoAddsOfficeUsers:
    """SPEC §1 Accounts: the users of an office account come from the Office product."""

    def test_only_the_office_product_and_the_operator_add_them(
        self, db: Any, make_account: Any, make_user: Any, operator: Actor, support: Actor
    ) -> None:
        office = make_account(kind="office")
        main = make_user(office, "office.main", profile="main")
        product = Actor(ActorType.CREDENTIAL, "token office", Door.SCIM, "c1", office.id, True)
        assert rules.new_users_refused(product, office.kind) is None
        assert rules.new_users_refused(operator, office.kind) is None
        for person in (Actor.for_user(main, Door.PORTAL), support):
            refusal = rules.new_users_refused(person, office.kind) or ""
            assert "created in NextGen Office" in refusal
            with db.transaction() as tx, pytest.raises(Forbidden, match="NextGen Office"):
                new_users.create_user(tx, person, account_id=office.id, user_name="off.new")

    def test_a_token_minted_in_the_console_is_not_the_office_product(
        self, db: Any, make_account: Any, make_user: Any, operator: Actor
    ) -> None:
        """Issue #19: a console-minted token does no more than the console."""
        office = make_account(kind="office")
        main = make_user(office, "office.main", profile="main")
        with db.transaction() as tx:
            from_office = new_users.create_user(tx, operator, account_id=office.id, user_name="o")
            minted, _ = credentials.create_credential(
                tx, Actor.for_user(main, Door.PORTAL), account_id=office.id, name="mine"
            )
        assert minted.minted_by_user_id == main.id
        console_token = Actor(
            ActorType.CREDENTIAL, "token mine", Door.SCIM, "c2", office.id, True, True
        )
        product = Actor(ActorType.CREDENTIAL, "token office", Door.SCIM, "c1", office.id, True)
        assert not rules.speaks_for_office(console_token) and rules.speaks_for_office(product)
        assert "created in NextGen Office" in (
            rules.new_users_refused(console_token, "office") or ""
        )
        assert rules.owned_elsewhere(console_token, from_office)
        assert not rules.owned_elsewhere(product, from_office)
        rules.check_ownership(console_token, from_office, ["profile"])
        for field in ("emails", "password", "active"):
            with pytest.raises(Forbidden, match="managed by NextGen Office"):
                rules.check_ownership(console_token, from_office, [field])

    def test_other_accounts_take_users_from_their_managers(
        self, make_account: Any, support: Actor, enterprise: Any
    ) -> None:
        assert rules.new_users_refused(enterprise.actor, enterprise.account.kind) is None
        assert rules.new_users_refused(support, "reseller") is None


class TestOwnerNames:
    """SPEC §1 Externally managed users: read-only fields say where to change them."""

    def test_every_door_names_the_owner_of_a_managed_user_alike(
        self, db: Any, make_account: Any, operator: Actor, enterprise: Any
    ) -> None:
        office = make_account(kind="office")
        with db.transaction() as tx:
            own = new_users.create_user(
                tx, operator, account_id=enterprise.account.id, user_name="own"
            )
            pushed = new_users.create_user(
                tx, enterprise.okta, account_id=enterprise.account.id, user_name="pushed"
            )
            from_office = new_users.create_user(tx, operator, account_id=office.id, user_name="o")
        assert rules.owner_name(own) is None
        assert rules.owner_name(pushed) == "your organization's identity provider"
        assert rules.owner_name(from_office) == "NextGen Office"
        with db.transaction() as tx, pytest.raises(Forbidden) as refused:
            users.update_user(tx, enterprise.actor, pushed.id, {"given_name": "Changed"})
        assert "managed by your organization's identity provider" in str(refused.value)


class TestProfilesOffered:
    """SPEC §1 Profiles and Main contacts: the account kind's profiles; main only from support."""

    def test_a_main_contact_is_offered_the_kinds_profiles_but_main(self, enterprise: Any) -> None:
        offered = rules.profiles_offered(enterprise.actor, "enterprise")
        assert offered == (Profile.CLIENT, Profile.KNOWLEDGE, Profile.READ_ONLY)
        assert rules.profiles_offered(enterprise.actor, "optimization_only") == (
            Profile.OPTIMIZATION,
        )
        assert not rules.may_change_profile(enterprise.actor, "main")
        assert rules.may_change_profile(enterprise.actor, "client")

    def test_support_is_offered_main_too(self, support: Actor) -> None:
        assert rules.profiles_offered(support, "enterprise") == (
            Profile.MAIN,
            Profile.CLIENT,
            Profile.KNOWLEDGE,
            Profile.READ_ONLY,
        )
        assert rules.may_change_profile(support, "optimization_main")

    def test_the_store_gives_only_what_is_offered(
        self, db: Any, make_user: Any, enterprise: Any
    ) -> None:
        user = make_user(enterprise.account, "member")
        for wanted, refusal in (("main", Forbidden), ("optimization", InvalidInput)):
            with db.transaction() as tx, pytest.raises(refusal):
                users.set_profile(tx, enterprise.actor, user.id, wanted)
        with db.transaction() as tx:
            users.set_profile(tx, enterprise.actor, user.id, "knowledge")
        with db.transaction() as tx, pytest.raises(Forbidden):
            users.set_profile(tx, enterprise.actor, enterprise.main.id, "client")


class TestWhoVouchesForAnAddress:
    """A provisioning client's users arrive verified; a person's confirm by a mailed link."""

    def test_provisioning_clients_vouch_and_people_do_not(
        self, db: Any, enterprise: Any, support: Actor
    ) -> None:
        tooling = Actor(ActorType.SUPPORT, "token support", Door.SCIM, "c2")
        assert new_users.vouches_for_email(enterprise.okta)
        assert new_users.vouches_for_email(tooling)
        assert not new_users.vouches_for_email(enterprise.actor)
        assert not new_users.vouches_for_email(support)
        with db.transaction() as tx:
            pushed = new_users.create_user(
                tx, enterprise.okta, account_id=enterprise.account.id, user_name="pushed"
            )
            added = new_users.create_user(
                tx, enterprise.actor, account_id=enterprise.account.id, user_name="added"
            )
        assert pushed.email_verified and not added.email_verified

    def test_the_at_once_path_follows_the_same_policy(self, enterprise: Any) -> None:
        for actor, verified in ((enterprise.okta, True), (enterprise.actor, False)):
            new = new_users.new_user(
                None, actor, enterprise.account, user_name="n", email_verified=None
            )
            assert new.values["email_verified"] is verified


class TestActiveUser:
    """SPEC §1 Users: deactivation takes away sign-in and every session and token at once."""

    def test_only_an_active_user_is_found(
        self, db: Any, make_user: Any, operator: Actor, enterprise: Any
    ) -> None:
        user = make_user(enterprise.account, "leaving")
        with db.transaction(write=False) as tx:
            found = users.active_user(tx, user.id, details=True)
            assert found is not None and found.id == user.id
            assert found.primary_email == "leaving@example.test"
            assert found.account.id == enterprise.account.id
        with db.transaction() as tx:
            users.deactivate(tx, operator, user.id)
        with db.transaction(write=False) as tx:
            assert users.active_user(tx, user.id) is None
            assert users.active_user(tx, user.id, details=True) is None
        with db.transaction() as tx:
            users.delete_user(tx, operator, user.id)
        with db.transaction(write=False) as tx:
            assert users.active_user(tx, user.id) is None


PASSWORD = "quiet harbor lantern 42"


class TestEmailChangeRequests:
    """SPEC §2: an email change mails a confirmation to the new address, a notice to the old."""

    def test_the_console_and_the_person_ask_alike(
        self, db: Any, make_user: Any, enterprise: Any
    ) -> None:
        for who in ("console", "self"):
            user = make_user(enterprise.account, who, password=PASSWORD)
            with db.transaction() as tx:
                if who == "console":
                    asked = user_mail.request_email_change(
                        tx, enterprise.actor, user.id, " New@example.test "
                    )
                else:
                    asked = self_service.request_email_change(
                        tx, user.id, " New@example.test ", PASSWORD
                    )
                mine = [m for m in outbox.pending(tx) if m.payload.get("user_id") == str(user.id)]
                sent = sorted((m.payload["template"], m.payload["to"]) for m in mine)
                (confirm,) = [m for m in mine if m.payload["template"] == "email_change_confirm"]
                (event,) = [
                    e
                    for e in audit.events_for(tx, "user", user.id)
                    if e.action == "user.email_change_requested"
                ]
            assert asked == "New@example.test"
            assert sent == [
                ("email_change_confirm", "New@example.test"),
                ("email_change_notice", f"{who}@example.test"),
            ]
            assert event.changes == {"new_email": "New@example.test"}
            # The confirmation says who asked: the person, or their main contact for them.
            asker = "You asked" if who == "self" else "Your organization's main contact asked"
            assert asker in render(confirm.payload, base_url="https://id.example.com").text

    def test_the_current_address_is_no_change(
        self, db: Any, make_user: Any, enterprise: Any
    ) -> None:
        user = make_user(enterprise.account, "stays", password=PASSWORD)
        with db.transaction() as tx:
            assert (
                user_mail.request_email_change(tx, enterprise.actor, user.id, "STAYS@example.test")
                is None
            )
            assert outbox.pending(tx) == []
        with db.transaction() as tx, pytest.raises(InvalidInput, match="already your"):
            self_service.request_email_change(tx, user.id, "stays@example.test", PASSWORD)

    def test_a_managed_users_address_is_changed_at_its_source(
        self, db: Any, enterprise: Any
    ) -> None:
        with db.transaction() as tx:
            pushed = new_users.create_user(
                tx,
                enterprise.okta,
                account_id=enterprise.account.id,
                user_name="pushed",
                emails=[{"value": "pushed@example.test", "primary": True}],
            )
        with db.transaction() as tx, pytest.raises(Forbidden, match="identity provider"):
            user_mail.request_email_change(tx, enterprise.actor, pushed.id, "x@example.test")


class TestListableUsers:
    """SPEC §3: a credential sees only its account's users; support sees every account's, and
    support staff are listed to no one."""

    def test_every_listing_shows_the_same_users(
        self, db: Any, make_account: Any, make_user: Any, operator: Actor, support: Actor
    ) -> None:
        mine, theirs = make_account(), make_account()
        make_user(mine, "mine.user")
        make_user(theirs, "their.user")
        with db.transaction() as tx:
            new_users.create_support_user(
                tx, operator, user_name="staff.user", email="staff@example.test"
            )
            _, account_token = credentials.create_credential(
                tx, operator, account_id=mine.id, name="okta"
            )
            _, support_token = credentials.create_credential(
                tx, operator, account_id=None, name="tooling"
            )
        idp = Actor(ActorType.CREDENTIAL, "token okta", Door.SCIM, "c1", mine.id, True)
        expected = {
            (idp, account_token): {"mine.user"},
            (support, support_token): {"mine.user", "their.user"},
        }
        names = ("mine.user", "their.user", "staff.user")
        with db.transaction(write=False) as tx:
            for (actor, token), listed in expected.items():
                page = listing.users(tx, actor, order=(User.user_name_ci,))
                assert {v.user.user_name for v in page.items} == listed
                by_name = {n for n in names if listing.user_view_by_name(tx, actor, n)}
                assert by_name == listed
                for_token = set()
                for name in names:
                    found = listing.user_view_by_name_for_token(tx, token, name)
                    assert found is not None  # the token is live
                    if found[1] is not None:
                        for_token.add(found[1].user.user_name)
                assert for_token == listed
            searched = {u.user_name for n in names for u in user_search.find_users(tx, support, n)}
            assert searched == expected[support, support_token]


class TestPrimaryEmail:
    """SPEC §1 Users: emails, one primary. The primary one stands for the user, else the first."""

    EMAILS = (
        [{"value": "First@example.test"}, {"value": "Chosen@example.test", "primary": True}],
        [{"value": "First@example.test"}, {"value": "second@example.test"}],
    )

    @pytest.mark.parametrize("emails", EMAILS)
    def test_python_sql_and_the_stored_key_agree(
        self, db: Any, make_user: Any, enterprise: Any, emails: list[dict[str, Any]]
    ) -> None:
        expected = next((e["value"] for e in emails if e.get("primary")), emails[0]["value"])
        user = make_user(enterprise.account, "mail.user", emails=emails)
        with db.transaction(write=False) as tx:
            stored = users.get_user(tx, enterprise.actor, user.id, related=True)
            in_sql = tx.scalar(select(primary_value(UserEmail, User.id)).where(User.id == user.id))
            assert (stored.primary_email, in_sql) == (expected, expected)
            assert stored.primary_email_ci == expected.casefold()
        new = new_users.new_user(
            None,
            enterprise.okta,
            enterprise.account,
            user_name="n",
            email_verified=None,
            emails=emails,
        )
        columns, _, _ = user_fields.new_columns(new.values, new.clean)
        assert columns["primary_email_ci"] == expected.casefold()

    def test_the_key_follows_an_email_change(
        self, db: Any, make_user: Any, enterprise: Any
    ) -> None:
        user = make_user(enterprise.account, "mover", emails=self.EMAILS[1])
        with db.transaction() as tx:
            users.update_user(
                tx,
                enterprise.actor,
                user.id,
                {
                    "emails": [
                        {"value": "first@example.test"},
                        {"value": "Now@example.test", "primary": True},
                    ]
                },
            )
        with db.transaction(write=False) as tx:
            assert tx.get(User, user.id).primary_email_ci == "now@example.test"
