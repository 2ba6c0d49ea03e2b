"""Plain user creations answered before Flask (scim.fast_create) answer, store, audit and log
exactly as the Flask view does; every other creation request is left to Flask."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from rollcall.app import create_app
from rollcall.settings import Settings
from scim import mapping
from scim.fast_create import MOST_VALUES, FastCreate
from scim.schemas import Community, Enterprise, UserResource
from store import credentials, statements
from store.db import with_defaults
from store.hashes import digest
from store.models import (
    AuditEvent,
    ProvisioningCredential,
    ProvisioningLogEntry,
    User,
    UserEmail,
    UserPhoneNumber,
)
from tests import test_scim_fast_reads
from tests.test_scim_fast_reads import answered, environ, layer
from tests.test_scim_lean_reads import COMMUNITY, ENTERPRISE, USER, rich_body

served = test_scim_fast_reads.served  # the fixture: the app in development and in production
OKTA = {
    "schemas": [USER],
    "userName": "isaac.brock@example.com",
    "name": {"givenName": "Isaac", "familyName": "Brock"},
    "emails": [{"primary": True, "value": "isaac.brock@example.com", "type": "work"}],
    "displayName": "Isaac Brock",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "active": True,
}
ENTRA = {
    "schemas": [USER, ENTERPRISE],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "userName": "Test_User_ab6490ee@contoso.com",
    "active": "True",
    "displayName": "Test User",
    "emails": [{"primary": True, "type": "work", "value": "Test_User_fd0ea19b@contoso.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
    "title": "Engineer",
    "preferredLanguage": "en-US",
    "phoneNumbers": [{"type": "work", "value": "+1 555 0100"}],
    ENTERPRISE: {"employeeNumber": "E1", "department": "Eng"},
}
PLAIN = {
    "only a userName": {"schemas": [USER], "userName": "plain"},
    "okta": OKTA,
    "entra": ENTRA,
    "inactive": {"schemas": [USER], "userName": "gone", "active": False},
    "every attribute but a manager": {
        **rich_body("unused"),
        ENTERPRISE: {"employeeNumber": "42", "department": "dep"},
    },
    "community fields": {
        "schemas": [USER, COMMUNITY],
        "userName": "knower",
        COMMUNITY: {"profile": "Knowledge", "noLongerAtAccount": True},
    },
    "a pushed password": {"schemas": [USER], "userName": "pw", "password": "eight ch"},
}


def post(token: str | None, body: Any, path: str = "/scim/v2/Users") -> dict[str, Any]:
    env = environ(path, token, method="POST")
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    env.update({"CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": "application/scim+json"})
    env["wsgi.input"] = io.BytesIO(raw)
    return env


def stored(db: Any, user_id: str) -> dict[str, Any]:
    """What a creation wrote, without what differs between two creations of the same user."""
    with db.transaction(write=False) as tx:
        user = tx.get(User, uuid.UUID(user_id))
        row = {c.key: getattr(user, c.key) for c in User.__table__.c}
        for key in ("id", "created_at", "modified_at"):
            row.pop(key)
        # A password is kept as a salted hash: the same password, never the same hash.
        row["password_hash"] = row["password_hash"] is not None
        row["password_changed_at"] = row["password_changed_at"] is not None
        children = [
            {
                c.key: getattr(child, c.key)
                for c in model.__table__.c
                if c.key not in ("id", "user_id")
            }
            for model in (UserEmail, UserPhoneNumber)
            for child in tx.scalars(
                select(model).where(model.user_id == user.id).order_by(model.position)
            )
        ]
        events = [
            (e.actor_type, e.actor_id, e.actor_label, e.door, e.action, e.account_id, e.changes)
            for e in tx.scalars(select(AuditEvent).where(AuditEvent.target_id == user_id))
        ]
        logged = [
            (e.credential_id, e.account_id, e.method, e.path, e.status, e.request, e.outcome)
            for e in tx.scalars(
                select(ProvisioningLogEntry).where(ProvisioningLogEntry.resource_id == user_id)
            )
        ]
    return {"user": row, "children": children, "events": events, "logged": logged}


def forget(db: Any, user_id: str) -> None:
    with db.transaction() as tx:
        tx.execute(delete(User).where(User.id == uuid.UUID(user_id)))


def neutral(answer: tuple[str, list[tuple[str, str]], bytes]) -> tuple[Any, ...]:
    """The answer with the new user's id and timestamps replaced by placeholders."""
    status, headers, body = answer
    document = json.loads(body)
    swaps = {document["id"]: "ID", document["meta"]["created"]: "CREATED"}
    swaps[document["meta"]["lastModified"]] = "MODIFIED"

    def swap(text: str) -> str:
        for old, new in swaps.items():
            text = text.replace(old, new)
        return text

    return status, [(k, swap(v)) for k, v in headers], swap(body.decode())


