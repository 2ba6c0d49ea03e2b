"""User operations and the rules of SPEC §1, through the store's functions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from store import audit, links, new_users, outbox, passwords, recovery, user_mail, users
from store.actors import Actor, ActorType, Door
from store.db import now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound, PreconditionFailed
from store.models.directory import User
from store.models.logs import AuditEvent, OutboxMessage
from store.models.sign_in import OAuthToken, SsoSession


def reload(db, user_id):
    with db.transaction(write=False) as tx:
        user = tx.get(User, user_id)
        assert user is not None
        _ = (user.emails, user.groups, user.applications, user.phone_numbers)
        return user


def count(db, model, *where):
    with db.transaction(write=False) as tx:
        return tx.scalar(select(func.count()).select_from(model).where(*where))


class TestCreate:
    def test_default_profile_follows_account_kind(self, make_account, make_user):
        assert make_user(make_account(kind="enterprise")).profile == "client"
        assert make_user(make_account(kind="office")).profile == "client"
        assert make_user(make_account(kind="optimization_only")).profile == "optimization"
        assert make_user(None).profile == "guest"

    @pytest.mark.parametrize(
        ("kind", "profile"),
        [("optimization_only", "client"), ("enterprise", "optimization"), ("reseller", "guest")],
    )
    def test_profile_not_allowed_by_kind_is_refused(
        self, db, make_account, make_user, kind, profile
    ):
        account = make_account(kind=kind)
        with pytest.raises(InvalidInput, match="not available"):
            make_user(account, "refused", profile=profile)
        assert count(db, User, User.account_id == account.id) == 0

    def test_main_profile_is_granted_only_by_support(self, db, enterprise, support):
        credential = enterprise.okta
        for actor in (enterprise.actor, credential):
            with db.transaction() as tx, pytest.raises(Forbidden, match="support"):
                new_users.create_user(
                    tx, actor, account_id=enterprise.account.id, user_name="wannabe", profile="main"
                )
        with db.transaction() as tx:
            user = new_users.create_user(
                tx, support, account_id=enterprise.account.id, user_name="wannabe", profile="main"
            )
        assert user.profile == "main"

    def test_user_name_is_unique_ignoring_case(self, enterprise, make_user, make_account):
        make_user(enterprise.account, "Jane.Doe")
        with pytest.raises(Conflict, match="already taken"):
            make_user(make_account(), "jane.DOE")
        make_user(enterprise.account, "Straße")
        with pytest.raises(Conflict):
            make_user(enterprise.account, "STRASSE")

    def test_bad_values_are_refused_and_nothing_is_written(self, db, enterprise, make_user):
        before = count(db, User)
        bad = [
            {"user_name": "  "},
            {"emails": [{"value": "not-an-email"}]},
            {
                "emails": [
                    {"value": "a@x.test", "primary": True},
                    {"value": "b@x.test", "primary": True},
                ]
            },
            {"preferred_contact_method": "pigeon"},
            {"given_name": "x" * 300},
            {"given_name": "bad\x00name"},
            {"password": "short"},
            {"favourite_colour": "blue"},
            {"applications": ["no_such_app"]},
            {"active": "maybe"},
        ]
        for fields in bad:
            fields.setdefault("user_name", "someone")
            with pytest.raises(InvalidInput):
                make_user(enterprise.account, **fields)
        assert count(db, User) == before

    def test_password_is_stored_as_argon2id(self, enterprise, make_user):
        user = make_user(enterprise.account, "pw.user", password="a long enough secret")
        assert user.password_hash.startswith("$argon2id$")
        assert passwords.verify_password(user.password_hash, "a long enough secret")
        assert not passwords.verify_password(user.password_hash, "a long enough secreT")
        with pytest.raises(InvalidInput, match="username"):
            make_user(enterprise.account, "longusername", password="xxlongusernamexx")

    def test_creation_is_audited_with_actor_and_door(self, db, enterprise):
        with db.transaction() as tx:
            user = new_users.create_user(
                tx,
                enterprise.actor,
                account_id=enterprise.account.id,
                user_name="audited",
                given_name="Au",
                password="quiet harbor lantern 42",
            )
        with db.transaction(write=False) as tx:
            (event,) = audit.events_for(tx, "user", user.id)
        assert (event.action, event.actor_label, event.door) == (
            "user.created",
            "main.contact",
            "portal",
        )
        assert event.changes["given_name"] == "Au"
        assert "password" not in event.changes
        assert event.account_id == enterprise.account.id

    def test_office_users_are_created_in_office_only(self, db, make_account, operator):
        office = make_account(kind="office")
        with db.transaction() as tx:
            main = new_users.create_user(
                tx, operator, account_id=office.id, user_name="off.main", profile="main"
            )
        assert main.managed_by == "office"
        with db.transaction() as tx, pytest.raises(Forbidden, match="NextGen Office"):
            new_users.create_user(
                tx, Actor.for_user(main, Door.PORTAL), account_id=office.id, user_name="off.new"
            )


# The text a person or an identity provider gives, each checked against its column's length here:
# PostgreSQL no longer declares users' lengths (migration 0018) and SQLite never checked them.
GIVEN_TEXT = [
    column
    for column in User.__table__.columns
    if getattr(column.type, "length", None)
    and not column.key.endswith("_ci")
    and column.key not in {"password_hash", "managed_by", "profile", "preferred_contact_method"}
]


@pytest.mark.parametrize("column", GIVEN_TEXT, ids=lambda column: column.key)
def test_text_past_its_length_is_refused_on_create_and_update(db, enterprise, make_user, column):
    too_long = "x" * (column.type.length + 1)
    user = make_user(enterprise.account, "kept.short")
    before = count(db, User)
    fields = {column.key: too_long}
    with pytest.raises(InvalidInput, match=f"longer than {column.type.length}"):
        make_user(enterprise.account, fields.pop("user_name", "too.long"), **fields)
    with db.transaction() as tx, pytest.raises(InvalidInput, match="longer than"):
        users.update_user(tx, enterprise.actor, user.id, {column.key: too_long})
    assert count(db, User) == before
    assert getattr(reload(db, user.id), column.key) != too_long


class TestTenancy:
    def test_other_accounts_users_do_not_exist_for_a_main_contact(
        self, db, enterprise, make_account, make_user
    ):
        other = make_user(make_account(), "other.user")
        for operation in (
            lambda tx: users.get_user(tx, enterprise.actor, other.id),
            lambda tx: users.update_user(tx, enterprise.actor, other.id, {"title": "x"}),
            lambda tx: users.deactivate(tx, enterprise.actor, other.id),
            lambda tx: users.delete_user(tx, enterprise.actor, other.id),
            lambda tx: new_users.create_user(
                tx, enterprise.actor, account_id=other.account_id, user_name="sneaky"
            ),
        ):
            with db.transaction() as tx, pytest.raises(NotFound):
                operation(tx)
        assert reload(db, other.id).title is None

    def test_parent_main_contact_cannot_manage_child_users(
        self, db, make_account, make_user, support
    ):
        parent = make_account(kind="reseller")
        child = make_account(kind="enterprise", parent=parent.name)
        parent_main = make_user(parent, "parent.main", profile="main")
        child_user = make_user(child, "child.user")
        with db.transaction() as tx, pytest.raises(NotFound):
            users.update_user(
                tx, Actor.for_user(parent_main, Door.PORTAL), child_user.id, {"title": "Dr"}
            )
        with db.transaction() as tx:
            users.update_user(tx, support, child_user.id, {"title": "Dr"})
        assert reload(db, child_user.id).title == "Dr"

    def test_a_user_without_main_profile_cannot_manage(self, db, enterprise, make_user):
        plain = make_user(enterprise.account, "plain", profile="client")
        colleague = make_user(enterprise.account, "colleague")
        with db.transaction() as tx, pytest.raises(Forbidden, match="main contacts"):
            users.update_user(tx, Actor.for_user(plain, Door.PORTAL), colleague.id, {"title": "x"})

    def test_a_person_edits_own_basic_information_only(self, db, enterprise, make_user):
        plain = make_user(enterprise.account, "self.editor", profile="client")
        me = Actor.for_user(plain, Door.PORTAL)
        with db.transaction() as tx:
            users.update_user(
                tx, me, plain.id, {"given_name": "Selma", "preferred_contact_method": "phone"}
            )
        with db.transaction() as tx, pytest.raises(Forbidden, match="On your own record"):
            users.update_user(tx, me, plain.id, {"profile": "knowledge"})
        assert reload(db, plain.id).given_name == "Selma"
        assert reload(db, plain.id).profile == "client"

    def test_a_persons_token_changes_no_password_address_or_username_of_theirs(
        self, db, enterprise, make_user
    ):
        """An application holding a person's token (SCIM /Me) would otherwise take the account
        over: no current password asked, sessions left alive (SPEC §2 Password change). Their
        profile page proves it is them; a main contact's own record is no exception."""
        plain = make_user(enterprise.account, "self.editor", profile="client")
        for person in (plain, enterprise.main):
            me = Actor.for_user(person, Door.SCIM)
            for change in (
                {"password": "a new long pass phrase"},
                {"emails": [{"value": "elsewhere@example.test", "primary": True}]},
                {"user_name": "renamed.self"},
            ):
                with db.transaction() as tx, pytest.raises(Forbidden, match="profile page"):
                    users.update_user(tx, me, person.id, change)
        assert reload(db, plain.id).user_name == "self.editor"

    def test_a_main_contact_edits_their_own_record_like_any_other(self, db, enterprise):
        with db.transaction() as tx:
            users.update_user(tx, enterprise.actor, enterprise.main.id, {"title": "Director"})
        assert reload(db, enterprise.main.id).title == "Director"


