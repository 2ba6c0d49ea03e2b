"""Client Support Center access from support's vetting (SPEC §2 Registration, §1 Applications),
called in `store`: a verified CSC login or an approved request grants the CSC application that
its single sign-on checks; a request names the organization; support attaches the person to an
account while approving and says why when rejecting; a CSC password that fails the community's
rules still proves the login."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert, select

from store import (
    access,
    applications,
    clients,
    csc,
    membership,
    migrate,
    outbox,
    registration,
    users,
)
from store.actors import Actor
from store.db import Database, now
from store.errors import Conflict, Forbidden, InvalidInput
from store.models.csc import CscAccessRequest
from store.models.directory import Account, Application, ApplicationGrant, User
from store.models.sign_in import OAuthClient

PASSWORD = "harbor willow sixty two"


@pytest.fixture
def csc_client(db: Database, operator: Actor) -> OAuthClient:
    with db.transaction() as tx:
        application = applications.ensure_application(
            tx, operator, key=csc.APPLICATION, name="Client Support Center"
        )
        client, _ = clients.create_client(
            tx,
            operator,
            name="CSC",
            redirect_uris=["https://csc.example.test/callback"],
            application=application,
            first_party=True,
        )
        return client


def may_open_csc(db: Database, user_id: Any, client: OAuthClient) -> bool:
    with db.transaction(write=False) as tx:
        return access.may_open(tx, tx.get(User, user_id), tx.get(OAuthClient, client.id))


def request_for(db: Database, **fields: str) -> User:
    with db.transaction() as tx:
        user = registration.register(
            tx,
            choice="csc_request",
            email=fields.pop("email", "rita@example.com"),
            given_name="Rita",
            family_name="Request",
            user_name=fields.pop("user_name", "rita.request"),
            password=PASSWORD,
            **fields,
        )
        assert user is not None
        return user


def test_a_verified_csc_login_opens_the_csc_at_once(db: Database, csc_client: OAuthClient) -> None:
    with db.transaction() as tx:
        csc.import_csv(tx, Actor.system(), io.StringIO(f"username,password\ncara.csc,{PASSWORD}\n"))
        user = registration.register(
            tx,
            choice="csc_member",
            email="cara@example.com",
            given_name="Cara",
            family_name="Csc",
            csc_user_name="cara.csc",
            csc_password=PASSWORD,
        )
        assert user is not None
    assert may_open_csc(db, user.id, csc_client)


def test_a_request_names_the_organization_before_anything_else_is_said(
    db: Database, make_user: Callable[..., User]
) -> None:
    make_user(None, "known", emails=[{"value": "known@example.com", "primary": True}])
    for email in ("new@example.com", "known@example.com"):  # the same answer for both
        with pytest.raises(InvalidInput, match="Organization is required") as refused:
            request_for(db, email=email, user_name=f"x.{email[:3]}", organization=" ")
        assert refused.value.field == "organization"
    user = request_for(db, organization="Lakeview Clinic", customer_number="C-1042")
    with db.transaction(write=False) as tx:
        [(request, asker)] = csc.open_requests(tx)
        assert asker.id == user.id
        assert (request.organization, request.customer_number) == ("Lakeview Clinic", "C-1042")


def test_approval_grants_the_csc_attaches_to_the_account_and_mails_the_decision(
    db: Database, csc_client: OAuthClient, make_account: Callable[..., Account], support: Actor
) -> None:
    account = make_account("Lakeview Clinic")
    user = request_for(db, organization="Lakeview Clinic")
    assert not may_open_csc(db, user.id, csc_client)
    with db.transaction() as tx:
        [(request, _)] = csc.open_requests(tx)
        csc.decide(tx, support, request.id, approve=True, account_id=account.id)
    assert may_open_csc(db, user.id, csc_client)
    with db.transaction(write=False) as tx:
        person = tx.get(User, user.id)
        assert (person.account_id, person.profile) == (account.id, "client")
        sent = [m.payload for m in outbox.pending(tx, outbox.EMAIL)]
        decision = [p for p in sent if p["template"] == "csc_access_decision"]
        assert [p["decision"] for p in decision] == ["approved"]


def test_the_profile_and_the_csc_agree_once_the_person_leaves_the_account(
    db: Database, csc_client: OAuthClient, make_account: Callable[..., Account], support: Actor
) -> None:
    account = make_account("Lakeview Clinic")
    user = request_for(db, organization="Lakeview Clinic")
    with db.transaction() as tx:
        assert csc.standing(tx, tx.get(User, user.id)) == "requested"
        [(request, _)] = csc.open_requests(tx)
        csc.decide(tx, support, request.id, approve=True, account_id=account.id)
    with db.transaction() as tx:
        assert csc.standing(tx, tx.get(User, user.id)) == "granted"
        users.update_user(tx, support, user.id, {"no_longer_at_account": True})
    assert not may_open_csc(db, user.id, csc_client)
    with db.transaction(write=False) as tx:
        assert not csc.has_access(tx, tx.get(User, user.id))  # the profile no longer says so
        assert csc.standing(tx, tx.get(User, user.id)) is None


def test_registering_the_csc_later_grants_it_to_people_vetted_before(
    db: Database, operator: Actor, support: Actor
) -> None:
    user = request_for(db, organization="Lakeview Clinic")
    with db.transaction() as tx:
        [(request, _)] = csc.open_requests(tx)
        csc.decide(tx, support, request.id, approve=True)
    with db.transaction() as tx:
        application = applications.ensure_application(
            tx, operator, key=csc.APPLICATION, name="Client Support Center"
        )
        assert application in tx.get(User, user.id).applications
        assert csc.has_access(tx, tx.get(User, user.id))


def test_rejection_says_why_and_grants_nothing(
    db: Database, csc_client: OAuthClient, support: Actor
) -> None:
    user = request_for(db, organization="Unknown Practice")
    with db.transaction() as tx:
        [(request, _)] = csc.open_requests(tx)
        with pytest.raises(InvalidInput, match="Say why"):
            csc.decide(tx, support, request.id, approve=False, note="  ")
    with db.transaction() as tx:
        csc.decide(tx, support, request.id, approve=False, note="No such client on record.")
    assert not may_open_csc(db, user.id, csc_client)
    with db.transaction(write=False) as tx:
        assert not csc.has_access(tx, tx.get(User, user.id))
        assert csc.standing(tx, tx.get(User, user.id)) == "rejected"


def test_only_support_attaches_a_person_and_only_one_without_an_account(
    db: Database,
    make_account: Callable[..., Account],
    make_user: Callable[..., User],
    enterprise: Any,
    support: Actor,
) -> None:
    guest = make_user(None, "gus.guest")
    other = make_account("Other Practice", kind="optimization_only")
    with db.transaction() as tx, pytest.raises(Forbidden):
        membership.attach_to_account(tx, enterprise.actor, guest.id, enterprise.account.id)
    with db.transaction() as tx:
        moved = membership.attach_to_account(tx, support, guest.id, other.id)
        assert (moved.account_id, moved.profile) == (other.id, "optimization")
    with db.transaction() as tx, pytest.raises(Conflict, match="already a user of Other"):
        membership.attach_to_account(tx, support, guest.id, enterprise.account.id)


def test_support_attaches_nobody_to_an_office_account(
    db: Database,
    make_account: Callable[..., Account],
    make_user: Callable[..., User],
    support: Actor,
) -> None:
    """An Office account's users come from NextGen Office (SPEC §1 Accounts), whichever page
    support attaches a person from (the person's page, a CSC approval)."""
    guest = make_user(None, "gus.guest")
    office = make_account("Harbor Family Practice", kind="office")
    with db.transaction() as tx, pytest.raises(Forbidden, match="created in NextGen Office"):
        membership.attach_to_account(tx, support, guest.id, office.id)
    with db.transaction(write=False) as tx:
        assert tx.get(User, guest.id).account_id is None


def test_support_approves_no_csc_for_a_person_no_longer_at_account(
    db: Database,
    csc_client: OAuthClient,
    make_account: Callable[..., Account],
    support: Actor,
) -> None:
    """Flagged before the request was decided: approving it would grant the CSC, which clearing
    the flag would then restore (SPEC §1: it restores nothing by itself)."""
    account = make_account("Lakeview Clinic")
    user = request_for(db, organization="Lakeview Clinic")
    with db.transaction() as tx:
        membership.attach_to_account(tx, support, user.id, account.id)
        users.update_user(tx, support, user.id, {"no_longer_at_account": True})
    with db.transaction() as tx:
        [(request, _)] = csc.open_requests(tx)
        with pytest.raises(Forbidden, match="No Longer at Account"):
            csc.decide(tx, support, request.id, approve=True)
    with db.transaction() as tx:
        users.update_user(tx, support, user.id, {"no_longer_at_account": False})
    assert not may_open_csc(db, user.id, csc_client)


def test_a_csc_password_failing_the_rules_still_proves_the_login(
    db: Database, csc_client: OAuthClient
) -> None:
    weak = "Password123!"
    with db.transaction() as tx:
        csc.import_csv(tx, Actor.system(), io.StringIO(f"username,password\nwes.csc,{weak}\n"))
    asked = {
        "choice": "csc_member",
        "email": "wes@example.com",
        "given_name": "Wes",
        "family_name": "Csc",
        "csc_user_name": "wes.csc",
        "csc_password": weak,
    }
    with (
        db.transaction() as tx,
        pytest.raises(InvalidInput, match="login is verified") as asked_for,
    ):
        registration.register(tx, **asked)
    assert asked_for.value.field == "password"
    with db.transaction() as tx, pytest.raises(InvalidInput, match="not correct"):
        registration.register(tx, **asked | {"csc_password": "wrong", "password": PASSWORD})
    with db.transaction() as tx:
        user = registration.register(tx, **asked, password=PASSWORD)
        assert user is not None and user.user_name == "wes.csc"
    assert may_open_csc(db, user.id, csc_client)
    with db.transaction(write=False) as tx:
        assert csc.LocalDirectory().verify(tx, "wes.csc", weak) is not None  # CSC's own, kept


def test_migration_0013_grants_the_csc_to_people_vetted_before_it(unmigrated: Database) -> None:
    database = unmigrated
    migrate.upgrade(database, "0012")
    application = uuid.uuid4()
    decisions = {"approved.one": "approved", "verified.one": "verified"}
    decisions |= {"rejected.one": "rejected", "waiting.one": None, "left.one": "approved"}
    ids = {name: uuid.uuid4() for name in decisions}
    with database.engine.begin() as conn:
        conn.execute(
            insert(Application.__table__).values(
                id=application, key="csc", name="CSC", access="granted", created_at=now()
            )
        )
        for name, decision in decisions.items():
            conn.execute(
                insert(User.__table__).values(
                    id=ids[name],
                    user_name=name,
                    user_name_ci=name,
                    addresses=[],
                    other_attributes={},
                    active=True,
                    profile="guest",
                    is_support=False,
                    no_longer_at_account=name == "left.one",
                    preferred_contact_method="email",
                    email_verified=True,
                    failed_logins=0,
                    version=1,
                    created_at=now(),
                    modified_at=now(),
                )
            )
            conn.execute(
                insert(CscAccessRequest.__table__).values(
                    id=uuid.uuid4(),
                    user_id=ids[name],
                    created_at=now(),
                    decided_at=now() if decision else None,
                    decision=decision,
                )
            )
    migrate.upgrade(database)
    with database.engine.connect() as conn:
        granted = conn.scalars(
            select(User.user_name)
            .join(ApplicationGrant, ApplicationGrant.user_id == User.id)
            .where(ApplicationGrant.application_id == application)
        ).all()
    assert sorted(granted) == ["approved.one", "verified.one"]
