"""Refusals name fields as the page labels them ("First Name"), never by the store's names
(`given_name`) (issue #20)."""

from __future__ import annotations

import html
import re

from tests.pages import form_of


def test_a_refused_first_name_is_called_first_name(main_console, enterprise, make_user):
    user = make_user(enterprise.account, "bea", given_name="Bea")
    path = f"/accounts/{enterprise.account.id}/users/{user.id}"
    response = main_console.post(path, form_of(user, given_name="Bea\x07", family_name="Ok"))
    assert response.status_code == 400
    text = html.unescape(re.sub(r"<[^>]*>", "", response.text))  # what the page shows
    assert "First Name must not contain control characters." in text
    assert "given_name" not in text
    response = main_console.post(path, form_of(user, family_name="Ok\x01"))
    assert "Last Name must not contain control characters." in html.unescape(response.text)