class TestUpdate:
    def test_update_bumps_version_and_if_match_guards(self, db, enterprise, make_user):
        user = make_user(enterprise.account, "versioned")
        with db.transaction() as tx:
            updated = users.update_user(
                tx, enterprise.actor, user.id, {"title": "Nurse"}, if_match=user.version
            )
        assert updated.version == user.version + 1
        with db.transaction() as tx, pytest.raises(PreconditionFailed):
            users.update_user(
                tx, enterprise.actor, user.id, {"title": "Doctor"}, if_match=user.version
            )
        assert reload(db, user.id).title == "Nurse"

    def test_unchanged_values_change_nothing(self, db, enterprise, make_user):
        user = make_user(enterprise.account, "steady", title="Nurse")
        with db.transaction() as tx:
            same = users.update_user(tx, enterprise.actor, user.id, {"title": "Nurse"})
        assert same.version == user.version
        with db.transaction(write=False) as tx:
            assert [e.action for e in audit.events_for(tx, "user", user.id)] == ["user.created"]

    def test_replace_clears_what_is_not_given_and_keeps_community_state(
        self, db, enterprise, make_user, operator
    ):
        user = make_user(
            enterprise.account,
            "replaced",
            title="Nurse",
            given_name="Rae",
            profile="knowledge",
            phone_numbers=[{"value": "+1 555 0100"}],
        )
        with db.transaction() as tx:
            users.replace_user(
                tx, operator, user.id, {"user_name": "replaced", "family_name": "Place"}
            )
        after = reload(db, user.id)
        assert (after.title, after.given_name, after.family_name) == (None, None, "Place")
        assert after.emails == [] and after.phone_numbers == []
        assert (after.profile, after.active) == ("knowledge", True)

    def test_strings_true_false_are_accepted_for_booleans(self, db, enterprise, make_user):
        user = make_user(enterprise.account, "stringy")
        with db.transaction() as tx:
            users.update_user(tx, enterprise.actor, user.id, {"no_longer_at_account": "True"})
        assert reload(db, user.id).no_longer_at_account is True

    def test_update_is_audited_with_before_and_after(self, db, enterprise, make_user):
        user = make_user(enterprise.account, "changes", title="Nurse")
        with db.transaction() as tx:
            users.update_user(
                tx,
                enterprise.actor,
                user.id,
                {"title": "Doctor", "password": "correct horse battery"},
            )
        with db.transaction(write=False) as tx:
            event = audit.events_for(tx, "user", user.id)[-1]
        assert event.action == "user.updated"
        assert event.changes["title"] == ["Nurse", "Doctor"]
        assert event.changes["password"] == ["(hidden)", "(changed)"]

    def test_an_invalid_change_among_valid_ones_writes_nothing(self, db, enterprise, make_user):
        user = make_user(enterprise.account, "atomic", title="Nurse")
        with db.transaction() as tx, pytest.raises(InvalidInput):
            users.update_user(
                tx, enterprise.actor, user.id, {"title": "Doctor", "emails": [{"value": "nope"}]}
            )
        assert reload(db, user.id).title == "Nurse"


