"""Refusals as SCIM Error responses (RFC 7644 §3.12): status, scimType, a detail saying why."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from store import credentials
from store.models.directory import User
from store.models.sign_in import ProvisioningCredential

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
COMMUNITY = "urn:rollcall:scim:schemas:extension:community:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
MEDIA_TYPE = "application/scim+json"
UNKNOWN_ID = "00000000-0000-0000-0000-00000000beef"


def error(response, status, scim_type=None):
    """The SCIM Error body of a response, checked against the status and scimType expected."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == MEDIA_TYPE
    body = response.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    return body


def ops(*operations):
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user_count(db):
    with db.transaction(write=False) as tx:
        return tx.scalar(select(func.count()).select_from(User))


class TestUniqueness:
    def test_duplicate_user_name_in_any_case_is_409(self, scim):
        scim.create_user("Jane.Doe")
        for name in ("Jane.Doe", "jane.doe", "JANE.DOE"):
            response = scim.post("/Users", {"schemas": [USER], "userName": name})
            body = error(response, 409, "uniqueness")
            assert "already taken" in body["detail"]

    def test_a_user_name_in_another_unicode_form_is_409(self, scim):
        """Compared by NFKC and case folding: fullwidth letters, or e + combining acute."""
        scim.create_user("amanda")
        scim.create_user("ren\u00e9")
        for name in ("\uff41\uff4d\uff41\uff4e\uff44\uff41", "RENE\u0301"):
            response = scim.post("/Users", {"schemas": [USER], "userName": name})
            error(response, 409, "uniqueness")
        found = scim.get("/Users", query_string={"filter": 'userName eq "\uff21MANDA"'})
        assert [u["userName"] for u in found.get_json()["Resources"]] == ["amanda"]

    def test_user_names_are_unique_across_accounts(self, scim, make_account, make_user):
        make_user(make_account(name="Elsewhere"), "taken.elsewhere")
        response = scim.post("/Users", {"schemas": [USER], "userName": "Taken.Elsewhere"})
        error(response, 409, "uniqueness")

    def test_renaming_onto_a_taken_user_name_is_409(self, scim):
        alice = scim.create_user("alice")
        patched = scim.patch(
            f"/Users/{alice['id']}",
            ops({"op": "replace", "path": "userName", "value": "MAIN.CONTACT"}),
        )
        error(patched, 409, "uniqueness")
        replaced = scim.put(
            f"/Users/{alice['id']}", {"schemas": [USER], "userName": "Main.Contact"}
        )
        error(replaced, 409, "uniqueness")
        assert scim.get(f"/Users/{alice['id']}").get_json() == alice

    def test_changing_only_the_case_of_ones_own_user_name_is_allowed(self, scim):
        alice = scim.create_user("alice")
        response = scim.patch(
            f"/Users/{alice['id']}", ops({"op": "replace", "path": "userName", "value": "Alice"})
        )
        assert response.status_code == 200
        assert response.get_json()["userName"] == "Alice"

    def test_duplicate_group_name_in_the_account_is_409(self, scim):
        response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "SUPER USER"})
        body = error(response, 409, "uniqueness")
        assert "already exists" in body["detail"]


