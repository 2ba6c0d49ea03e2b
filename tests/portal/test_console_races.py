"""The console's saves racing other doors' changes to the same users and groups: each in a thread
of its own with its own transaction. (SQLite takes writers one at a time; PostgreSQL is where
they really overlap.)"""

from __future__ import annotations

import pytest

from store import accounts, users
from tests.pages import Console, form_of
from tests.racing import race

pytestmark = pytest.mark.slow  # racing requests in threads

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def test_role_saves_and_pushes_to_that_role_wait_for_each_other(
    app, db, enterprise, make_user, scim, operator
):
    """A main contact gives users a contact role while the identity provider pushes the same
    users into that role (a group): the save locks the role before the user, as the push does,
    so each waits for the other instead of both waiting for each other (a deadlock)."""
    people = [make_user(enterprise.account, f"role.{i}") for i in range(4)]
    with db.transaction(write=False) as tx:
        role = accounts.contact_role_groups(tx, enterprise.account.id)["Super User"].id
    saves = []
    for person in people:
        console = Console(app, db, enterprise.main)
        path = f"/accounts/{enterprise.account.id}/users/{person.id}"
        # Without the version the form was made from: a push first would make it stale (400).
        fields = form_of(person, contact_roles="Super User", version=None)
        saves.append((console, path, {"csrf_token": console.form_token(path), **fields}))

    def change(i: int) -> int:
        if i < len(saves):
            console, path, form = saves[i]
            return console.client.post(path, data=form).status_code
        person = people[i - len(saves)]
        operation = {"op": "add", "path": "members", "value": [{"value": str(person.id)}]}
        body = {"schemas": [PATCH_OP], "Operations": [operation]}
        return scim.patch(f"/Groups/{role}", body).status_code

    assert race(2 * len(people), change) == [302] * len(people) + [204] * len(people)
    with db.transaction(write=False) as tx:
        for person in people:
            assert users.contact_roles_of(users.get_user(tx, operator, person.id)) == ["Super User"]