class TestDeactivation:
    def test_deactivation_ends_sessions_and_tokens_and_keeps_the_record(
        self, db, enterprise, make_user
    ):
        user = make_user(enterprise.account, "leaving", contact_roles=["IT Receiver"])
        with db.transaction() as tx:
            tx.add(SsoSession(user_id=user.id))
            tx.add(
                OAuthToken(
                    user_id=user.id,
                    client_id="icd10",
                    kind="refresh",
                    token_hash="h" * 64,
                    expires_at=now(),
                )
            )
        with db.transaction() as tx:
            users.deactivate(tx, enterprise.actor, user.id)
        after = reload(db, user.id)
        assert after.active is False
        assert users.contact_roles_of(after) == ["IT Receiver"]
        assert count(db, SsoSession, SsoSession.ended_at.is_(None)) == 0
        assert count(db, OAuthToken, OAuthToken.revoked_at.is_(None)) == 0
        with db.transaction(write=False) as tx:
            (logout,) = outbox.pending(tx, outbox.BACKCHANNEL_LOGOUT)
            assert logout.payload["user_id"] == str(user.id)
            assert audit.events_for(tx, "user", user.id)[-1].action == "user.deactivated"

    def test_activation_restores_and_sends_a_sign_in_email(self, db, enterprise, make_user):
        """With a set-password link when the user has no password yet, else just sign-in."""
        user = make_user(enterprise.account, "returning")
        with_password = make_user(enterprise.account, "known", password="a long enough phrase")
        for someone in (user, with_password):
            with db.transaction() as tx:
                users.deactivate(tx, enterprise.actor, someone.id)
            with db.transaction() as tx:
                users.activate(tx, enterprise.actor, someone.id)
        assert reload(db, user.id).active is True
        with db.transaction(write=False) as tx:
            first, second = outbox.pending(tx, outbox.EMAIL)
            assert (first.payload["to"], first.payload["template"]) == (
                "returning@example.test",
                "sign_in",
            )
            assert first.payload["reason"] == "activated"
            token = first.payload["link"].removeprefix("/set-password/")
            assert links.peek(tx, links.SET_PASSWORD, token).user_id == user.id
            assert (second.payload["to"], second.payload["template"]) == (
                "known@example.test",
                "sign_in",
            )
            assert "link" not in second.payload
            assert audit.events_for(tx, "user", user.id)[-1].action == "user.activated"

    def test_activated_with_a_new_address_the_sign_in_email_goes_there(
        self, db, enterprise, make_user
    ):
        """The new address gets the sign-in email; its first-password link, followed, does
        not vouch for the old address the user still has until the new one is confirmed."""
        user = make_user(enterprise.account, "moved")
        with db.transaction() as tx:
            users.deactivate(tx, enterprise.actor, user.id)
        with db.transaction() as tx:
            new = user_mail.request_email_change(tx, enterprise.actor, user.id, "moved@new.test")
            users.activate(tx, enterprise.actor, user.id, new_email=new)
        with db.transaction(write=False) as tx:
            sent = {(m.payload["template"], m.payload["to"]) for m in outbox.pending(tx)}
            assert ("sign_in", "moved@new.test") in sent
            assert ("sign_in", "moved@example.test") not in sent
            (notice,) = [m for m in outbox.pending(tx) if m.payload["to"] == "moved@example.test"]
            assert notice.payload["changed_by"] == "your organization's main contact"
            (sign_in,) = [m for m in outbox.pending(tx) if m.payload["template"] == "sign_in"]
            token = sign_in.payload["link"].removeprefix("/set-password/")
        with db.transaction() as tx:
            recovery.set_first_password(tx, token, "a long enough pass phrase")
        assert reload(db, user.id).email_verified is False

    def test_a_new_users_sign_in_email_links_to_a_first_password_unless_one_was_given(
        self, db, enterprise
    ):
        with db.transaction() as tx:
            fresh = new_users.create_user(
                tx,
                enterprise.actor,
                account_id=enterprise.account.id,
                user_name="fresh",
                emails=[{"value": "fresh@example.test", "primary": True}],
                send_sign_in_email=True,
            )
            new_users.create_user(
                tx,
                enterprise.actor,
                account_id=enterprise.account.id,
                user_name="ready",
                emails=[{"value": "ready@example.test", "primary": True}],
                password="a long enough phrase",
                send_sign_in_email=True,
            )
        with db.transaction(write=False) as tx:
            first, second = outbox.pending(tx, outbox.EMAIL)
            token = first.payload["link"].removeprefix("/set-password/")
            assert links.peek(tx, links.SET_PASSWORD, token).user_id == fresh.id
            assert second.payload["to"] == "ready@example.test" and "link" not in second.payload