class TestInvalidValue:
    @pytest.mark.parametrize(
        "body",
        [
            {"schemas": [USER], "title": "no userName"},
            {"schemas": [USER], "userName": "x" * 300},
            {"schemas": [USER], "userName": "q", "active": "maybe"},
            {"schemas": [USER], "userName": "q", "emails": [{"value": "not-an-email"}]},
            # Each has an @ but is no address a mail server takes (a real parser reads them).
            {"schemas": [USER], "userName": "q", "emails": [{"value": "a@@example.com"}]},
            {"schemas": [USER], "userName": "q", "emails": [{"value": "two words@example.com"}]},
            {"schemas": [USER], "userName": "q", "emails": [{"value": "x@nodot"}]},
            {"schemas": [USER], "userName": "q", "emails": [{"value": "a..b@example.com"}]},
            {"schemas": [USER], "userName": "q", "emails": [{"value": "<a@example.com>"}]},
            {"schemas": [USER], "userName": "q", COMMUNITY: {"profile": "optimization"}},
        ],
    )
    def test_bad_user_is_refused_and_nothing_is_written(self, db, scim, body):
        before = user_count(db)
        error(scim.post("/Users", body), 400, "invalidValue")
        assert user_count(db) == before

    def test_manager_must_be_a_user_of_the_account(self, scim):
        alice = scim.create_user("alice")
        path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
        for value in ({"value": "nope"}, {"value": UNKNOWN_ID}, {"value": alice["id"]}):
            response = scim.patch(
                f"/Users/{alice['id']}", ops({"op": "add", "path": path, "value": value})
            )
            error(response, 400, "invalidValue")

    def test_group_without_display_name(self, scim):
        error(scim.post("/Groups", {"schemas": [GROUP]}), 400, "invalidValue")


class TestInvalidSyntax:
    @pytest.mark.parametrize("raw", ["{bad json", "", "[]", '"text"', b"\xff\xfe"])
    def test_malformed_body(self, db, scim, raw):
        before = user_count(db)
        body = error(scim.post("/Users", raw), 400, "invalidSyntax")
        assert "JSON" in body["detail"]
        assert user_count(db) == before

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999999"])
    @pytest.mark.parametrize("path", ["/Users", "/Bulk"])
    def test_numbers_json_has_not(self, db, scim, path, constant):
        """Python's reader takes NaN and Infinity (1e999999 reads as Infinity); JSON has no
        such numbers, and the provisioning log, a JSON column, could not keep the request."""
        before = user_count(db)
        raw = f'{{"schemas":["{USER}"],"userName":"nan","x":{constant}}}'
        body = error(scim.post(path, raw), 400, "invalidSyntax")
        assert "JSON" in body["detail"]
        assert user_count(db) == before

    @pytest.mark.parametrize("depth", [40, 900, 5000])
    @pytest.mark.parametrize("path", ["/Users", "/Bulk", "/Users/.search"])
    def test_bodies_nested_too_deeply(self, db, scim, path, depth):
        nested = '{"a":' * depth + "1" + "}" * depth
        raw = f'{{"schemas":["{USER}"],"userName":"deep","title":{nested}}}'
        before = user_count(db)
        body = error(scim.post(path, raw), 400, "invalidSyntax")
        assert "nested" in body["detail"]
        assert user_count(db) == before

    def test_text_that_is_not_unicode(self, db, scim):
        alice = scim.create_user("alice")
        before = user_count(db)
        for raw in (f'{{"schemas":["{USER}"],"userName":"\\ud800"}}', '{"\\udfff": 1}'):
            error(scim.post("/Users", raw), 400, "invalidSyntax")
            error(scim.put(f"/Users/{alice['id']}", raw), 400, "invalidSyntax")
        assert user_count(db) == before

    @pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-le", "utf-32-be"])
    def test_misshapen_text_in_every_json_encoding(self, db, scim, encoding):
        """json.loads reads UTF-16 and UTF-32 as well: a NUL, half a character or deep nesting
        is refused in each, also when the half character comes as raw bytes."""
        before = user_count(db)
        deep = '{"a":' * 40 + "1" + "}" * 40
        for text in (
            f'{{"schemas":["{USER}"],"userName":"a\\u0000b"}}',
            f'{{"schemas":["{USER}"],"userName":"\\ud800"}}',
            f'{{"schemas":["{USER}"],"userName":"deep","title":{deep}}}',
        ):
            error(scim.post("/Users", text.encode(encoding)), 400, "invalidSyntax")
        raw = f'{{"schemas":["{USER}"],"userName":"'.encode() + b"\xed\xa0\x80" + b'"}'
        error(scim.post("/Users", raw), 400, "invalidSyntax")
        assert user_count(db) == before

    @pytest.mark.parametrize(
        "body",
        [
            {"userName": "a\x00b"},
            {"userName": "nul", "addresses": [{"country": "\x00"}]},
            {"userName": "nul", "id": "\x00"},
            {"userName": "nul", COMMUNITY: {"account": "a\x00"}},
            {"userName": "nul", "\x00": 1},
        ],
    )
    def test_text_holding_nul(self, db, scim, body):
        """No database column takes NUL (PostgreSQL refuses it outright), so no body may."""
        alice = scim.create_user("alice")
        before = user_count(db)
        for response in (
            scim.post("/Users", {"schemas": [USER], **body}),
            scim.put(f"/Users/{alice['id']}", {"schemas": [USER], **body}),
        ):
            assert "NUL" in error(response, 400, "invalidSyntax")["detail"]
        assert user_count(db) == before

    def test_a_number_of_thousands_of_digits(self, db, scim):
        before = user_count(db)
        raw = f'{{"schemas":["{USER}"],"userName":"big","x":{"9" * 5000}}}'
        for path in ("/Users", "/Bulk", "/.search"):
            error(scim.post(path, raw), 400, "invalidSyntax")
        assert user_count(db) == before

    def test_unknown_attribute(self, scim):
        response = scim.post("/Users", {"schemas": [USER], "userName": "q", "shoeSize": 42})
        body = error(response, 400, "invalidSyntax")
        assert "shoeSize" in body["detail"]

    def test_malformed_patch_body(self, scim):
        alice = scim.create_user("alice")
        error(scim.patch(f"/Users/{alice['id']}", "nope"), 400, "invalidSyntax")

    @pytest.mark.parametrize(
        ("path", "value"), [("title", 42), ("active", {}), ("name", "Ada"), ("emails", 7)]
    )
    def test_a_patch_value_of_the_wrong_type_is_explained_in_a_sentence(self, scim, path, value):
        alice = scim.create_user("alice")
        response = scim.patch(
            f"/Users/{alice['id']}", ops({"op": "replace", "path": path, "value": value})
        )
        detail = error(response, 400, "invalidValue")["detail"]
        assert "pydantic" not in detail and "validation error" not in detail
        assert path in detail


