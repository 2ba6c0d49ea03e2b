"""The sign-in page and the SSO session: the states of SPEC §2, lockout, sign-out."""

from __future__ import annotations

import re
import threading
from typing import Any

from sqlalchemy import select

from store import users
from store.models.directory import User
from store.models.logs import OutboxMessage
from tests.oidc import PASSWORD, Browser


def refusal(response: Any) -> str:
    assert response.status_code == 400
    return response.text


def same_page(page: str, *logins: str) -> str:
    """A refusal page without what differs by request: the login echoed, the CSRF token."""
    for login in logins:
        page = page.replace(f'value="{login}"', "")
    return re.sub(r'value="[^"]{40,}"', "", page)


def test_unknown_user_and_wrong_password_get_the_same_answer(provider: Any) -> None:
    browser = Browser(provider.base)
    unknown = refusal(browser.sign_in("nobody", PASSWORD))
    wrong = refusal(browser.sign_in("ada", "wrong password here"))
    assert "The username or password is not correct." in unknown
    assert same_page(unknown, "nobody") == same_page(wrong, "ada")


def test_sign_in_by_email_sets_a_secure_session_cookie(provider: Any) -> None:
    browser = Browser(provider.base)
    response = browser.sign_in("ADA@example.com")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "rollcall_sso=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = browser.get("/")
    assert "Your applications" in home.text and "ICD-10" in home.text
    assert 'href="/my-account"' in home.text  # Ada is a main contact


def test_home_offers_my_account_only_to_main_contacts(provider: Any) -> None:
    browser = Browser(provider.base)
    browser.sign_in("bob")
    home = browser.get("/")
    assert "Your applications" in home.text and "/my-account" not in home.text


def test_the_sixth_wrong_password_locks_and_mails(provider: Any) -> None:
    browser = Browser(provider.base)
    for attempt in range(6):
        assert "not correct" in refusal(browser.sign_in("bob", f"wrong password {attempt}"))
    right = refusal(browser.sign_in("bob", PASSWORD))  # even the right one now: locked
    assert "not correct" in right and "/forgot-password" in right
    with provider.db.transaction(write=False) as tx:
        assert tx.get(User, provider.bob.id).locked_at is not None
        queued = tx.scalars(select(OutboxMessage)).all()
        mails = [m for m in queued if m.payload.get("template") == "account_locked"]
        assert len(mails) == 1 and mails[0].payload["to"] == "bob@example.test"


def test_a_locked_account_answers_as_an_unknown_login_does(provider: Any) -> None:
    """Issue #19 item 7: six wrong passwords for an existing login, six for an unknown one, then
    a seventh for each: the pages are the same (the lock mail tells the owner, nobody else)."""
    pages: dict[str, list[str]] = {"bob": [], "nobody": []}
    for login, seen in pages.items():
        browser = Browser(provider.base)
        for attempt in range(7):
            seen.append(same_page(refusal(browser.sign_in(login, f"wrong {attempt}")), login))
    assert pages["bob"] == pages["nobody"]
    assert len(set(pages["bob"])) == 1


def test_a_correct_password_resets_the_count(provider: Any) -> None:
    browser = Browser(provider.base)
    for attempt in range(4):  # 4 + 1 + 5 sign-ins stay within the per-account rate limit
        browser.sign_in("bob", f"wrong password {attempt}")
    assert browser.sign_in("bob").status_code == 302
    browser = Browser(provider.base)
    for attempt in range(5):
        assert "not correct" in refusal(browser.sign_in("bob", f"wrong again {attempt}"))


def test_concurrent_wrong_passwords_lose_no_count(provider: Any) -> None:
    browsers = [Browser(provider.base) for _ in range(6)]
    threads = [
        threading.Thread(target=b.sign_in, args=("bob", f"wrong password {i}"))
        for i, b in enumerate(browsers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with provider.db.transaction(write=False) as tx:
        bob = tx.get(User, provider.bob.id)
        assert bob.failed_logins == 6 and bob.locked_at is not None


def test_not_enabled_offers_to_resend_the_link(provider: Any, make_user: Any) -> None:
    make_user(provider.account, "newcomer", password=PASSWORD, email_verified=False)
    page = refusal(Browser(provider.base).sign_in("newcomer"))
    assert "not enabled" in page and 'action="/verify/resend"' in page


def test_inactive_users_are_refused(provider: Any, operator: Any) -> None:
    with provider.db.transaction() as tx:
        users.deactivate(tx, operator, provider.bob.id)
    assert "deactivated" in refusal(Browser(provider.base).sign_in("bob"))


def test_deactivation_ends_the_browser_session(provider: Any, operator: Any) -> None:
    browser = Browser(provider.base)
    browser.sign_in("bob")
    assert "Your applications" in browser.get("/").text
    with provider.db.transaction() as tx:
        users.deactivate(tx, operator, provider.bob.id)
    assert "Your applications" not in browser.get("/").text


def test_sign_out_needs_a_post_and_ends_the_session(provider: Any) -> None:
    browser = Browser(provider.base)
    browser.sign_in("ada")
    confirm = browser.get("/signout")
    assert "Sign out" in confirm.text and "Your applications" in browser.get("/").text
    done = browser.submit(confirm, "/signout")
    assert "signed out" in done.text
    assert "Your applications" not in browser.get("/").text


def test_next_never_leaves_the_site(provider: Any) -> None:
    browser = Browser(provider.base)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        page = browser.get(f"/signin?next={target}")
        response = browser.sign_in("ada", page=page)
        assert response.headers["Location"] == "/"
        browser = Browser(provider.base)