class TestMainContactInvariant:
    def snapshot(self, db, user_id):
        user = reload(db, user_id)
        return (
            user.active,
            user.profile,
            user.no_longer_at_account,
            user.version,
            count(db, AuditEvent),
            count(db, OutboxMessage),
            count(db, SsoSession, SsoSession.ended_at.is_(None)),
        )

    @pytest.mark.parametrize(
        "change",
        [
            lambda tx, s, u: users.deactivate(tx, s, u),
            lambda tx, s, u: users.delete_user(tx, s, u),
            lambda tx, s, u: users.set_profile(tx, s, u, "client"),
            lambda tx, s, u: users.update_user(tx, s, u, {"no_longer_at_account": True}),
            lambda tx, s, u: users.update_user(tx, s, u, {"active": "False", "title": "x"}),
        ],
        ids=["deactivate", "delete", "demote", "no-longer-at-account", "patch-active"],
    )
    def test_the_last_main_contact_cannot_go_and_nothing_changes(
        self, db, enterprise, support, change
    ):
        with db.transaction() as tx:
            tx.add(SsoSession(user_id=enterprise.main.id))
        before = self.snapshot(db, enterprise.main.id)
        with db.transaction() as tx, pytest.raises(Conflict, match="last active main contact"):
            change(tx, support, enterprise.main.id)
        assert self.snapshot(db, enterprise.main.id) == before

    def test_with_a_second_main_contact_one_may_go(self, db, enterprise, make_user, support):
        second = make_user(enterprise.account, "second.main", profile="main")
        with db.transaction() as tx:
            users.deactivate(tx, support, enterprise.main.id)
        with db.transaction() as tx, pytest.raises(Conflict):
            users.deactivate(tx, support, second.id)
        assert reload(db, second.id).active is True

    def test_an_inactive_or_departed_main_contact_does_not_count(
        self, db, enterprise, make_user, support
    ):
        departed = make_user(enterprise.account, "departed", profile="main")
        with db.transaction() as tx:
            users.update_user(tx, support, departed.id, {"no_longer_at_account": True})
        with db.transaction() as tx, pytest.raises(Conflict):
            users.deactivate(tx, support, enterprise.main.id)

    def test_main_contact_cannot_remove_main_profile_even_from_another(
        self, db, enterprise, make_user
    ):
        other = make_user(enterprise.account, "other.main", profile="main")
        with db.transaction() as tx, pytest.raises(Forbidden, match="support"):
            users.set_profile(tx, enterprise.actor, other.id, "client")
        plain = make_user(enterprise.account, "plain.user", profile="client")
        with db.transaction() as tx, pytest.raises(Forbidden, match="support"):
            users.set_profile(tx, enterprise.actor, plain.id, "main")
        assert reload(db, other.id).profile == "main"
        assert reload(db, plain.id).profile == "client"