class TestPaths:
    def test_unknown_path_is_invalid_path(self, scim):
        alice = scim.create_user("alice")
        response = scim.patch(
            f"/Users/{alice['id']}", ops({"op": "replace", "path": "shoeSize", "value": "42"})
        )
        error(response, 400, "invalidPath")

    def test_malformed_path_is_invalid_path(self, scim):
        alice = scim.create_user("alice")
        response = scim.patch(
            f"/Users/{alice['id']}",
            ops({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}),
        )
        error(response, 400, "invalidPath")

    @pytest.mark.parametrize(
        "path",
        ["id", "meta.created", "groups", f"{COMMUNITY}:account", f"{COMMUNITY}:lastLogin"],
    )
    def test_read_only_attribute_is_mutability(self, scim, path):
        alice = scim.create_user("alice")
        value = [{"value": UNKNOWN_ID}] if path == "groups" else "x"
        if path.endswith("lastLogin"):
            value = "2026-01-01T00:00:00Z"
        response = scim.patch(
            f"/Users/{alice['id']}", ops({"op": "replace", "path": path, "value": value})
        )
        error(response, 400, "mutability")
        assert scim.get(f"/Users/{alice['id']}").get_json() == alice


class TestNoTarget:
    def test_remove_without_path_is_no_target(self, scim):
        alice = scim.create_user("alice")
        error(scim.patch(f"/Users/{alice['id']}", ops({"op": "remove"})), 400, "noTarget")

    @pytest.mark.parametrize("op", ["replace", "add"])
    def test_filter_that_selects_nothing_and_describes_no_value_is_no_target(self, scim, op):
        """RFC 7644 §3.5.2.3: a value filter with no match is noTarget. (Rollcall creates the
        value an eq filter describes, as Entra ID expects; a `co` filter describes none.)"""
        alice = scim.create_user("alice")
        response = scim.patch(
            f"/Users/{alice['id']}",
            ops({"op": op, "path": 'emails[value co "nomatch"].type', "value": "home"}),
        )
        error(response, 400, "noTarget")
        assert scim.get(f"/Users/{alice['id']}").get_json() == alice

    def test_remove_on_a_filter_that_matches_nothing_succeeds_unchanged(self, scim):
        """RFC 7644 §3.5.2.2: removing a value that is not there changes nothing and succeeds."""
        alice = scim.create_user("alice")
        response = scim.patch(
            f"/Users/{alice['id']}", ops({"op": "remove", "path": 'emails[type eq "pager"]'})
        )
        assert response.status_code == 200
        assert response.get_json() == alice

    def test_removing_a_member_that_is_not_there_succeeds_unchanged(self, scim):
        group = scim.create_group("Team")
        response = scim.patch(
            f"/Groups/{group['id']}",
            ops({"op": "remove", "path": f'members[value eq "{UNKNOWN_ID}"]'}),
        )
        assert response.status_code == 204
        assert scim.get(f"/Groups/{group['id']}").get_json() == group


