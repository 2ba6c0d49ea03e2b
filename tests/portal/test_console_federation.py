"""The console's Sign-in page (issue 21): main contacts of the account and support connect,
see, test and delete the account's OpenID provider; the client secret is never shown back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from rollcall import upstream
from store import federation, links
from store.errors import Forbidden
from store.models.directory import User
from store.models.logs import AuditEvent
from store.models.security import FederationConnection
from tests.pages import Console, submit
from tests.upstream import tiny_provider

SECRET = "okta-client-secret-0123456789"


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def settings(issuer: str, **changes: str) -> dict[str, str]:
    return {
        "display_name": "Acme Okta",
        "issuer": issuer,
        "client_id": "0oa-rollcall",
        "client_secret": SECRET,
        "scopes": "openid email profile",
        "claim": "sub",
        "link_by": "externalId",
        "domains": "acme.example, acme-health.example",
    } | changes


def test_a_main_contact_connects_tests_and_deletes_the_provider(
    app: Any, db: Any, enterprise: Any, main_console: Console
) -> None:
    path = f"/accounts/{enterprise.account.id}/sign-in"
    page = main_console.get(path)
    assert page.status_code == 200
    assert "/signin/federated/callback</code>" in text(page)
    assert "is not connected" in text(page)
    assert f'href="{path}"' in text(main_console.get(f"/accounts/{enterprise.account.id}"))

    upstream.forget()
    with tiny_provider() as op:
        saved = main_console.post(path, settings(op.issuer))
        assert saved.status_code == 302, text(saved)
        page = text(main_console.get(path))
        assert "okta…" in page and SECRET not in page
        # Domains are support's to assign: the main contact's form has none to send.
        assert "acme-health.example" not in page and "assigned by support staff" in page

        # the secret is write-only: an empty field keeps it
        kept = main_console.post(path, settings(op.issuer, client_secret="", claim="oid"))
        assert kept.status_code == 302
        with db.transaction(write=False) as tx:
            stored = tx.scalar(select(FederationConnection))
            assert (stored.client_secret, stored.claim) == (SECRET, "oid")

        tested = main_console.post(f"{path}/test", form_page=path)
        assert tested.status_code == 302
        assert f"ok {op.issuer}: 1 key(s)" in text(main_console.get(path))

    bad = main_console.post(path, settings("http://idp.example"))
    assert bad.status_code == 400 and "must be an https URL" in text(bad)

    deleted = main_console.post(f"{path}/delete", form_page=path)
    assert deleted.status_code == 302
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(FederationConnection)) is None
        actions = tx.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "federation")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["federation.created", "federation.updated", "federation.deleted"]


def test_only_main_contacts_of_the_account_and_support_reach_the_page(
    app: Any,
    db: Any,
    enterprise: Any,
    make_account: Any,
    make_user: Any,
    main_console: Console,
    support_console: Console,
) -> None:
    path = f"/accounts/{enterprise.account.id}/sign-in"
    other = make_account()
    assert support_console.get(path).status_code == 200
    assert (
        support_console.get(path.replace(str(enterprise.account.id), str(other.id))).status_code
        == 200
    )
    assert (
        Console(app, db, make_user(enterprise.account, "plain.client")).get(path).status_code == 403
    )
    assert (
        main_console.get(path.replace(str(enterprise.account.id), str(other.id))).status_code == 404
    )
    assert app.test_client().get(path).status_code == 302  # to the sign-in page


def test_a_reset_link_of_a_required_accounts_user_says_where_to_sign_in(
    app: Any, db: Any, enterprise: Any, make_user: Any, operator: Any
) -> None:
    person = make_user(enterprise.account, "pat.person", email_verified=True)
    with db.transaction() as tx:
        token = links.issue(tx, tx.get(User, person.id), links.RESET_PASSWORD)
        federation.create_connection(
            tx, operator, enterprise.account.id, issuer="https://acme.okta.example",
            client_id="c", client_secret=SECRET, required=True, display_name="Acme Okta",
        )  # fmt: skip
    password = "a brand new pass phrase"
    response = submit(
        app.test_client(), f"/reset/{token}", {"password": password, "confirm": password}
    )
    assert response.status_code == 400 and "Acme Okta" in text(response)


def test_only_support_assigns_the_email_domains_that_route_sign_in(
    app: Any, db: Any, enterprise: Any, main_console: Console, support_console: Console
) -> None:
    """A domain sends every unknown address in it to the account's provider: a main contact
    who could claim gmail.com, or a neighbour's domain, would collect its people's sign-ins."""
    path = f"/accounts/{enterprise.account.id}/sign-in"
    issuer = "https://idp.acme.example"
    assert main_console.post(path, settings(issuer)).status_code == 302
    with db.transaction() as tx:
        connection = federation.connection_of(tx, enterprise.actor, enterprise.account.id)
        assert connection is not None and connection.domains == []
        with pytest.raises(Forbidden, match="assigned by support staff"):
            federation.update_connection(tx, enterprise.actor, connection.id, domains=["gmail.com"])
    assert support_console.post(path, settings(issuer, client_secret="")).status_code == 302
    assert "acme-health.example" in text(support_console.get(path))
    assert main_console.post(path, settings(issuer, client_secret="")).status_code == 302
    assert "acme-health.example" in text(main_console.get(path))  # kept, not cleared
