"""Requests shaped the way Okta and Microsoft Entra ID really send them."""

from __future__ import annotations

from urllib.parse import urlencode

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTRA_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def ops(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def lookup(scim, scim_filter, path="/Users", **params):
    response = scim.get(f"{path}?{urlencode({'filter': scim_filter, **params})}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


class TestOkta:
    def test_looks_up_the_user_name_then_creates(self, scim):
        before = lookup(scim, 'userName eq "dana.diaz@example.com"', startIndex=1, count=100)
        assert before["totalResults"] == 0
        assert before["Resources"] == []
        created = scim.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": "dana.diaz@example.com",
                "name": {"givenName": "Dana", "familyName": "Diaz"},
                "emails": [{"primary": True, "value": "dana.diaz@example.com", "type": "work"}],
                "displayName": "Dana Diaz",
                "locale": "en-US",
                "externalId": "00u1abcd",
                "groups": [],
                "password": "Okta-Generated-Passw0rd!",
                "active": True,
            },
        )
        assert created.status_code == 201
        after = lookup(scim, 'userName eq "Dana.Diaz@example.com"', startIndex=1, count=100)
        assert [u["id"] for u in after["Resources"]] == [created.get_json()["id"]]

    def test_creates_and_updates_with_the_password_of_its_own_policy(self, scim):
        """Okta's SCIM test suite (and its default policy) uses 8-character passwords."""
        created = scim.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": "runscope.user@example.com",
                "name": {"givenName": "Run", "familyName": "Scope"},
                "emails": [{"primary": True, "value": "runscope@example.com", "type": "work"}],
                "password": "1mz050nq",
                "active": True,
            },
        )
        assert created.status_code == 201, created.get_json()
        url = f"/Users/{created.get_json()['id']}"
        changed = scim.patch(url, ops({"op": "replace", "value": {"password": "7hx1kq2w"}}))
        assert changed.status_code == 200
        too_short = scim.patch(url, ops({"op": "replace", "value": {"password": "7hx1kq2"}}))
        assert too_short.status_code == 400
        assert too_short.get_json()["scimType"] == "invalidValue"
        assert "8 to 1024 characters" in too_short.get_json()["detail"]

    def test_deactivates_with_a_path_less_replace_and_the_user_stays_listed(self, scim):
        dana = scim.create_user("dana")
        response = scim.patch(
            f"/Users/{dana['id']}", ops({"op": "replace", "value": {"active": False}})
        )
        assert response.status_code == 200
        assert response.get_json()["active"] is False
        # Deactivation is not deletion: the user is still there, inactive.
        found = lookup(scim, 'userName eq "dana"')["Resources"]
        assert [(u["id"], u["active"]) for u in found] == [(dana["id"], False)]
        assert scim.get(f"/Users/{dana['id']}").get_json()["active"] is False
        reactivated = scim.patch(
            f"/Users/{dana['id']}", ops({"op": "replace", "value": {"active": True}})
        )
        assert reactivated.get_json()["active"] is True

    def test_replaces_a_user_with_put(self, scim):
        dana = scim.create_user("dana", name={"givenName": "Dana"})
        response = scim.put(
            f"/Users/{dana['id']}",
            {
                "schemas": [USER],
                "id": dana["id"],
                "userName": "dana",
                "name": {"givenName": "Dana", "familyName": "Diaz"},
                "emails": [{"primary": True, "value": "dana@example.com", "type": "work"}],
                "active": False,
                "groups": [],
            },
        )
        assert response.status_code == 200
        body = response.get_json()
        assert body["active"] is False
        assert body["name"] == {"givenName": "Dana", "familyName": "Diaz"}

    def test_pushes_group_members_with_add_and_remove(self, scim):
        dana, eli = scim.create_user("dana"), scim.create_user("eli")
        group = scim.create_group("Okta Push")
        url = f"/Groups/{group['id']}"
        added = scim.patch(
            url,
            ops(
                {
                    "op": "add",
                    "path": "members",
                    "value": [{"value": dana["id"], "display": "dana"}, {"value": eli["id"]}],
                }
            ),
        )
        assert added.status_code == 204
        removed = scim.patch(
            url, ops({"op": "remove", "path": f'members[value eq "{dana["id"]}"]'})
        )
        assert removed.status_code == 204
        members = scim.get(url).get_json()["members"]
        assert [m["value"] for m in members] == [eli["id"]]


