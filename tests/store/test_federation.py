"""Sign in with your organization, in `store`: who manages a connection, which login goes to which
provider, and how the provider's claim links to a user of that account only (issue 21)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from rollcall import mail
from store import audit, federated_sign_in, federation, outbox, recovery, signin
from store.actors import Actor, Door
from store.assurance import ONE_FACTOR_ACR, PASSWORD, Proof
from store.db import Database, now
from store.errors import Conflict, Forbidden, InvalidInput, NotFound
from store.federation import FederationRefused
from store.models.directory import Account, User
from store.models.logs import OutboxMessage
from store.models.security import FederationConnection, FederationLogin

ISSUER = "https://acme.okta.example"
SECRET = "upstream-client-secret-1234"


@pytest.fixture
def connect(db: Database, support: Actor) -> Callable[..., Any]:
    """Connect an account to the upstream provider as support does, with these settings."""

    def make(account: Account, **settings: Any) -> Any:
        settings = {"issuer": ISSUER, "client_id": "rollcall", "client_secret": SECRET} | settings
        with db.transaction() as tx:
            return federation.create_connection(tx, support, account.id, **settings)

    return make


def link(db: Database, connection: Any, **claims: Any) -> User:
    with db.transaction() as tx:
        connection = tx.merge(connection)
        user = federated_sign_in.link(tx, connection, claims)
        tx.expunge(user)
        return user


def test_the_claim_links_to_the_user_of_that_account_by_external_id(
    db: Database, enterprise: Any, make_user: Callable[..., User], connect: Any
) -> None:
    pushed = make_user(enterprise.account, "pat.pushed", external_id="00u1ABC")
    connection = connect(enterprise.account)
    assert link(db, connection, sub="00u1ABC").id == pushed.id
    with pytest.raises(FederationRefused, match="no user of this organization"):
        link(db, connection, sub="00u1abc")  # externalId is exact, as SCIM compares it
    with db.transaction() as tx:
        user = tx.get(User, pushed.id)
        assert user is not None and user.last_login_at is not None
        events = audit.events_for(tx, "user", pushed.id)
        assert events[-1].action == "user.signed_in_federated"


def test_the_claim_links_by_user_name_case_folded(
    db: Database, enterprise: Any, make_user: Callable[..., User], connect: Any
) -> None:
    address = "Pat.Pushed@Acme.example"
    pushed = make_user(enterprise.account, address, emails=[{"value": address, "primary": True}])
    connection = connect(enterprise.account, claim="email", link_by="userName")
    assert link(db, connection, sub="x", email="pat.pushed@acme.EXAMPLE").id == pushed.id


def test_another_accounts_user_is_never_linked(
    db: Database,
    enterprise: Any,
    make_account: Callable[..., Account],
    make_user: Callable[..., User],
    connect: Any,
) -> None:
    other = make_account()
    make_user(other, "someone.else", external_id="00u-other")
    make_user(other, "lee@other.example", emails=[{"value": "lee@other.example"}])
    connection = connect(enterprise.account, create_users=True)
    with pytest.raises(FederationRefused, match="could not create"):
        # JIT would make a user named as the other account's: refused, not linked
        link(db, connection, sub="00u-other", preferred_username="someone.else")
    by_name = connect(other, claim="email", link_by="userName")
    with pytest.raises(FederationRefused, match="no user of this organization"):
        link(db, by_name, sub="x", email="main.contact")  # enterprise's main contact's name
    assert link(db, by_name, sub="x", email="LEE@other.example").user_name == "lee@other.example"


def test_just_in_time_creation_takes_no_name_at_another_accounts_domain(
    db: Database, enterprise: Any, make_account: Callable[..., Any], connect: Any
) -> None:
    """A's own provider (which a main contact of A may set up) cannot create a user named at a
    domain support assigned to B: that would take B's person's address before B pushes them."""
    connect(make_account(), domains=["b.example"])
    connection = connect(enterprise.account, create_users=True)
    with pytest.raises(FederationRefused, match="assigned to another account"):
        link(db, connection, sub="00u-ceo", preferred_username="CEO@b.example")
    with db.transaction() as tx:
        assert tx.scalar(select(User).where(User.user_name_ci == "ceo@b.example")) is None


def test_a_deactivated_or_unknown_user_is_refused(
    db: Database, enterprise: Any, make_user: Callable[..., User], connect: Any
) -> None:
    gone = make_user(enterprise.account, "gone.user", external_id="00u-gone", active=False)
    connection = connect(enterprise.account)
    with pytest.raises(FederationRefused, match="deactivated"):
        link(db, connection, sub="00u-gone")
    with pytest.raises(FederationRefused, match="no user of this organization"):
        link(db, connection, sub="00u-nobody")
    with pytest.raises(FederationRefused, match="no sub claim"):
        link(db, connection, email="gone.user@example.test")
    with db.transaction() as tx:
        assert tx.get(User, gone.id).last_login_at is None  # type: ignore[union-attr]


def test_just_in_time_creation_makes_a_client_of_the_account(
    db: Database, enterprise: Any, connect: Any
) -> None:
    connection = connect(enterprise.account, create_users=True, domains=["acme.example"])
    user = link(
        db,
        connection,
        sub="00u-new",
        email="new.person@acme.example",
        given_name="New",
        family_name="Person",
        preferred_username="new.person@acme.example",
    )
    assert (user.account_id, user.profile, user.external_id) == (
        enterprise.account.id,
        "client",
        "00u-new",
    )
    assert user.email_verified and user.password_hash is None
    assert link(db, connection, sub="00u-new").id == user.id  # linked from now on
    outsider = link(db, connection, sub="00u-out", email="x@elsewhere.example")
    assert outsider.user_name == "00u-out" and not outsider.email_verified  # never vouched for
    # A provider writing its booleans as text, or a name as a list, is read for what it says.
    unsure = link(
        db,
        connection,
        sub="00u-unsure",
        email="unsure@acme.example",
        email_verified="false",
        preferred_username=["a", "b"],
    )
    assert unsure.user_name == "unsure@acme.example" and not unsure.email_verified


def test_just_in_time_creation_is_off_unless_chosen(
    db: Database, enterprise: Any, connect: Any
) -> None:
    connection = connect(enterprise.account)
    assert connection.create_users is False
    with pytest.raises(FederationRefused, match="Ask a main contact"):
        link(db, connection, sub="00u-new", email="new.person@acme.example")
    with db.transaction() as tx:
        assert tx.scalar(select(User).where(User.external_id == "00u-new")) is None


def test_main_contacts_may_not_turn_on_creation_when_the_account_provisions_over_scim(
    db: Database, enterprise: Any, make_token: Callable[..., str], support: Actor
) -> None:
    make_token(enterprise.account)
    with db.transaction() as tx, pytest.raises(Forbidden, match="over SCIM"):
        federation.create_connection(
            tx,
            enterprise.actor,
            enterprise.account.id,
            issuer=ISSUER,
            client_id="rollcall",
            client_secret=SECRET,
            create_users=True,
        )
    with db.transaction() as tx:
        made = federation.create_connection(
            tx, enterprise.actor, enterprise.account.id, issuer=ISSUER, client_id="c",
            client_secret=SECRET,
        )  # fmt: skip
        assert made.create_users is False
        assert federation.update_connection(tx, support, made.id, create_users=True).create_users


def test_only_main_contacts_of_the_account_and_support_manage_its_connection(
    db: Database,
    enterprise: Any,
    make_account: Callable[..., Account],
    make_user: Callable[..., User],
    connect: Any,
) -> None:
    other = make_account()
    other_main = make_user(other, "other.main", profile="main")
    client = make_user(enterprise.account, "plain.client")
    connection = connect(enterprise.account)
    with db.transaction() as tx:
        for actor in (
            Actor.for_user(other_main, Door.PORTAL),
            Actor.for_user(client, Door.PORTAL),
            enterprise.okta,  # the account's own provisioning token
        ):
            with pytest.raises(NotFound):
                federation.get_connection(tx, actor, connection.id)
            with pytest.raises(Forbidden):
                federation.connection_of(tx, actor, enterprise.account.id)
        mine = federation.connection_of(tx, enterprise.actor, enterprise.account.id)
        assert mine is not None and mine.id == connection.id
        assert [c.id for c in federation.list_connections(tx, enterprise.actor)] == [mine.id]


def test_settings_are_checked_and_the_secret_is_kept_when_left_empty(
    db: Database, enterprise: Any, connect: Any, support: Actor
) -> None:
    connection = connect(enterprise.account)
    assert (connection.scopes, connection.claim, connection.link_by) == (
        "openid email profile",
        "sub",
        "externalId",
    )
    with db.transaction() as tx:
        for bad in (
            {"issuer": "http://acme.example"},
            {"issuer": "not a url"},
            {"issuer": "https://acme.example/x?"},  # the discovery path would follow the ?
            {"issuer": "https://acme.example/x#"},
            {"claim": "upn"},
            {"link_by": "email"},
            {"scopes": "email profile"},
            {"domains": ["not a domain"]},
        ):
            with pytest.raises(InvalidInput):
                federation.update_connection(tx, support, connection.id, **bad)
    with db.transaction() as tx:
        changed = federation.update_connection(
            tx, support, connection.id, client_secret="", display_name="Acme Okta"
        )
        assert changed.client_secret == SECRET
        assert federation.secret_hint(changed) == "upst…"
        event = audit.events_for(tx, "federation", connection.id)[-1]
        assert SECRET not in str(event.changes)
    short, none = FederationConnection(client_secret="x"), FederationConnection(client_secret="")
    assert federation.secret_hint(short) == "…"  # not shown at all (a README walk saw "x…")
    assert "give it again" in federation.secret_hint(none)  # after an import


def test_a_domain_belongs_to_one_account(
    db: Database, enterprise: Any, make_account: Callable[..., Account], connect: Any
) -> None:
    connect(enterprise.account, domains=["Acme.example", "acme-health.example", "Bücher.example"])
    with pytest.raises(Conflict, match=r"acme\.example belongs to another account"):
        connect(make_account(), domains=["ACME.example"])
    with pytest.raises(Conflict, match=r"xn--bcher-kva\.example belongs to another account"):
        connect(make_account(), domains=["xn--bcher-kva.example."])  # one domain, two spellings
    with db.transaction() as tx:  # a login at it, in either spelling, goes to its provider
        assert federation.connection_for_login(tx, "new.person@bücher.example") is not None


def test_a_login_goes_to_the_provider_of_the_users_account_or_of_its_domain(
    db: Database,
    enterprise: Any,
    make_account: Callable[..., Account],
    make_user: Callable[..., User],
    connect: Any,
) -> None:
    connection = connect(enterprise.account, domains=["acme.example"])
    other = make_account()
    make_user(other, "visitor", emails=[{"value": "visitor@acme.example", "primary": True}])
    with db.transaction() as tx:
        assert federation.connection_for_login(tx, "MAIN.CONTACT").id == connection.id
        assert federation.connection_for_login(tx, "nobody@Acme.Example").id == connection.id
        # the address is another account's user's: that account's way of signing in counts
        assert federation.connection_for_login(tx, "visitor@acme.example") is None
        assert federation.connection_for_login(tx, "nobody@elsewhere.example") is None
        assert federation.connection_for_login(tx, "nobody") is None


def test_a_required_connection_leaves_no_password_to_reset_or_use(
    db: Database, enterprise: Any, make_user: Callable[..., User], connect: Any
) -> None:
    person = make_user(
        enterprise.account, "pat.person", password="harbor willow sixty two", email_verified=True
    )
    connection = connect(enterprise.account, required=True, display_name="Acme Okta")
    with db.transaction() as tx:
        recovery.send_password_reset(tx, "pat.person")
    with db.transaction() as tx:
        mails = [m.payload for m in outbox.pending(tx, outbox.EMAIL)]
    assert [m["template"] for m in mails] == ["federated_sign_in"]
    assert "Acme Okta" in mails[0]["where"] and ISSUER in mails[0]["where"]
    with db.transaction() as tx:
        with pytest.raises(signin.SignInRefused) as refused:
            signin.authenticate(tx, "pat.person", "harbor willow sixty two")
        assert refused.value.reason == "federated"
    # a reset link sent before the connection was required no longer sets a password
    from store import links

    with db.transaction() as tx:
        token = links.issue(tx, tx.get(User, person.id), links.RESET_PASSWORD)
    with db.transaction() as tx, pytest.raises(Forbidden, match="Acme Okta"):
        recovery.reset_password(tx, token, "a brand new passphrase")
    with db.transaction() as tx:
        federation.update_connection(tx, Actor.system(), connection.id, required=False)
        recovery.send_password_reset(tx, "pat.person")
        templates = [m.payload["template"] for m in outbox.pending(tx, outbox.EMAIL)]
        assert templates[-1] == "reset_password"


def test_the_sign_in_mail_of_a_required_account_says_where_to_sign_in(
    db: Database, enterprise: Any, make_user: Callable[..., User], connect: Any
) -> None:
    """Whatever door adds the user (the console, an identity provider's push), the mail is
    written when it is sent: it says where to sign in instead of offering a password."""
    connect(enterprise.account, required=True, display_name="Acme Okta")
    make_user(enterprise.account, "new.person", send_sign_in_email=True)
    with db.transaction() as tx:
        payload = tx.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[-1].payload
        written = mail.render(
            payload, base_url="https://rollcall.test", user=mail.user_of(tx, payload)
        )
    assert payload["template"] == "sign_in"
    assert "Acme Okta" in written.text and "Choose your password" not in written.text


def test_a_state_works_once_and_not_after_it_expires(
    db: Database, enterprise: Any, connect: Any
) -> None:
    connection = connect(enterprise.account)
    with db.transaction() as tx:
        pending = federated_sign_in.begin(tx, connection, "/next")
        stale = federated_sign_in.begin(tx, connection, "/")
    with db.transaction() as tx:
        finished, found = federated_sign_in.finish(tx, pending.state)
        assert (finished.nonce, finished.next_path, found.id) == (
            pending.nonce,
            "/next",
            connection.id,
        )
    with db.transaction() as tx:
        with pytest.raises(FederationRefused, match="already used"):
            federated_sign_in.finish(tx, pending.state)
        tx.execute(update(FederationLogin).values(expires_at=now() - timedelta(seconds=1)))
    with db.transaction() as tx, pytest.raises(FederationRefused, match="expired"):
        federated_sign_in.finish(tx, stale.state)


def test_the_proof_keeps_registered_methods_and_the_upstream_acr() -> None:
    assert federated_sign_in.proof_of({}) == Proof(("pwd",), ONE_FACTOR_ACR)
    proof = federated_sign_in.proof_of({"amr": ["pwd", "otp", "x-custom"], "acr": "urn:okta:2fa"})
    assert proof.amr == ("pwd", "otp", "mfa") and proof.acr == "urn:okta:2fa"
    assert federated_sign_in.proof_of({"amr": ["x-custom"], "acr": 3}).amr == (PASSWORD,)


@pytest.mark.parametrize("tenant", ["common", "organizations", "Consumers"])
def test_an_issuer_shared_by_every_entra_tenant_is_refused(
    enterprise: Any, connect: Any, tenant: str
) -> None:
    """Microsoft's multi-tenant issuers would take any tenant's ID tokens as the organization's
    (README: the iss must be the tenant's)."""
    with pytest.raises(InvalidInput, match="shared by every Microsoft Entra tenant"):
        connect(enterprise.account, issuer=f"https://login.microsoftonline.com/{tenant}/v2.0")
