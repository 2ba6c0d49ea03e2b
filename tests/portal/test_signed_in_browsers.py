"""Your sessions and applications: a person sees the browsers signed in to their account (where
from, since when, how, which applications they opened) and the applications that keep offline
access, and ends any of them from another browser; the applications are told by back-channel
logout and the ended tokens stop working."""

from __future__ import annotations

import queue
import re
from collections.abc import Iterator
from typing import Any

import jwt as pyjwt
import pytest

from store import clients
from tests.live import logout_receiver
from tests.oidc import Browser, code_for, signed_in

WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def receiver(provider: Any) -> Iterator[queue.Queue[str]]:
    """ICD-10's back-channel logout endpoint: the logout tokens it receives."""
    with logout_receiver() as (uri, received):
        with provider.db.transaction() as tx:
            clients.client_named(tx, provider.first_party.client_id).backchannel_logout_uri = uri
        yield received


def browser_of(provider: Any, user_agent: str) -> Browser:
    browser = Browser(provider.base)
    browser.session.headers["User-Agent"] = user_agent
    assert browser.sign_in("ada").status_code == 302
    return browser


def test_a_browser_signed_out_from_another_loses_its_sign_in_and_tokens(
    provider: Any, receiver: queue.Queue[str]
) -> None:
    rp = provider.first_party
    phone = browser_of(provider, IPHONE_SAFARI)
    code, verifier = code_for(provider, phone, rp, "openid")
    tokens = rp.exchange(code, verifier).json()
    sid = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})["sid"]
    desk = browser_of(provider, WINDOWS_CHROME)

    page = desk.get("/profile/sessions")
    assert page.status_code == 200
    assert "Safari on iPhone" in page.text and "Chrome on Windows</strong> (this browser)" in (
        page.text
    )
    assert "ICD-10" in page.text and "127.0.0.1" in page.text and "with password" in page.text

    forged = desk.post(f"/profile/sessions/{sid}", {})
    assert forged.status_code == 400 and rp.introspect(tokens["access_token"])["active"]

    ended = desk.submit(page, f"/profile/sessions/{sid}")
    assert ended.status_code == 302 and ended.headers["Location"] == "/profile/sessions"
    assert "That browser is signed out" in desk.get("/profile/sessions").text
    assert rp.introspect(tokens["access_token"])["active"] is False
    assert phone.get("/profile").status_code == 302  # sent to sign in again
    logout = pyjwt.decode(receiver.get(timeout=10), options={"verify_signature": False})
    assert logout["sid"] == sid and logout["sub"] == str(provider.ada.id)
    assert "Safari on iPhone" not in desk.get("/profile/sessions").text


def test_nobody_signs_out_someone_else_s_browser(provider: Any) -> None:
    bob = signed_in(provider, "bob")
    bobs_sid = next(iter(_session_ids(bob)))
    ada = signed_in(provider)
    page = ada.get("/profile/sessions")
    answer = ada.submit(page, f"/profile/sessions/{bobs_sid}")
    assert answer.status_code == 302
    assert "not signed in to your account" in ada.get("/profile/sessions").text
    assert bob.get("/profile").status_code == 200  # still signed in


def test_signing_this_browser_out_from_the_list_is_a_sign_out(provider: Any) -> None:
    browser = signed_in(provider)
    page = browser.get("/profile/sessions")
    (mine,) = _session_ids(browser)
    answer = browser.submit(page, f"/profile/sessions/{mine}")
    assert answer.status_code == 302 and answer.headers["Location"] == "/signin"
    assert browser.get("/profile").status_code == 302


def test_ending_offline_access_tells_the_application(
    provider: Any, receiver: queue.Queue[str]
) -> None:
    rp = provider.first_party
    browser = signed_in(provider)
    code, verifier = code_for(provider, browser, rp, "openid offline_access")
    tokens = rp.exchange(code, verifier).json()
    page = browser.get("/profile/sessions")
    assert "Applications that stay signed in" in page.text and "ICD-10" in page.text
    ended = browser.submit(page, f"/profile/offline-access/{rp.client_id}")
    assert ended.headers["Location"] == "/profile/sessions"
    assert rp.refresh(tokens["refresh_token"]).status_code == 400
    logout = pyjwt.decode(receiver.get(timeout=10), options={"verify_signature": False})
    assert logout["sub"] == str(provider.ada.id) and "sid" not in logout


def _session_ids(browser: Browser) -> list[str]:
    """The session ids the sign-out buttons of this browser's sessions page name."""
    text = browser.get("/profile/sessions").text
    return re.findall(r'action="/profile/sessions/([0-9a-f-]{36})"', text)