class TestTooMany:
    def test_filter_of_more_than_fifty_comparisons(self, scim):
        terms = [f'userName eq "u{i}"' for i in range(51)]
        response = scim.get(f"/Users?{urlencode({'filter': ' or '.join(terms)})}")
        body = error(response, 400, "tooMany")
        assert "50" in body["detail"]
        within = scim.get(f"/Users?{urlencode({'filter': ' or '.join(terms[:50])})}")
        assert within.status_code == 200

    def test_comparisons_inside_value_paths_count(self, scim):
        inner = " or ".join(f'value eq "u{i}@example.com"' for i in range(51))
        response = scim.get(f"/Users?{urlencode({'filter': f'emails[{inner}]'})}")
        error(response, 400, "tooMany")


class TestPayloadTooLarge:
    LIMIT = 1_048_576

    def body_of_size(self, size):
        """A user whose nickName pads the JSON body to exactly `size` bytes."""
        empty = json.dumps({"schemas": [USER], "userName": "big", "nickName": ""})
        return json.dumps(
            {"schemas": [USER], "userName": "big", "nickName": "x" * (size - len(empty))}
        )

    def test_body_over_one_mebibyte_is_413(self, db, scim):
        before = user_count(db)
        body = error(scim.post("/Users", self.body_of_size(self.LIMIT + 1)), 413)
        assert "1048576" in body["detail"]
        assert user_count(db) == before

    def test_body_of_exactly_one_mebibyte_is_read(self, scim):
        body = self.body_of_size(self.LIMIT)
        assert len(body) == self.LIMIT
        # Read and validated (the nickName is too long for its column), not refused for size.
        detail = error(scim.post("/Users", body), 400, "invalidValue")["detail"]
        assert "nick" in detail.lower()


class TestNotFound:
    @pytest.mark.parametrize(
        ("path", "replacement"),
        [
            ("/Users", {"schemas": [USER], "userName": "x"}),
            ("/Groups", {"schemas": [GROUP], "displayName": "x"}),
        ],
    )
    def test_unknown_id(self, scim, path, replacement):
        url = f"{path}/{UNKNOWN_ID}"
        error(scim.get(url), 404)
        error(scim.put(url, replacement), 404)
        error(scim.patch(url, ops({"op": "replace", "path": "externalId", "value": "x"})), 404)
        error(scim.delete(url), 404)

    def test_other_spellings_of_an_id_name_no_resource(self, scim):
        alice = scim.create_user("alice")
        plain = alice["id"].replace("-", "")
        for spelling in (f"{{{alice['id']}}}", f"urn:uuid:{alice['id']}", plain):
            error(scim.get(f"/Users/{spelling}"), 404)
            error(scim.delete(f"/Users/{spelling}"), 404)
        assert scim.get(f"/Users/{alice['id']}").status_code == 200

    def test_unknown_route_under_the_base_is_a_scim_error(self, scim):
        error(scim.get("/Widgets"), 404)
        error(scim.get("/Users/a/b"), 404)

    def test_unsupported_method_is_a_scim_error(self, scim):
        error(scim.delete("/Users"), 405)

    def test_routes_outside_the_base_keep_plain_errors(self, app):
        response = app.test_client().get("/no/such/page")
        assert response.status_code == 404
        assert response.mimetype != MEDIA_TYPE