@pytest.mark.parametrize("case", sorted(PLAIN))
def test_a_plain_create_answers_stores_and_logs_as_flask_does(served, db, scim, case):
    env = post(scim.token, PLAIN[case])
    fast_layer: FastCreate = layer(served, FastCreate)
    response = fast_layer.answer(dict(env))
    assert response is not None, "the fast path should take a plain creation"
    fast = answered(response, env)
    assert fast[0] == "201 CREATED", fast
    fast_id = json.loads(fast[2])["id"]
    fast_rows = stored(db, fast_id)
    forget(db, fast_id)

    env = post(scim.token, PLAIN[case])
    full = answered(fast_layer.app, env)  # the same request through Flask alone
    full_id = json.loads(full[2])["id"]
    assert neutral(fast) == neutral(full)
    assert fast_rows == stored(db, full_id)
    assert fast_rows["events"] and fast_rows["logged"]


def fast_then_full(app: Any, db: Any, env: dict[str, Any]) -> tuple[Any, Any]:
    """The same creation answered by the fast path, then (its user forgotten) by Flask alone."""
    fast_layer: FastCreate = layer(app, FastCreate)
    response = fast_layer.answer(dict(env))
    assert response is not None, "the fast path should take a plain creation"
    fast = answered(response, env)
    forget(db, json.loads(fast[2])["id"])
    env["wsgi.input"].seek(0)
    return fast, answered(fast_layer.app, env)


@pytest.mark.parametrize(
    "base", ["https://EXAMPLE.org", "https://ex\u00e4mple.org/m\u00e9", "https://example.org/a b"]
)
def test_the_location_is_sent_as_flask_sends_it(db, scim, base):
    """Werkzeug sends a Location as a URI (host lowercased, IDN as punycode, path escaped)."""
    served = create_app(Settings(database_url=db.url, base_url=base), db)
    env = post(scim.token, {"schemas": [USER], "userName": "loc"})
    fast, full = fast_then_full(served, db, env)
    assert neutral(fast) == neutral(full)
    assert dict(fast[1])["Location"].isascii()


@pytest.mark.parametrize(
    "declared", ["+52", "5_2", " 52", "52 ", "0x34", "-1", "", None, "chunked"]
)
def test_a_length_not_plainly_given_is_left_to_flask(app, db, scim, declared):
    raw = json.dumps({"schemas": [USER], "userName": "sized"}).encode()
    env = post(scim.token, raw)
    if declared == "chunked":
        env["HTTP_TRANSFER_ENCODING"] = "chunked"
    elif declared is None:
        del env["CONTENT_LENGTH"]
    else:
        env["CONTENT_LENGTH"] = declared.replace("52", str(len(raw)))
    before = count(db)
    assert layer(app, FastCreate).answer(dict(env)) is None
    assert count(db) == before


def test_a_created_user_reads_back_as_it_was_answered(app, scim):
    created = answered(app, post(scim.token, ENTRA))
    document = json.loads(created[2])
    assert created[0] == "201 CREATED"
    read = scim.get(f"/Users/{document['id']}")
    assert read.get_json() == document
    assert read.headers["ETag"] == dict(created[1])["ETag"]
    assert read.headers["ETag"] == 'W/"1"'


