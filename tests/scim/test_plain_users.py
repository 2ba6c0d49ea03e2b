"""The plain user requests (scim.plain_users), answered alike by the dispatcher and by Flask (the
`app` fixture runs each test both ways): a token recalled from earlier requests is checked again
by the write, and a failure after the commit never tells the client the user was not created."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from scim import user_json
from store import credentials, new_users
from store.hashes import digest
from store.models.directory import User
from store.models.logs import AuditEvent, ProvisioningLogEntry
from store.models.sign_in import ProvisioningCredential

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


def body(user_name: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": user_name, **extra}


def counts(db: Any) -> tuple[int, int, int]:
    with db.transaction(write=False) as tx:
        return tuple(  # type: ignore[return-value]
            tx.scalar(select(func.count()).select_from(model))
            for model in (User, AuditEvent, ProvisioningLogEntry)
        )


def credential_of(db: Any, token: str) -> ProvisioningCredential:
    with db.transaction(write=False) as tx:
        return tx.scalars(
            select(ProvisioningCredential).where(ProvisioningCredential.token_hash == digest(token))
        ).one()


def test_a_fault_after_the_commit_says_the_user_was_created(db, scim, monkeypatch):
    """An identity provider told 409 or a plain 500 for a user that exists links or retries the
    wrong way: the answer names the created user, and a retry finds it."""

    def broken(*_args: Any) -> Any:
        raise RuntimeError("injected after the commit")

    monkeypatch.setattr(user_json, "user_json", broken)
    response = scim.post("/Users", body("ada"))
    monkeypatch.undo()
    assert response.status_code == 500
    detail = response.get_json()["detail"]
    assert "'ada' was created" in detail
    with db.transaction(write=False) as tx:
        created = tx.scalars(select(User).where(User.user_name == "ada")).one()
    assert str(created.id) in detail
    found = scim.get('/Users?filter=userName eq "ada"').get_json()
    assert [r["id"] for r in found["Resources"]] == [str(created.id)]


def test_a_fault_after_the_commit_of_a_user_with_a_manager_says_so_too(db, scim, monkeypatch):
    """The transaction path (a manager is looked up) renders after its commit as well."""
    boss = scim.create_user("boss")
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

    def broken(*_args: Any) -> Any:
        raise RuntimeError("injected after the commit")

    monkeypatch.setattr(user_json, "user_json", broken)
    wanted = body("worker", schemas=[USER, enterprise], **{enterprise: {"manager": boss["id"]}})
    response = scim.post("/Users", wanted)
    monkeypatch.undo()
    assert response.status_code == 500
    assert "'worker' was created" in response.get_json()["detail"]
    assert len(scim.get('/Users?filter=userName eq "worker"').get_json()["Resources"]) == 1


def test_a_token_revoked_after_it_was_recalled_creates_nothing(db, scim, operator, monkeypatch):
    monkeypatch.setattr(credentials, "LAST_USED_RESOLUTION", timedelta(0))  # every use recorded
    assert scim.post("/Users", body("before")).status_code == 201  # the token is recalled now
    with db.transaction() as tx:
        credentials.revoke_credential(tx, operator, credential_of(db, scim.token).id)
    revoked_use = credential_of(db, scim.token).last_used_at
    before = counts(db)
    response = scim.post("/Users", body("after"))
    assert response.status_code == 401, response.get_json()
    assert counts(db) == before, "nothing written"
    assert credential_of(db, scim.token).last_used_at == revoked_use, "a refused use is no use"


def test_a_revoked_recalled_token_sending_a_bad_body_is_refused_as_revoked(db, scim, operator):
    assert scim.post("/Users", body("before")).status_code == 201
    with db.transaction() as tx:
        credentials.revoke_credential(tx, operator, credential_of(db, scim.token).id)
    before = counts(db)
    assert scim.post("/Users", {"schemas": [USER]}).status_code == 401
    assert counts(db) == before


def test_a_recalled_token_moved_to_another_account_creates_there(db, scim, make_account):
    """No operation moves a token, but the write checks the account it was recalled with, and
    a token that changed is read again rather than trusted or refused."""
    assert scim.post("/Users", body("here")).status_code == 201
    elsewhere = make_account(kind="enterprise")
    with db.transaction() as tx:
        tx.execute(
            update(ProvisioningCredential)
            .where(ProvisioningCredential.token_hash == digest(scim.token))
            .values(account_id=elsewhere.id)
        )
    assert scim.post("/Users", body("there")).status_code == 201
    with db.transaction(write=False) as tx:
        there = tx.scalars(select(User).where(User.user_name == "there")).one()
    assert there.account_id == elsewhere.id


def test_a_refused_create_is_logged_with_its_reason(db, scim):
    assert scim.post("/Users", body("twice")).status_code == 201
    response = scim.post("/Users", body("TWICE"))
    assert response.status_code == 409
    with db.transaction(write=False) as tx:
        entries = tx.scalars(select(ProvisioningLogEntry).order_by(ProvisioningLogEntry.at)).all()
    assert [(e.status, e.outcome) for e in entries][-1] == (409, response.get_json()["detail"])
    assert entries[-1].request["userName"] == "TWICE"


def test_a_support_token_is_told_users_are_created_with_an_account_token(
    db, scim_client, make_token
):
    response = scim_client(make_token(None, "support")).post("/Users", body("nobody"))
    assert response.status_code == 400
    assert "token of their account" in response.get_json()["detail"]


def test_plain_reads_answer_an_unknown_token_with_401(scim_client, scim):
    stranger = scim_client(credentials.PREFIX + "not-a-token")
    user = scim.create_user("known")
    for path in (f"/Users/{user['id']}", '/Users?filter=userName eq "known"'):
        response = stranger.get(path)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_create_failing_with_its_database_still_answers_a_scim_error(db, scim, monkeypatch):
    """Before its commit: a 500 in SCIM's format, even when reading the token again fails too."""

    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise ConnectionError("the database went away")

    scim.post("/Users", body("first"))  # the token is cached now
    monkeypatch.setattr(new_users, "create_user_at_once", down)
    monkeypatch.setattr(credentials, "find_live", down)
    response = scim.post("/Users", body("second"))
    assert response.status_code == 500
    assert response.get_json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_a_created_users_location_header_is_a_uri_whatever_the_host(scim):
    """meta.location is an IRI under the host asked for; the Location header carries it as a URI
    (RFC 7231 §7.1.2), whichever way the request was answered."""
    response = scim.post("/Users", body("ida"), headers={"Host": "bücher.example"})
    assert response.status_code == 201
    location = response.headers["Location"]
    assert location.isascii() and location.endswith(f"/Users/{response.get_json()['id']}")
    assert response.get_json()["meta"]["location"] != location


