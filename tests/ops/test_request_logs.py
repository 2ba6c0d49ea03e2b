"""With ROLLCALL_LOG_FORMAT=json every request is one JSON line with its id (echoed in
X-Request-ID), door, route pattern, status and duration, and SCIM's account and token name; and
no secret reaches the log: not a token, a password, a link's token nor a cookie."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from rollcall.app import create_app
from rollcall.settings import Settings
from store import links
from store.db import Database

PASSWORD = "Tr0ub4dor-and-3-horses"


@pytest.fixture
def json_app(db: Database) -> Any:
    return create_app(Settings(database_url=db.url, log_format="json", dispatch=True), db)


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_each_request_is_one_line_and_no_secret_is_logged(
    json_app: Any, db: Database, enterprise: Any, make_token: Any, capfd: Any
) -> None:
    token = make_token(enterprise.account, "okta")
    client = json_app.test_client()
    bearer = {"Authorization": f"Bearer {token}", "X-Request-ID": "idp-call-42"}
    created = client.post(
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "logged",
            "password": PASSWORD,
            "emails": [{"value": "logged@example.com", "primary": True}],
        },
        headers=bearer,
    )
    assert created.status_code == 201 and created.headers["X-Request-ID"] == "idp-call-42"
    user_id = created.json["id"]
    no_password = client.post(  # its sign-in mail holds a link to choose one
        "/scim/v2/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "linked",
            "emails": [{"value": "linked@example.com", "primary": True}],
        },
        headers=bearer,
    )
    assert no_password.status_code == 201
    read = client.get(f"/scim/v2/Users/{user_id}", headers={"Authorization": f"Bearer {token}"})
    assert re.fullmatch(r"[0-9a-f]{32}", read.headers["X-Request-ID"])
    odd = client.get("/health/live", headers={"X-Request-ID": "two words; forged"})
    assert odd.headers["X-Request-ID"] != "two words; forged"

    with db.transaction() as tx:
        user = tx.get(type(enterprise.main), enterprise.main.id)
        link_token = links.issue(tx, user, links.RESET_PASSWORD)
    client.get(f"/reset/{link_token}")
    page = client.get("/signin")
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    client.post("/signin", data={"csrf_token": csrf, "login": "logged", "password": PASSWORD})
    cookies = [c.value for n in ("rollcall_sso", "rollcall_session") if (c := client.get_cookie(n))]
    assert len(cookies) == 2

    output = capfd.readouterr().err
    logged = lines(output)
    by_route = {(e.get("method"), e.get("route")): e for e in logged if "route" in e}
    create = by_route[("POST", "/scim/v2/Users")]
    assert create["status"] == 201 and create["door"] == "scim"
    assert create["request_id"] == "idp-call-42" and create["token"] == "okta"
    assert create["account"] == str(enterprise.account.id)
    assert create["duration_ms"] >= 0 and create["level"] == "info"
    assert by_route[("GET", "/scim/v2/Users/<id>")]["status"] == 200
    assert by_route[("GET", "/reset/<token>")]["door"] == "pages"
    assert by_route[("POST", "/signin")]["door"] == "pages"
    for secret in (token, PASSWORD, link_token, *cookies):
        assert secret not in output, secret
    assert "Authorization" not in output
    assert "linked@example.com" in output  # the mail was sent, and said so
    assert not re.search(r"/(set-password|reset|verify)/[A-Za-z0-9_-]{16,}", output)


def test_text_lines_name_the_request_too(db: Database, capfd: Any) -> None:
    app = create_app(Settings(database_url=db.url, log_format="text", log_level="INFO"), db)
    app.test_client().get("/health/live", headers={"X-Request-ID": "probe-1"})
    output = capfd.readouterr().err
    assert "GET /health/live 200" in output and "request_id=probe-1" in output


def test_the_log_format_is_checked() -> None:
    with pytest.raises(ValueError, match="ROLLCALL_LOG_FORMAT"):
        Settings.from_env({"ROLLCALL_LOG_FORMAT": "xml"})