@pytest.mark.parametrize(
    "case",
    [
        "taken userName",
        "taken userName in another case",
        "no userName",
        "bad email",
        "main profile",
        "a manager",
        "a userName longer once folded",
        "an email longer once folded",
        "not JSON",
        "a list",
        "unknown token",
        "support token",
        "projection",
        "no token",
        "many emails",
    ],
)
def test_every_other_creation_is_left_to_flask(case, app, db, scim, make_token, make_user):
    main = make_user(None, "taken.name")  # a guest, so the name is taken in no account
    body, token, path = {"schemas": [USER], "userName": "fresh"}, scim.token, "/scim/v2/Users"
    if case == "taken userName":
        body["userName"] = main.user_name
    elif case == "taken userName in another case":
        body["userName"] = main.user_name.upper()
    elif case == "no userName":
        body = {"schemas": [USER], "name": {"givenName": "No"}}
    elif case == "bad email":
        body["emails"] = [{"value": "not an email"}]
    elif case == "main profile":
        body = {"schemas": [USER, COMMUNITY], "userName": "fresh", COMMUNITY: {"profile": "main"}}
    elif case == "a manager":
        body = {"schemas": [USER, ENTERPRISE], "userName": "fresh", ENTERPRISE: {"manager": "x"}}
    elif case == "a userName longer once folded":
        body["userName"] = "ß" * 200  # 200 characters, its case-folded key 400 (ss each)
    elif case == "an email longer once folded":
        body["emails"] = [{"value": "ß" * 200 + "@example.de"}]
    elif case == "not JSON":
        body = b"{not json"
    elif case == "a list":
        body = [body]
    elif case == "unknown token":
        token = "rc_not-a-token"
    elif case == "support token":
        token = make_token(None, "support")
    elif case == "projection":
        path += "?attributes=userName"
    elif case == "no token":
        token = None
    elif case == "many emails":  # each count of emails would be a statement of its own
        body["emails"] = [{"value": f"fresh{n}@example.com"} for n in range(MOST_VALUES + 1)]
    env = post(token, body, path)
    before = count(db)
    assert layer(app, FastCreate).answer(dict(env)) is None
    assert count(db) == before, "a refused fast create writes nothing"
    status, _headers, answer = answered(app, post(token, body, path))
    expected = {
        "taken userName": "409",
        "taken userName in another case": "409",
        "no userName": "400",
        "bad email": "400",
        "main profile": "403",
        "a manager": "400",
        "a userName longer once folded": "400",
        "an email longer once folded": "400",
        "not JSON": "400",
        "a list": "400",
        "unknown token": "401",
        "no token": "401",
    }
    if case in expected:
        assert status.split()[0] == expected[case], answer
        assert json.loads(answer)["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    else:  # a support token creates no user in no account; a projection and many emails are
        # Flask's 201
        assert status.split()[0] in ("201", "400"), answer
    if case.startswith("taken"):
        with db.transaction(write=False) as tx:
            entries = tx.scalars(
                select(ProvisioningLogEntry).where(ProvisioningLogEntry.status == 409)
            ).all()
        assert len(entries) == 1, "the refusal is logged once, by Flask"


def count(db: Any) -> tuple[int, int, int]:
    with db.transaction(write=False) as tx:
        return tuple(  # type: ignore[return-value]
            len(tx.scalars(select(model.id)).all())
            for model in (User, AuditEvent, ProvisioningLogEntry)
        )


def credential_of(db: Any, token: str) -> ProvisioningCredential:
    with db.transaction(write=False) as tx:
        return tx.scalars(
            select(ProvisioningCredential).where(ProvisioningCredential.token_hash == digest(token))
        ).one()


def test_a_token_revoked_after_it_was_recalled_creates_nothing(
    app, db, scim, operator, monkeypatch
):
    """The fast path recalls a token it has seen (credentials.Recall) instead of reading it
    again; the create's own statement checks it is still live, so a revocation holds at once."""
    monkeypatch.setattr(credentials, "LAST_USED_RESOLUTION", timedelta(0))  # every use recorded
    fast_layer: FastCreate = layer(app, FastCreate)
    assert fast_layer.answer(post(scim.token, {"schemas": [USER], "userName": "before"}))
    with db.transaction() as tx:
        credentials.revoke_credential(tx, operator, credential_of(db, scim.token).id)
    revoked_at = credential_of(db, scim.token).last_used_at
    before = count(db)
    body = {"schemas": [USER], "userName": "after"}
    assert fast_layer.answer(post(scim.token, body)) is None, "the write found it revoked"
    assert count(db) == before, "nothing written"
    status, _headers, answer = answered(app, post(scim.token, body))
    assert status.startswith("401"), answer
    with db.transaction(write=False) as tx:
        assert tx.scalars(select(User).where(User.user_name == "after")).first() is None
    assert credential_of(db, scim.token).last_used_at == revoked_at, "a refused use is no use"


def test_a_recalled_token_has_its_use_recorded_once_a_minute(app, db, scim):
    """Recalling a token must not make every create record its use again."""
    fast_layer: FastCreate = layer(app, FastCreate)
    assert fast_layer.answer(post(scim.token, {"schemas": [USER], "userName": "first"}))
    assert credential_of(db, scim.token).last_used_at is not None  # recorded
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    with db.transaction() as tx:
        tx.execute(
            update(ProvisioningCredential)
            .where(ProvisioningCredential.token_hash == digest(scim.token))
            .values(last_used_at=long_ago)
        )
    assert fast_layer.answer(post(scim.token, {"schemas": [USER], "userName": "second"}))
    assert credential_of(db, scim.token).last_used_at == long_ago, "recorded again at once"


@pytest.mark.parametrize("body", [ENTRA, PLAIN["community fields"], PLAIN["only a userName"]])
def test_an_extension_is_read_where_scim2_models_keeps_it(body):
    """`mapping.extension` reads the attribute `resource[kind]` finds by its path."""
    resource = UserResource.model_validate(body)
    for kind in (Enterprise, Community):
        assert mapping.extension(resource, kind) == resource[kind]
    assert (mapping.extension(resource, Enterprise) is not None) == (ENTERPRISE in body)


def test_a_token_named_at_length_creates_as_flask_does(served, db, enterprise, make_token):
    """Its audit label, "token " and 255 characters, is cut to its column on both paths (it was
    a 500 through Flask, and the fast path's cast cut it silently)."""
    token = make_token(enterprise.account, "n" * 255)
    fast, full = fast_then_full(served, db, post(token, {"schemas": [USER], "userName": "long"}))
    assert fast[0] == full[0] == "201 CREATED", full
    assert neutral(fast) == neutral(full)
    with db.transaction(write=False) as tx:
        labels = tx.scalars(
            select(AuditEvent.actor_label).where(
                AuditEvent.action == "user.created", AuditEvent.actor_type == "credential"
            )
        ).all()
    assert labels == [f"token {'n' * 249}"] * 2


def test_a_recalled_token_moved_to_another_account_writes_nothing(app, db, scim, make_account):
    """No operation moves a token, but the write checks the account it was recalled with."""
    fast_layer: FastCreate = layer(app, FastCreate)
    assert fast_layer.answer(post(scim.token, {"schemas": [USER], "userName": "here"}))
    elsewhere = make_account(kind="enterprise")
    with db.transaction() as tx:
        tx.execute(
            update(ProvisioningCredential)
            .where(ProvisioningCredential.token_hash == digest(scim.token))
            .values(account_id=elsewhere.id)
        )
    before = count(db)
    body = {"schemas": [USER], "userName": "there"}
    assert fast_layer.answer(post(scim.token, body)) is None
    assert count(db) == before
    assert answered(app, post(scim.token, body))[0] == "201 CREATED"  # Flask, in its account
    with db.transaction(write=False) as tx:
        there = tx.scalars(select(User).where(User.user_name == "there")).one()
    assert there.account_id == elsewhere.id


def test_creations_sending_other_attributes_share_one_statement(app, scim):
    """A row's columns come in the table's order whatever a request sends, so the fast path
    makes a statement per count of emails and phone numbers only (MOST_VALUES bounds those),
    never one per choice of optional attributes."""
    extras: list[dict[str, Any]] = [
        {},
        {"displayName": "Dee"},
        {"title": "Chief", "locale": "fr-CA", "externalId": "x-1"},
        {"name": {"givenName": "Gee", "middleName": "Em"}},
        {"schemas": [USER, ENTERPRISE], ENTERPRISE: {"department": "Ops", "costCenter": "7"}},
    ]
    made = []
    for n, extra in enumerate(extras):
        body = {"schemas": [USER], "userName": f"shape.{n}@example.com", **extra}
        env = post(scim.token, body)
        response = layer(app, FastCreate).answer(dict(env))
        assert response is not None and answered(response, env)[0] == "201 CREATED"
        made.append(statements._together.cache_info().currsize)
    assert made[1:] == made[:-1], "each choice of attributes made a statement of its own"
    moment = datetime.now(UTC)
    given = [{"user_name": "a"}, {"title": "t", "locale": "fr"}]
    rows = [with_defaults(User, g | {"created_at": moment, "modified_at": moment}) for g in given]
    assert list(rows[0]) == list(rows[1]) == [c.key for c in User.__table__.c if c.key in rows[0]]