class TestExternallyManaged:
    @pytest.fixture
    def pushed(self, db, enterprise):
        credential = enterprise.okta
        with db.transaction() as tx:
            user = new_users.create_user(
                tx,
                credential,
                account_id=enterprise.account.id,
                user_name="pushed",
                given_name="Pat",
            )
        return user

    def test_identity_provider_owns_pushed_users(self, db, enterprise, pushed):
        assert pushed.managed_by == "identity_provider"
        with db.transaction() as tx, pytest.raises(Forbidden, match="identity provider"):
            users.update_user(tx, enterprise.actor, pushed.id, {"given_name": "Other"})
        with db.transaction() as tx, pytest.raises(Forbidden, match="identity provider"):
            users.deactivate(tx, enterprise.actor, pushed.id)
        with db.transaction() as tx, pytest.raises(Forbidden):
            users.delete_user(tx, enterprise.actor, pushed.id)
        assert reload(db, pushed.id).given_name == "Pat"

    def test_the_person_keeps_their_password_but_not_their_name(self, db, pushed):
        me = Actor.for_user(pushed, Door.PORTAL)
        with db.transaction() as tx:  # proved by their current password or a reset link
            users.update_user(tx, me, pushed.id, {"password": "my own long password"}, proven=True)
        with db.transaction() as tx, pytest.raises(Forbidden, match="identity provider"):
            users.update_user(tx, me, pushed.id, {"given_name": "Patricia"})
        assert reload(db, pushed.id).password_hash.startswith("$argon2id$")

    def test_console_may_change_profile_and_contact_roles(self, db, enterprise, pushed):
        with db.transaction() as tx:
            users.set_profile(tx, enterprise.actor, pushed.id, "knowledge")
            users.set_contact_roles(tx, enterprise.actor, pushed.id, ["Super User"])
        after = reload(db, pushed.id)
        assert after.profile == "knowledge"
        assert users.contact_roles_of(after) == ["Super User"]


