"""A database outage on the pages people use: the site's page saying to try again, with 503 and
`Retry-After`, drawn without asking the database who is signed in. On PostgreSQL: the tests cut
a proxy to it."""

from __future__ import annotations

import re
from typing import Any

from rollcall.web.limits import limiter

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def assert_page_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "text/html"
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "Try again in a moment" in page and "Success Community" in page  # the site's layout


def test_a_page_answers_the_sites_page_to_try_again(app_via_proxy: Any, proxy: Any) -> None:
    client = app_via_proxy.test_client()
    with app_via_proxy.app_context():
        limiter.reset()  # counts of earlier tests' apps, kept in this process
    form = CSRF.search(client.get("/forgot-password").get_data(as_text=True))
    assert form is not None
    client.set_cookie("rollcall_sso", "a-session-token")  # whose, only the database knows
    proxy.cut()
    assert_page_unavailable(client.get("/profile"))
    # The form's own read fails first: the page is drawn without looking up the cookie's user.
    answer = client.post("/forgot-password", data={"csrf_token": form[1], "login": "someone"})
    assert_page_unavailable(answer)


def test_a_save_whose_commit_reply_is_lost_says_it_cannot_tell(
    app_via_proxy: Any, proxy: Any, db: Any, make_user: Any
) -> None:
    """The database committed, then the connection went before its reply: the page does not
    say the change was not made (it was), but that it cannot tell yet, and to look first."""
    from store.models.directory import User
    from tests.pages import Console

    person = make_user(None, "pat.person", given_name="Pat")
    console = Console(app_via_proxy, db, person)
    with app_via_proxy.app_context():
        limiter.reset()
    assert console.get("/profile").status_code == 200  # the session's first use noted
    proxy.cut_on_reply(b"COMMIT\x00")
    answer = console.post_form(
        "/profile", "basic", "/profile", given_name="Patricia", preferred_contact_method="email"
    )
    assert proxy.cuts_on_reply == 1
    assert_page_unavailable(answer)
    page = answer.get_data(as_text=True)
    assert "cannot tell yet whether it was saved" in page and "was not done" not in page
    with db.transaction(write=False) as tx:
        assert tx.get(User, person.id).given_name == "Patricia"
