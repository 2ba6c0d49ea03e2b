"""What a SCIM change leaves behind: a provisioning log entry and an audit event, no password."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from store.db import Base
from store.models.logs import AuditEvent, ProvisioningLogEntry
from store.models.sign_in import ProvisioningCredential

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SECRET = "Sup3r-Secret-Passw0rd!"


def log_entries(db):
    with db.transaction(write=False) as tx:
        return tx.scalars(select(ProvisioningLogEntry).order_by(ProvisioningLogEntry.id)).all()


def audit_events(db, action=None):
    with db.transaction(write=False) as tx:
        query = select(AuditEvent).where(AuditEvent.door == "scim").order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return tx.scalars(query).all()


def okta_credential(db):
    with db.transaction(write=False) as tx:
        return tx.scalar(
            select(ProvisioningCredential).where(ProvisioningCredential.name == "okta")
        )


def test_a_creation_is_logged_with_status_outcome_and_resource(db, scim, enterprise):
    created = scim.create_user("alice", title="Nurse")
    [entry] = log_entries(db)
    assert (entry.method, entry.path, entry.status) == ("POST", "/scim/v2/Users", 201)
    assert entry.outcome == "created"
    assert entry.resource_id == created["id"]
    assert entry.account_id == enterprise.account.id
    assert entry.credential_id == okta_credential(db).id
    assert entry.request["userName"] == "alice"
    assert entry.request["title"] == "Nurse"


def test_changes_and_refusals_are_logged_with_what_came_of_them(db, scim, enterprise):
    alice = scim.create_user("alice")
    scim.patch(
        f"/Users/{alice['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "Dr"}]},
    )
    scim.patch(
        f"/Users/{enterprise.main.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    scim.post("/Users", {"schemas": [USER], "userName": "ALICE"})
    scim.delete(f"/Users/{alice['id']}")
    entries = [(e.method, e.status, e.resource_id) for e in log_entries(db)]
    assert entries == [
        ("POST", 201, alice["id"]),
        ("PATCH", 200, alice["id"]),
        ("PATCH", 409, str(enterprise.main.id)),
        ("POST", 409, None),
        ("DELETE", 204, alice["id"]),
    ]
    outcomes = [e.outcome for e in log_entries(db)]
    assert outcomes[1] == "done"
    assert "last active main contact" in outcomes[2]
    assert "already taken" in outcomes[3]
    assert outcomes[4] == "done"


@pytest.mark.parametrize("resource_id", ["%00", "a%00b", "x" * 100])
def test_refusals_of_odd_ids_are_logged_as_far_as_the_log_can_keep_them(db, scim, resource_id):
    response = scim.delete(f"/Users/{resource_id}")
    assert response.status_code == 404
    [entry] = log_entries(db)
    assert entry.status == 404 and "\x00" not in entry.path
    assert len(entry.resource_id) <= 64 and "\x00" not in entry.resource_id


def test_reads_and_searches_are_not_logged(db, scim):
    alice = scim.create_user("alice")
    assert len(log_entries(db)) == 1
    scim.get("/Users")
    scim.get(f"/Users/{alice['id']}")
    scim.get("/Groups")
    scim.post("/Users/.search", {"schemas": [SEARCH], "filter": 'userName eq "alice"'})
    scim.post("/.search", {"schemas": [SEARCH]})
    scim.get("/ServiceProviderConfig")
    assert len(log_entries(db)) == 1


@pytest.mark.parametrize(
    "send",
    [
        lambda scim, user: scim.post(
            "/Users", {"schemas": [USER], "userName": "bob", "password": SECRET}
        ),
        lambda scim, user: scim.put(
            f"/Users/{user['id']}", {"schemas": [USER], "userName": "alice", "password": SECRET}
        ),
        lambda scim, user: scim.patch(
            f"/Users/{user['id']}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "password", "value": SECRET}],
            },
        ),
        lambda scim, user: scim.patch(
            f"/Users/{user['id']}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "Replace", "value": {"password": SECRET, "title": "Dr"}}],
            },
        ),
        lambda scim, user: scim.post(
            "/Bulk",
            {
                "schemas": [BULK],
                "Operations": [
                    {
                        "method": "POST",
                        "path": "/Users",
                        "bulkId": "b1",
                        "data": {"schemas": [USER], "userName": "bob", "password": SECRET},
                    }
                ],
            },
        ),
        lambda scim, user: scim.post(
            "/Users", {"schemas": [USER], "userName": "bob", f"{USER}:password": SECRET}
        ),
        lambda scim, user: scim.patch(
            f"/Users/{user['id']}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": f"{USER}:Password", "value": SECRET}],
            },
        ),
        lambda scim, user: scim.patch(
            f"/Users/{user['id']}",
            {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "add", "value": {f"{USER}:password": SECRET}}],
            },
        ),
        lambda scim, user: scim.post(
            "/Bulk",
            {
                "schemas": [BULK],
                "Operations": [
                    {
                        "method": "PATCH",
                        "path": f"/Users/{user['id']}",
                        "data": {
                            "schemas": [PATCH_OP],
                            "Operations": [
                                {"op": "replace", "path": f"{USER}:password", "value": SECRET}
                            ],
                        },
                    }
                ],
            },
        ),
        # Refused requests are logged too, and still without the password.
        lambda scim, user: scim.post(
            "/Users", {"schemas": [USER], "userName": "ALICE", f"{USER}:password": SECRET}
        ),
        lambda scim, user: scim.post(
            "/Users", {"schemas": [USER], "userName": "ALICE", "password": SECRET}
        ),
    ],
)
def test_passwords_never_reach_the_log_or_the_audit(db, scim, send):
    alice = scim.create_user("alice")
    response = send(scim, alice)
    assert response.status_code < 500
    entries = log_entries(db)
    assert len(entries) == 2
    assert "(hidden)" in json.dumps(entries[-1].request)
    assert SECRET not in everything_stored(db)


def everything_stored(db):
    """Every row of every table, as text: where a secret must not be found."""
    with db.transaction(write=False) as tx:
        return "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in tx.execute(select(table))
        )


def test_a_scim_change_is_audited_under_the_token_name(db, scim, enterprise):
    alice = scim.create_user("alice")
    [created] = audit_events(db, "user.created")
    assert created.actor_label == "token okta"
    assert created.door == "scim"
    assert created.actor_type == "credential"
    assert created.actor_id == str(okta_credential(db).id)
    assert created.target_id == alice["id"]
    assert created.account_id == enterprise.account.id
    scim.patch(
        f"/Users/{alice['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    [deactivated] = audit_events(db, "user.deactivated")
    assert (deactivated.actor_label, deactivated.target_id) == ("token okta", alice["id"])
    assert deactivated.changes["active"] == [True, False]
    group = scim.create_group("Team", [alice["id"]])
    [group_created] = audit_events(db, "group.created")
    assert (group_created.actor_label, group_created.target_id) == ("token okta", group["id"])
    assert group_created.changes["members"] == [alice["id"]]


def test_refused_changes_write_no_audit_event(db, scim, enterprise):
    scim.patch(
        f"/Users/{enterprise.main.id}",
        {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
    )
    assert audit_events(db) == []


def test_support_token_is_audited_as_support(db, scim, scim_client, make_token):
    alice = scim.create_user("alice")
    support = scim_client(make_token(None, "vendor-support"))
    support.patch(
        f"/Users/{alice['id']}",
        {
            "schemas": [PATCH_OP],
            "Operations": [
                {
                    "op": "replace",
                    "path": "urn:rollcall:scim:schemas:extension:community:2.0:User:profile",
                    "value": "main",
                }
            ],
        },
    )
    [changed] = audit_events(db, "user.updated")
    assert (changed.actor_label, changed.actor_type) == ("token vendor-support", "support")
    assert changed.changes["profile"] == ["client", "main"]
    [entry] = [e for e in log_entries(db) if e.method == "PATCH"]
    assert (entry.status, entry.resource_id) == (200, alice["id"])
