"""The console over HTTP: who reaches which page, that URLs and form fields naming another
account's things change nothing, and that every console action leaves an audit event."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from store import credentials, csc, links, new_users, passwords, users
from store.applications import ensure_application
from store.db import now
from store.models.directory import User
from store.models.logs import AuditEvent, OutboxMessage
from store.models.sign_in import UserLink
from tests.pages import Console, form_of

PASSWORD = "a long enough pass phrase"


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def reload(db: Any, user_id: Any) -> User:
    with db.transaction(write=False) as tx:
        user = tx.get(User, user_id)
        assert user is not None
        _ = (user.emails, user.groups, user.applications)
        return user


def actions(db: Any) -> list[tuple[str, str, str]]:
    with db.transaction(write=False) as tx:
        events = tx.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        return [(e.action, e.actor_label, e.door) for e in events]


def test_pages_are_for_main_contacts_of_the_account_and_support(
    app, db, enterprise, make_account, make_user, main_console, support_console
):
    account = enterprise.account
    client_user = make_user(account, "plain.client")
    other = make_account()
    paths = [
        f"/accounts/{account.id}",
        f"/accounts/{account.id}/users",
        f"/accounts/{account.id}/users/new",
        f"/accounts/{account.id}/users/{client_user.id}",
        f"/accounts/{account.id}/users.csv",
        f"/accounts/{account.id}/provisioning",
    ]
    for path in paths:
        assert main_console.get(path).status_code == 200, path
        assert support_console.get(path).status_code == 200, path
        assert Console(app, db, client_user).get(path).status_code == 403, path
        assert main_console.get(path.replace(str(account.id), str(other.id))).status_code == 404
    assert app.test_client().get(paths[1]).status_code == 302  # to the sign-in page
    assert main_console.get("/my-account").headers["Location"].endswith(f"/accounts/{account.id}")
    assert main_console.get("/support").status_code == 403
    assert support_console.get("/support?q=plain").status_code == 200
    assert "plain.client" in text(support_console.get("/support?q=plain"))


def test_a_parent_accounts_main_contact_cannot_reach_child_users(
    app, db, make_account, make_user, support_console
):
    parent = make_account("Reseller Parent", kind="reseller")
    child = make_account("Child Practice", parent="Reseller Parent")
    parent_main = make_user(parent, "parent.main", profile="main")
    child_user = make_user(child, "child.user", given_name="Chloe")
    console = Console(app, db, parent_main)
    details = text(console.get(f"/accounts/{parent.id}"))
    assert "Child Practice" in details and f"/accounts/{child.id}" not in details
    assert "open a support case" in details
    for path in (
        f"/accounts/{child.id}/users",
        f"/accounts/{child.id}/users/{child_user.id}",
        f"/accounts/{parent.id}/users/{child_user.id}",
    ):
        assert console.get(path).status_code == 404, path
    response = console.post(
        f"/accounts/{parent.id}/users/{child_user.id}/deactivate",
        form_page=f"/accounts/{parent.id}/users",
    )
    assert response.status_code == 404 and reload(db, child_user.id).active
    # Support works in the child account directly.
    assert f"/accounts/{child.id}" in text(support_console.get(f"/accounts/{parent.id}"))
    response = support_console.post(
        f"/accounts/{child.id}/users/{child_user.id}",
        form_of(child_user, given_name="Chloé"),
    )
    assert response.status_code == 302 and reload(db, child_user.id).given_name == "Chloé"


def test_urls_naming_another_accounts_user_or_token_change_nothing(
    app, db, enterprise, make_account, make_user, operator, main_console
):
    other = make_account()
    stranger = make_user(other, "stranger", profile="client")
    own = enterprise.account.id
    with db.transaction() as tx:
        token, _ = credentials.create_credential(tx, operator, account_id=other.id, name="theirs")
    list_page = f"/accounts/{own}/users"
    for suffix in ("", "/activate", "/deactivate", "/reset-password"):
        path = f"/accounts/{own}/users/{stranger.id}{suffix}"
        response = main_console.post(path, form_of(stranger, family_name="X"), form_page=list_page)
        assert response.status_code == 404, path
    response = main_console.post(
        f"/accounts/{own}/provisioning/tokens/{token.id}/revoke", form_page=list_page
    )
    assert response.status_code == 404
    after = reload(db, stranger.id)
    assert after.active and after.family_name is None and after.version == stranger.version
    with db.transaction(write=False) as tx:
        assert credentials.credentials_of(tx, operator, other.id)[0].revoked_at is None
        assert not tx.scalars(select(OutboxMessage)).all()


def test_form_fields_cannot_grant_main_or_reach_past_the_rules(
    app, db, enterprise, make_account, make_user, main_console, operator
):
    account = enterprise.account
    member = make_user(account, "member.one", given_name="Mo", family_name="One")
    path = f"/accounts/{account.id}/users/{member.id}"
    response = main_console.post(path, form_of(member, profile="main"))
    assert response.status_code == 400 and "Only support staff" in text(response)
    assert reload(db, member.id).profile == "client"
    response = main_console.post(path, form_of(member, contact_roles="Chief Wizard"))
    assert response.status_code == 400 and "Unknown contact role" in text(response)
    # A main contact's own profile cannot be dropped by them either.
    response = main_console.post(
        f"/accounts/{account.id}/users/{enterprise.main.id}",
        form_of(enterprise.main, profile="client"),
    )
    assert response.status_code == 400 and reload(db, enterprise.main.id).profile == "main"
    # A user owned by the identity provider: only profile and roles.
    with db.transaction() as tx:
        pushed = new_users.create_user(
            tx, enterprise.okta, account_id=account.id, user_name="pushed", given_name="Pia"
        )
    page = text(main_console.get(f"/accounts/{account.id}/users/{pushed.id}"))
    assert "managed by your organization&#39;s identity provider" in page
    assert re.search(
        r'<input[^>]*disabled[^>]*name="given_name"|name="given_name"[^>]*disabled', page
    )
    response = main_console.post(
        f"/accounts/{account.id}/users/{pushed.id}",
        {"given_name": "Changed", "profile": "knowledge", "version": str(pushed.version)},
    )
    assert response.status_code == 400 and "change given_name there" in text(response)
    response = main_console.post(
        f"/accounts/{account.id}/users/{pushed.id}",
        {"profile": "knowledge", "contact_roles": "IT Receiver", "version": str(pushed.version)},
    )
    assert response.status_code == 302
    after = reload(db, pushed.id)
    assert after.profile == "knowledge" and after.given_name == "Pia"
    assert users.contact_roles_of(after) == ["IT Receiver"]
    # Applications only in enterprise accounts, whatever the form says.
    with db.transaction() as tx:
        ensure_application(tx, operator, key="icd10", name="ICD-10")
    optimization = make_account(kind="optimization_only")
    opt_main = make_user(optimization, "opt.main", profile="optimization_main")
    opt_console = Console(app, db, opt_main)
    response = opt_console.post(
        f"/accounts/{optimization.id}/users/new",
        {
            "family_name": "Apps",
            "email": "apps@x.test",
            "profile": "optimization",
            "preferred_contact_method": "email",
            "applications": "icd10",
        },
    )
    assert response.status_code == 400 and "only be granted in enterprise" in text(response)
    with db.transaction(write=False) as tx:
        assert tx.scalar(select(User).where(User.user_name == "apps@x.test")) is None


def test_new_user_offers_the_inactive_match_then_adds_with_a_sign_in_mail(
    app, db, enterprise, make_user, main_console
):
    """The sign-in mail's link lasts a week and opens "Choose your password", which also
    confirms the address."""
    account = enterprise.account
    former = make_user(  # pat@x.test is an address of theirs, but not the one they sign in with
        account,
        "former.staff",
        emails=[
            {"value": "former.staff@x.test", "primary": True},
            {"value": "pat@x.test", "type": "home"},
        ],
    )
    with db.transaction() as tx:
        users.deactivate(tx, enterprise.actor, former.id)
    new_path = f"/accounts/{account.id}/users/new"
    data = {
        "given_name": "Pat",
        "family_name": "Again",
        "email": "PAT@x.test",
        "profile": "client",
        "preferred_contact_method": "email",
        "contact_roles": ["IT Receiver", "Super User"],
    }
    offer = main_console.post(new_path, data)
    assert offer.status_code == 200 and "inactive-match" in text(offer)
    assert f"/users/{former.id}/activate" in text(offer)
    assert 'name="confirm_new" type="hidden" value="1"' in text(offer)
    created = main_console.post(new_path, {**data, "confirm_new": "1"})
    assert created.status_code == 302
    with db.transaction(write=False) as tx:
        user = tx.scalar(select(User).where(User.user_name_ci == "pat@x.test"))
        assert user is not None and user.profile == "client" and user.active
        assert users.contact_roles_of(user) == ["IT Receiver", "Super User"]
        mail = tx.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[-1]
        assert mail.payload["template"] == "sign_in" and mail.payload["to"] == "PAT@x.test"
        assert mail.payload["link"].startswith("/set-password/")
        link = tx.scalar(select(UserLink).where(UserLink.user_id == user.id))
        assert link.purpose == links.SET_PASSWORD
        assert timedelta(days=6, hours=23) < link.expires_at - now() <= timedelta(days=7)
        assert not user.email_verified and user.password_hash is None
    token = mail.payload["link"].removeprefix("/set-password/")
    visitor = app.test_client()
    assert visitor.get(f"/reset/{token}").status_code == 404  # not a reset link
    page = visitor.get(mail.payload["link"])
    assert page.status_code == 200
    assert "Choose your password" in text(page) and "PAT@x.test" in text(page)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text(page)).group(1)
    chosen = {"csrf_token": csrf, "password": PASSWORD, "confirm": PASSWORD}
    response = visitor.post(mail.payload["link"], data=chosen)
    assert response.status_code == 302 and response.headers["Location"] == "/signin"
    user = reload(db, user.id)
    assert user.email_verified and passwords.verify_password(user.password_hash, PASSWORD)
    assert actions(db)[-1][0] == "user.password_set"
    assert visitor.get(mail.payload["link"]).status_code == 410  # used up


def test_the_last_main_contact_is_refused_with_the_way_to_add_one(db, enterprise, main_console):
    path = f"/accounts/{enterprise.account.id}/users/{enterprise.main.id}/deactivate"
    response = main_console.post(path)
    assert response.status_code == 409
    page = text(response)
    assert "last active main contact" in page and "category Community" in page
    assert reload(db, enterprise.main.id).active


def test_a_deactivation_from_a_page_out_of_date_says_so_and_changes_nothing(
    db, enterprise, make_user, main_console
):
    """A browser restarted keeps the sign-in but not the page's CSRF session: the press is
    refused saying why, with the button to press again (before, the same page came back)."""
    member = make_user(enterprise.account, "member")
    path = f"/accounts/{enterprise.account.id}/users/{member.id}/deactivate"
    response = main_console.client.post(path, data={"csrf_token": "from-before"})
    assert response.status_code == 400
    page = text(response)
    assert "This page was out of date" in page and ">Deactivate</button>" in page
    assert reload(db, member.id).active
    assert main_console.post(path).status_code == 302


def test_a_user_owned_by_office_is_refused_with_where_to_change_them(
    app, db, make_account, make_user
):
    """An Office account's users are NextGen Office's (SPEC: externally managed users): the
    refusal names it, as a 403, without the main-contact guidance of the last main contact."""
    office = make_account(kind="office")
    main = make_user(office, "office.main", profile="main")
    member = make_user(office, "office.member")
    response = Console(app, db, main).post(f"/accounts/{office.id}/users/{member.id}/deactivate")
    assert response.status_code == 403
    page = text(response)
    assert "managed by NextGen Office" in page and "category Community" not in page
    assert reload(db, member.id).active


def test_activating_someone_already_active_saves_and_sends_no_second_mail(
    db, enterprise, make_user, main_console
):
    """A page left open after someone else activated the user: the edit is saved, and neither
    "activated" nor a sign-in email is claimed."""
    member = make_user(enterprise.account, "already.active", given_name="Al")
    path = f"/accounts/{enterprise.account.id}/users/{member.id}/activate"
    saved = main_console.post(path, form_of(reload(db, member.id)), form_page=path)
    assert saved.status_code == 302
    page = text(main_console.get(saved.headers["Location"]))
    assert "already.active was saved" in page and "activated" not in page
    with db.transaction(write=False) as tx:
        mails = tx.scalars(select(OutboxMessage)).all()
    assert not [m for m in mails if m.payload.get("user_id") == str(member.id)]


def test_every_console_action_is_audited(db, enterprise, make_user, main_console):
    account = enterprise.account
    member = make_user(account, "member.two", given_name="Mia")
    base = f"/accounts/{account.id}"
    steps = [
        (
            f"{base}/users/{member.id}",
            form_of(member, family_name="Two", contact_roles="IT Receiver"),
        ),
        (f"{base}/users/{member.id}/reset-password", {}),
        (f"{base}/users/{member.id}/deactivate", {}),
        (f"{base}/users/{member.id}/activate", form_of(reload(db, member.id))),
        (f"{base}/review", {}),
        (f"{base}/provisioning", {"name": "Okta"}),
    ]
    before = len(actions(db))
    for path, data in steps:
        if path.endswith("/activate"):
            data = form_of(reload(db, member.id))
        form_page = f"{base}/users" if path.endswith(("reset-password", "review")) else ""
        response = main_console.post(path, data, form_page=form_page)
        assert response.status_code in (200, 302), (path, text(response)[:2000])
    main_console.get(f"{base}/users.csv").get_data()
    with db.transaction(write=False) as tx:
        token = credentials.credentials_of(tx, enterprise.actor, account.id)[0]
    main_console.post(
        f"{base}/provisioning/tokens/{token.id}/revoke", form_page=f"{base}/provisioning"
    )
    main_console.post(
        f"{base}/users/{member.id}",
        form_of(reload(db, member.id), email="mia.new@x.test"),
    )
    done = actions(db)[before:]
    assert {a for a, _, _ in done} >= {
        "user.updated",
        "user.contact_roles_changed",
        "user.password_reset_sent",
        "user.deactivated",
        "user.activated",
        "account.reviewed",
        "credential.created",
        "account.users_exported",
        "credential.revoked",
        "user.email_change_requested",
    }
    assert {(label, door) for _, label, door in done} == {("main.contact", "portal")}


def test_support_grants_the_main_profile_and_decides_csc_requests(
    db, enterprise, make_user, support_console, operator
):
    account = enterprise.account
    helper = make_user(account, "helper", given_name="Hal")
    path = f"/accounts/{account.id}/users/{helper.id}"
    assert "Main Client Community User" in text(support_console.get(path))
    assert support_console.post(path, form_of(helper, profile="main")).status_code == 302
    assert reload(db, helper.id).profile == "main"
    # Removing it from the last main contact is refused, from the other is not.
    main_path = f"/accounts/{account.id}/users/{enterprise.main.id}"
    assert (
        support_console.post(main_path, form_of(enterprise.main, profile="client")).status_code
        == 302
    )
    refused = support_console.post(path, form_of(reload(db, helper.id), profile="client"))
    assert refused.status_code == 400 and "last active main contact" in text(refused)
    # A Client Support Center request, decided.
    with db.transaction() as tx:
        requester = tx.get(User, make_user(account, "asker").id)
        request = csc.request_access(tx, requester, organization="Requester Clinic")
        tx.flush()
        request_id = request.id
    page = text(support_console.get("/support/csc-requests"))
    assert "asker" in page
    response = support_console.post(
        f"/support/csc-requests/{request_id}",
        {"decision": "approve", "note": "Welcome"},
        form_page="/support/csc-requests",
    )
    assert response.status_code == 302
    with db.transaction(write=False) as tx:
        assert csc.has_access(tx, tx.get(User, requester.id))
    log = text(support_console.get(f"/support/audit?account={account.id}"))
    assert "csc.access_approved" in log and "user.updated" in log
    assert uuid.UUID(str(account.id))


def test_a_refused_csc_decision_is_shown_at_the_request_with_what_was_typed(
    db, enterprise, make_user, support_console
):
    """A rejection without a reason, or an account name mistyped, is said beside the request,
    the note kept, on the list support works from (before: a page with only a link home)."""
    with db.transaction() as tx:
        requester = tx.get(User, make_user(None, "asker").id)
        request = csc.request_access(tx, requester, organization="Bayview")
        tx.flush()
        request_id = request.id
    path = f"/support/csc-requests/{request_id}"
    decide = {"decision": "approve", "note": "Welcome aboard", "account": "Bayview Clinic"}
    mistyped = support_console.post(path, decide, form_page="/support/csc-requests")
    assert mistyped.status_code == 404
    page = text(mistyped)
    assert "No account named" in page and "Welcome aboard" in page and "Bayview Clinic" in page
    assert 'aria-label="Approve asker"' in page
    unsaid = support_console.post(
        path, {"decision": "reject", "note": ""}, form_page="/support/csc-requests"
    )
    assert unsaid.status_code == 400 and "the person is mailed it" in text(unsaid)
    with db.transaction(write=False) as tx:
        assert not csc.has_access(tx, tx.get(User, requester.id))
        assert [r.id for r, _ in csc.open_requests(tx)] == [request_id]


def test_an_office_users_edit_page_names_only_what_it_offers(app, db, make_account, make_user):
    """Office accounts grant no applications (the guide: enterprise clients only), so the note
    on what may change here does not name them."""
    office = make_account(kind="office")
    main = make_user(office, "office.main", profile="main")
    member = make_user(office, "office.member")
    page = text(Console(app, db, main).get(f"/accounts/{office.id}/users/{member.id}"))
    assert "managed by NextGen Office" in page and "profile permission and contact roles" in page
    assert "Access to Applications" not in page and "access to applications" not in page


def test_the_no_longer_at_account_box_says_what_saving_it_ends(
    db, enterprise, make_user, main_console
):
    member = make_user(enterprise.account, "member")
    page = text(main_console.get(f"/accounts/{enterprise.account.id}/users/{member.id}"))
    assert "saving ends their sessions, contact roles, applications and any main contact" in page
    assert 'aria-describedby="no_longer_at_account-hint"' in page