class TestApplicationsAndRoles:
    @pytest.fixture(autouse=True)
    def apps(self, db, operator):
        from store import applications

        with db.transaction() as tx:
            applications.ensure_application(tx, operator, key="icd10", name="ICD-10")
            applications.ensure_application(tx, operator, key="ng_share", name="NG Share")

    def test_grant_and_revoke_in_an_enterprise_account(self, db, enterprise, make_user):
        user = make_user(enterprise.account, "granted")
        with db.transaction() as tx:
            users.grant_application(tx, enterprise.actor, user.id, "icd10")
            users.grant_application(tx, enterprise.actor, user.id, "ng_share")
            users.revoke_application(tx, enterprise.actor, user.id, "icd10")
        assert [a.key for a in reload(db, user.id).applications] == ["ng_share"]

    @pytest.mark.parametrize("kind", ["office", "optimization_only", "reseller"])
    def test_applications_only_in_enterprise_accounts(
        self, db, make_account, make_user, operator, kind
    ):
        user = make_user(make_account(kind=kind), "no.apps")
        with db.transaction() as tx, pytest.raises(Forbidden, match="enterprise"):
            users.grant_application(tx, operator, user.id, "icd10")

    def test_contact_roles_are_set_exactly(self, db, enterprise, make_user):
        user = make_user(enterprise.account, "roles", contact_roles=["IT Receiver"])
        with db.transaction() as tx:
            users.set_contact_roles(
                tx, enterprise.actor, user.id, ["Super User", "Change Approver"]
            )
        assert users.contact_roles_of(reload(db, user.id)) == ["Change Approver", "Super User"]
        with db.transaction() as tx, pytest.raises(InvalidInput, match="Unknown contact role"):
            users.set_contact_roles(tx, enterprise.actor, user.id, ["Boss"])