class TestEntra:
    def test_creates_a_user_the_way_entra_does(self, scim, enterprise):
        response = scim.post(
            "/Users",
            {
                "schemas": [USER, ENTERPRISE],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_ab6490ee@contoso.com",
                "active": True,
                "emails": [{"primary": True, "type": "work", "value": "ab6490ee@contoso.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Ada Byron", "familyName": "Byron", "givenName": "Ada"},
                "roles": [],
                ENTERPRISE: {"department": "Finance", "manager": str(enterprise.main.id)},
            },
        )
        assert response.status_code == 201
        user = response.get_json()
        assert user[ENTERPRISE]["manager"]["value"] == str(enterprise.main.id)
        assert user[ENTERPRISE]["department"] == "Finance"
        by_external_id = lookup(scim, 'externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')
        assert [u["id"] for u in by_external_id["Resources"]] == [user["id"]]

    def test_capitalised_operations_and_string_booleans(self, scim):
        ada = scim.create_user("ada")
        response = scim.patch(
            f"/Users/{ada['id']}",
            ops(
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "path": "title", "value": "Analyst"},
            ),
        )
        assert response.status_code == 200
        body = response.get_json()
        assert body["active"] is False
        assert body["title"] == "Analyst"
        again = scim.patch(
            f"/Users/{ada['id']}", ops({"op": "Replace", "value": {"active": "True"}})
        )
        assert again.get_json()["active"] is True
        removed = scim.patch(f"/Users/{ada['id']}", ops({"op": "Remove", "path": "title"}))
        assert "title" not in removed.get_json()

    def test_adds_a_work_email_to_a_user_without_one(self, scim):
        ada = scim.create_user("ada", emails=[{"value": "ada@home.example.com", "type": "home"}])
        response = scim.patch(
            f"/Users/{ada['id']}",
            ops({"op": "Add", "path": 'emails[type eq "work"].value', "value": "ada@contoso.com"}),
        )
        assert response.status_code == 200
        emails = {e["type"]: e["value"] for e in response.get_json()["emails"]}
        assert emails == {"home": "ada@home.example.com", "work": "ada@contoso.com"}
        found = lookup(scim, 'emails[type eq "work" and value eq "ada@contoso.com"]')
        assert [u["id"] for u in found["Resources"]] == [ada["id"]]

    def test_replaces_the_work_email_through_its_filter(self, scim):
        ada = scim.create_user("ada")
        response = scim.patch(
            f"/Users/{ada['id']}",
            ops(
                {
                    "op": "Replace",
                    "path": 'emails[type eq "work"].value',
                    "value": "ada.new@contoso.com",
                }
            ),
        )
        assert [e["value"] for e in response.get_json()["emails"]] == ["ada.new@contoso.com"]

    def test_clears_emails_and_phone_numbers_through_their_filters(self, scim):
        """Microsoft's SCIM validator (null update test) and an admin emptying a user's mail,
        mobile or fax in Entra ID: the value replaced by "" or null, or removed."""
        ada = scim.create_user(
            "ada",
            displayName="Ada",
            emails=[
                {"value": "ada@contoso.com", "type": "work", "primary": True},
                {"value": "ada@home.example.com", "type": "home"},
            ],
            phoneNumbers=[
                {"value": "+1 555 0100", "type": "work"},
                {"value": "+1 555 0101", "type": "mobile"},
                {"value": "+1 555 0102", "type": "fax"},
            ],
        )
        response = scim.patch(
            f"/Users/{ada['id']}",
            ops(
                {"op": "Replace", "path": "displayName", "value": ""},
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": ""},
                {"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": ""},
                {"op": "Replace", "path": 'phoneNumbers[type eq "mobile"].value', "value": None},
                {"op": "Remove", "path": 'phoneNumbers[type eq "fax"].value'},
            ),
        )
        assert response.status_code == 200, response.get_json()
        body = scim.get(f"/Users/{ada['id']}").get_json()
        assert "displayName" not in body and "phoneNumbers" not in body
        assert [e["type"] for e in body["emails"]] == ["home"]
        removed = scim.patch(
            f"/Users/{ada['id']}", ops({"op": "Remove", "path": 'emails[type eq "home"].value'})
        )
        assert removed.status_code == 200
        assert "emails" not in scim.get(f"/Users/{ada['id']}").get_json()

    def test_removes_the_manager_it_names(self, scim, enterprise):
        ada, boss = scim.create_user("ada"), scim.create_user("boss")
        path = f"{ENTERPRISE}:manager"
        for value in ([{"value": boss["id"]}], {"value": boss["id"]}, boss["id"]):
            scim.patch(f"/Users/{ada['id']}", ops({"op": "Add", "path": path, "value": boss["id"]}))
            removed = scim.patch(
                f"/Users/{ada['id']}", ops({"op": "Remove", "path": path, "value": value})
            )
            assert removed.status_code == 200, removed.get_json()
            assert ENTERPRISE not in removed.get_json()

    def test_sends_the_manager_as_a_bare_id(self, scim, enterprise):
        ada, boss = scim.create_user("ada"), scim.create_user("boss")
        path = f"{ENTERPRISE}:manager"
        response = scim.patch(
            f"/Users/{ada['id']}", ops({"op": "Add", "path": path, "value": boss["id"]})
        )
        assert response.status_code == 200
        assert response.get_json()[ENTERPRISE]["manager"]["value"] == boss["id"]
        replaced = scim.patch(
            f"/Users/{ada['id']}",
            ops({"op": "Replace", "value": {path: str(enterprise.main.id)}}),
        )
        assert replaced.get_json()[ENTERPRISE]["manager"]["value"] == str(enterprise.main.id)
        found = lookup(scim, f'{ENTERPRISE}:manager.value eq "{enterprise.main.id}"')
        assert [u["id"] for u in found["Resources"]] == [ada["id"]]
        removed = scim.patch(f"/Users/{ada['id']}", ops({"op": "Remove", "path": path}))
        assert ENTERPRISE not in removed.get_json()

    def test_dotted_keys_in_a_path_less_value(self, scim):
        ada = scim.create_user("ada", name={"givenName": "Ada", "familyName": "Byron"})
        response = scim.patch(
            f"/Users/{ada['id']}",
            ops(
                {
                    "op": "Replace",
                    "value": {
                        "name.givenName": "Augusta",
                        "name.formatted": "Augusta Byron",
                        "displayName": "Augusta",
                    },
                }
            ),
        )
        assert response.status_code == 200
        body = response.get_json()
        assert body["name"] == {
            "givenName": "Augusta",
            "familyName": "Byron",
            "formatted": "Augusta Byron",
        }
        assert body["displayName"] == "Augusta"

    def test_creates_a_group_with_its_legacy_schema_marker(self, scim):
        response = scim.post(
            "/Groups",
            {
                "schemas": [GROUP, ENTRA_GROUP],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Group1DisplayName",
                "meta": {"resourceType": "Group"},
            },
        )
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["schemas"] == [GROUP]

    def test_looks_groups_up_without_members(self, scim):
        ada = scim.create_user("ada")
        group = scim.create_group("Finance", [ada["id"]])
        body = lookup(scim, 'displayName eq "Finance"', "/Groups", excludedAttributes="members")
        assert [g["id"] for g in body["Resources"]] == [group["id"]]
        assert "members" not in body["Resources"][0]
        one = scim.get(f"/Groups/{group['id']}?excludedAttributes=members").get_json()
        assert "members" not in one

    def test_looks_groups_up_by_external_id(self, scim):
        response = scim.post(
            "/Groups", {"schemas": [GROUP], "displayName": "Finance", "externalId": "Ext-G1"}
        )
        body = lookup(scim, 'externalId eq "Ext-G1"', "/Groups")
        assert [g["id"] for g in body["Resources"]] == [response.get_json()["id"]]
        assert lookup(scim, 'externalId eq "ext-g1"', "/Groups")["totalResults"] == 0

    def test_removes_members_by_filter_and_by_value(self, scim):
        ada, bea, cy = scim.create_user("ada"), scim.create_user("bea"), scim.create_user("cy")
        group = scim.create_group("Finance", [ada["id"], bea["id"], cy["id"]])
        url = f"/Groups/{group['id']}"
        by_filter = scim.patch(
            url, ops({"op": "Remove", "path": f'members[value eq "{ada["id"]}"]'})
        )
        assert by_filter.status_code == 204
        by_value = scim.patch(
            url, ops({"op": "Remove", "path": "members", "value": [{"value": bea["id"]}]})
        )
        assert by_value.status_code == 204
        assert [m["value"] for m in scim.get(url).get_json()["members"]] == [cy["id"]]

    def test_adds_members_and_renames_in_one_request(self, scim):
        ada, bea = scim.create_user("ada"), scim.create_user("bea")
        group = scim.create_group("Finance")
        response = scim.patch(
            f"/Groups/{group['id']}",
            ops(
                {"op": "Replace", "path": "displayName", "value": "Finance EMEA"},
                {"op": "Add", "path": "members", "value": [{"value": ada["id"]}]},
                {"op": "Add", "path": "members", "value": [{"value": bea["id"]}]},
            ),
        )
        assert response.status_code == 204
        body = scim.get(f"/Groups/{group['id']}").get_json()
        assert body["displayName"] == "Finance EMEA"
        assert sorted(m["value"] for m in body["members"]) == sorted([ada["id"], bea["id"]])