class TestUnauthorized:
    def test_no_token(self, scim_client):
        response = scim_client(None).get("/Users")
        body = error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Bearer" in body["detail"]

    @pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer rc_not-a-token"])
    def test_wrong_or_unknown_credentials(self, scim_client, header):
        response = scim_client(None).get("/Users", headers={"Authorization": header})
        error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_revoked_token(self, db, operator, scim, scim_client, make_token, enterprise):
        token = make_token(enterprise.account, "entra")
        assert scim_client(token).get("/Users").status_code == 200
        with db.transaction() as tx:
            credential = tx.scalar(
                select(ProvisioningCredential).where(ProvisioningCredential.name == "entra")
            )
            credentials.revoke_credential(tx, operator, credential.id)
        response = scim_client(token).post("/Users", {"schemas": [USER], "userName": "late"})
        body = error(response, 401)
        assert "revoked" in body["detail"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        # The other token of the account still works.
        assert scim.get('/Users?filter=userName eq "late"').get_json()["totalResults"] == 0


class TestDomainRefusals:
    def test_deactivating_the_last_main_contact_is_409(self, scim, enterprise):
        response = scim.patch(
            f"/Users/{enterprise.main.id}",
            ops({"op": "replace", "path": "active", "value": False}),
        )
        body = error(response, 409)
        assert "main contact" in body["detail"]
        assert scim.get(f"/Users/{enterprise.main.id}").get_json()["active"] is True

    def test_deleting_the_last_main_contact_is_409(self, scim, enterprise):
        body = error(scim.delete(f"/Users/{enterprise.main.id}"), 409)
        assert "main contact" in body["detail"]
        assert scim.get(f"/Users/{enterprise.main.id}").status_code == 200

    def test_granting_the_main_profile_with_a_tenant_token_is_403(self, scim):
        response = scim.post(
            "/Users", {"schemas": [USER], "userName": "wannabe", COMMUNITY: {"profile": "main"}}
        )
        body = error(response, 403)
        assert "support" in body["detail"]

    def test_removing_the_main_profile_with_a_tenant_token_is_403(self, scim, enterprise):
        response = scim.patch(
            f"/Users/{enterprise.main.id}",
            ops({"op": "replace", "path": f"{COMMUNITY}:profile", "value": "client"}),
        )
        error(response, 403)

    def test_creating_a_user_with_a_support_token_says_which_token_to_use(
        self, scim_client, make_token
    ):
        support = scim_client(make_token(None, "support"))
        body = error(
            support.post("/Users", {"schemas": [USER], "userName": "x"}), 400, "invalidValue"
        )
        assert "token of their account" in body["detail"]


@pytest.mark.parametrize("value", ["x", [5], [{"value": 5}], {"value": "a"}])
def test_malformed_member_values_are_invalid_values_not_faults(scim, value):
    group = scim.create_group("Malformed members")
    response = scim.patch(
        f"/Groups/{group['id']}",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": value}],
        },
    )
    assert response.status_code == 400
    assert response.get_json()["scimType"] in ("invalidValue", "invalidSyntax")


def test_a_host_header_naming_no_host_is_a_scim_error_and_changes_nothing(scim, db):
    """A Host with a label over 63 characters cannot be a host name (IDNA). Flask's routing
    refuses it before any view; the dispatcher leaves it to Flask rather than write first and
    fail at the Location header after."""
    headers = {"Host": "a" * 64 + ".example"}
    before = user_count(db)
    created = scim.post("/Users", {"schemas": [USER], "userName": "bad.host"}, headers=headers)
    assert "Host header" in error(created, 400)["detail"]
    error(scim.get("/Users", headers=headers), 400)
    error(scim.post("/Groups", {"schemas": [GROUP], "displayName": "G"}, headers=headers), 400)
    assert user_count(db) == before