def post_user(app: Any, token: str, user_name: str) -> Any:
    return app.test_client().post(
        "/scim/v2/Users",
        data=json.dumps(body(user_name)),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
    )


def test_a_connection_lost_after_the_insert_answers_201(
    db, enterprise, make_token, proxy, app_via_proxy
):
    """PostgreSQL committed the user, then the connection dropped before its reply was read: the
    client is told 201 with the user as written, never that the userName is taken."""
    app = app_via_proxy
    token = make_token(enterprise.account)
    assert post_user(app, token, "warm").status_code == 201
    proxy.cut_on_reply(b"INSERT 0 1")
    response = post_user(app, token, "ada")
    assert proxy.cuts_on_reply == 1
    assert response.status_code == 201, response.get_json()
    with db.transaction(write=False) as tx:
        created = tx.scalars(select(User).where(User.user_name == "ada")).one()
        logged = tx.scalars(
            select(ProvisioningLogEntry.status).where(
                ProvisioningLogEntry.resource_id == str(created.id)
            )
        ).all()
    assert response.get_json()["id"] == str(created.id)
    assert response.headers["ETag"] == f'W/"{created.version}"'
    assert logged == [201]


def test_a_connection_lost_before_anything_was_written_answers_503(
    db, enterprise, make_token, proxy, app_via_proxy
):
    """The statement failed (a taken userName) and its reply was lost: nothing was written, and
    the client is asked to try again later, which then gets the real answer."""
    app = app_via_proxy
    token = make_token(enterprise.account)
    assert post_user(app, token, "ada").status_code == 201
    before = counts(db)
    proxy.cut_on_reply(b"23505")  # unique_violation, in the error the server sends
    response = post_user(app, token, "ada")
    assert proxy.cuts_on_reply == 1
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"].isdigit()
    assert "nothing was written" in response.get_json()["detail"]
    assert counts(db)[0] == before[0]
    assert post_user(app, token, "ada").status_code == 409
