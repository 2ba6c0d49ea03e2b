"""Sign-out takes one click: every page's header carries the sign-out form itself, so its button
signs out without a confirm page, with or without JavaScript (issue #20)."""

from __future__ import annotations

import re

from tests.pages import Console

HEADER_FORM = re.compile(
    r'<form method="post" action="/signout"[^>]*>\s*'
    r'<input type="hidden" name="csrf_token" value="([^"]+)">\s*'
    r'<button type="submit"[^>]*>Sign out</button>'
)


def test_the_headers_sign_out_button_signs_out_at_once(app, db, enterprise):
    console = Console(app, db, enterprise.main)
    page = console.get("/profile")
    form = HEADER_FORM.search(page.text)
    assert form, "the header has no sign-out button"
    signed_out = console.client.post("/signout", data={"csrf_token": form.group(1)})
    assert signed_out.status_code == 200 and "signed out" in signed_out.text.lower()
    assert console.get("/profile").status_code == 302  # to the sign-in page
