"""A Microsoft Entra ID-style provisioning run against a local Rollcall.

    python examples/scim/entra_style.py --token TOKEN [--base-url http://127.0.0.1:8000/scim/v2]

The requests are shaped as Entra ID sends them: capitalised PATCH ops, booleans as strings,
`Add` on emails[type eq "work"].value, the enterprise manager as a bare id, members removed with
the older value form, and group lookups with excludedAttributes=members.
"""

from __future__ import annotations

import uuid

from scim_http import connect

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def new_user(scim, login: str, given: str, family: str) -> str:  # type: ignore[no-untyped-def]
    found = scim.expect(200, "GET", "/Users", filter=f'userName eq "{login}"')
    assert found["totalResults"] == 0
    created = scim.expect(
        201,
        "POST",
        "/Users",
        {
            "schemas": [CORE, ENTERPRISE],
            "externalId": uuid.uuid4().hex,
            "userName": login,
            "active": True,
            "displayName": f"{given} {family}",
            "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
            "emails": [{"primary": True, "type": "other", "value": login}],
            ENTERPRISE: {"employeeNumber": str(uuid.uuid4().int)[:6], "department": "Clinic"},
        },
    )
    return created["id"]


def main() -> None:
    scim = connect(__doc__.splitlines()[0])
    suffix = uuid.uuid4().hex[:8]
    manager_id = new_user(scim, f"mgr.{suffix}@contoso.example", "Megan", "Bowen")
    user_id = new_user(scim, f"adele.{suffix}@contoso.example", "Adele", "Vance")
    patched = scim.expect(
        200,
        "PATCH",
        f"/Users/{user_id}",
        {
            "schemas": [PATCH],
            "Operations": [
                {"op": "Replace", "path": "displayName", "value": "Adele V."},
                {
                    "op": "Add",
                    "path": 'emails[type eq "work"].value',
                    "value": f"adele.vance.{suffix}@contoso.example",
                },
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": manager_id},
                {"op": "Replace", "value": {"name.familyName": "Vance-Smith"}},
            ],
        },
    )
    assert patched[ENTERPRISE]["manager"]["value"] == manager_id
    assert any(e["type"] == "work" for e in patched["emails"])
    name = f"Entra Group {suffix}"
    group = scim.expect(
        201,
        "POST",
        "/Groups",
        {"schemas": [GROUP], "displayName": name, "externalId": uuid.uuid4().hex},
    )
    found = scim.expect(
        200, "GET", "/Groups", filter=f'displayName eq "{name}"', excludedAttributes="members"
    )
    assert found["Resources"][0]["id"] == group["id"]
    scim.expect(
        204,
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [
                {
                    "op": "Add",
                    "path": "members",
                    "value": [{"value": user_id}, {"value": manager_id}],
                }
            ],
        },
    )
    scim.expect(
        204,
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": manager_id}]}],
        },
    )
    disabled = scim.expect(
        200,
        "PATCH",
        f"/Users/{user_id}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    assert disabled["active"] is False
    scim.expect(204, "DELETE", f"/Users/{manager_id}")
    print("done: two users, a manager link, a group and its members, a disable and a delete")


if __name__ == "__main__":
    main()
