"""Input no database stores answered with a page that says so, never a server fault, on SQLite
and PostgreSQL; and a page number too large for any database is a refusal."""

from __future__ import annotations

import re
from typing import Any

import pytest


def csrf(page: Any) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    assert found
    return found.group(1)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/register", "username"),
        ("/forgot-password", "login"),
        ("/forgot-username", "email"),
    ],
)
def test_a_nul_in_a_form_field_is_a_page_saying_so(app: Any, path: str, field: str) -> None:
    client = app.test_client()
    token = csrf(client.get(path))
    answer = client.post(path, data={"csrf_token": token, field: "a\x00b@example.com"})
    assert answer.status_code == 400
    assert "cannot be read" in answer.get_data(as_text=True)


def test_a_nul_in_a_query_parameter_is_a_page_saying_so(app: Any) -> None:
    answer = app.test_client().get("/signin?next=/profile%00")
    assert answer.status_code == 400


def test_an_audit_page_past_any_number_is_refused(support_console: Any) -> None:
    console = support_console
    assert console.get("/support/audit?before=5").status_code == 200
    answer = console.get("/support/audit?before=9223372036854775808")
    assert answer.status_code == 400
    assert "does not exist" in answer.get_data(as_text=True)
