"""An Okta-style provisioning run against a local Rollcall.

    python examples/scim/okta_style.py --token TOKEN [--base-url http://127.0.0.1:8000/scim/v2]

The requests are shaped as Okta sends them: a filter lookup before every create, a full user
with `groups: []`, profile updates by PUT, deactivation by a PATCH without path, and group push.
"""

from __future__ import annotations

import uuid

from scim_http import connect

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def main() -> None:
    scim = connect(__doc__.splitlines()[0])
    login = f"okta.{uuid.uuid4().hex[:8]}@example.com"
    scim.expect(200, "GET", "/ServiceProviderConfig")
    found = scim.expect(
        200, "GET", "/Users", filter=f'userName eq "{login}"', startIndex="1", count="100"
    )
    assert found["totalResults"] == 0
    user = {
        "schemas": [CORE],
        "userName": login,
        "name": {"givenName": "Olive", "familyName": "Kapoor"},
        "emails": [{"primary": True, "value": login, "type": "work"}],
        "displayName": "Olive Kapoor",
        "locale": "en-US",
        "externalId": "00u" + uuid.uuid4().hex[:17],
        "groups": [],
        "active": True,
    }
    created = scim.expect(201, "POST", "/Users", user)
    user_id = created["id"]
    scim.expect(200, "GET", f"/Users/{user_id}")
    user["name"]["familyName"] = "Kapoor-Lee"
    user["title"] = "Practice Manager"
    replaced = scim.expect(200, "PUT", f"/Users/{user_id}", user)
    assert replaced["name"]["familyName"] == "Kapoor-Lee"
    group = scim.expect(
        201,
        "POST",
        "/Groups",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": f"Okta Push {uuid.uuid4().hex[:6]}",
            "members": [{"value": user_id, "display": login}],
        },
    )
    scim.expect(
        204,
        "PATCH",
        f"/Groups/{group['id']}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{user_id}"]'}],
        },
    )
    deactivated = scim.expect(
        200,
        "PATCH",
        f"/Users/{user_id}",
        {
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
    )
    assert deactivated["active"] is False
    print(f"done: {login} created, updated, pushed to a group and deactivated")


if __name__ == "__main__":
    main()