class TestDelete:
    def test_delete_removes_user_and_memberships_and_is_audited(self, db, enterprise, make_user):
        user = make_user(enterprise.account, "gone", contact_roles=["Super User"])
        with db.transaction() as tx:
            users.delete_user(tx, enterprise.actor, user.id)
        with db.transaction(write=False) as tx:
            assert tx.get(User, user.id) is None
            assert audit.events_for(tx, "user", user.id)[-1].action == "user.deleted"


def test_contact_role_change_hands_back_the_new_version(db, enterprise, make_user):
    user = make_user(enterprise.account, "versioned.roles")
    with db.transaction() as tx:
        changed = users.set_contact_roles(tx, enterprise.actor, user.id, ["Super User"])
        assert changed.version == user.version + 1
    assert reload(db, user.id).version == user.version + 1


def test_a_support_token_speaks_for_the_source_of_a_pushed_user(db, enterprise):
    okta = enterprise.okta
    support_token = Actor(ActorType.SUPPORT, "token support", Door.SCIM, "c2")
    support_console = Actor(ActorType.SUPPORT, "support.staff", Door.PORTAL, "s1")
    with db.transaction() as tx:
        pushed = new_users.create_user(
            tx, okta, account_id=enterprise.account.id, user_name="pushed.by.okta"
        )
    with db.transaction() as tx:
        users.update_user(tx, support_token, pushed.id, {"title": "Fixed by support"})
    with db.transaction() as tx, pytest.raises(Forbidden, match="identity provider"):
        users.update_user(tx, support_console, pushed.id, {"title": "From the console"})
    assert reload(db, pushed.id).title == "Fixed by support"


def test_a_write_refused_for_a_vanished_row_is_no_user_name_clash(db, enterprise, make_user):
    """A manager deleted while a user naming it is saved breaks a foreign key, not uniqueness."""
    import uuid

    from store.models.directory import UserEmail

    user = make_user(enterprise.account, "orphaned")
    with db.transaction() as tx:
        tx.add(UserEmail(user_id=uuid.uuid4(), position=0, value="x@example.com"))
        with pytest.raises(Conflict) as refused:
            users.flush_user(tx, user.user_name)
        tx.rollback()
    assert refused.value.field != "user_name"
    assert "taken" not in refused.value.message


class TestEmailAddresses:
    """Addresses are read by a real parser (email-validator) in store.validation.clean_email, the
    one check every door's addresses go through."""

    @pytest.mark.parametrize(
        "address",
        [
            "a@@example.com",
            "two words@example.com",
            "x@nodot",
            "a..b@example.com",
            ".a@example.com",
            "<a@example.com>",
            "Ada <ada@example.com>",
            '"quoted"@example.com',
            "a@[192.0.2.1]",
            "a@example.com\u202e",
            "a@corp.local",
            "@example.com",
        ],
    )
    def test_what_only_looks_like_an_address_is_refused(self, db, enterprise, make_user, address):
        with pytest.raises(InvalidInput, match="is not an email address"):
            make_user(enterprise.account, "refused", emails=[{"value": address}])
        assert count(db, User, User.user_name == "refused") == 0

    @pytest.mark.parametrize(
        "address",
        ["Ada.Lovelace+tag@Example.COM", "rené@exämple.com", "ada@example.test", "o'neil@ex.org"],
    )
    def test_real_addresses_are_kept_as_written(self, enterprise, make_user, address):
        user = make_user(enterprise.account, emails=[{"value": f"  {address} "}])
        assert user.primary_email == address
