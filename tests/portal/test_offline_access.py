"""Offline access (refresh tokens) is a choice the person sees and can take back: it outlives a
sign-out, as the README says, is listed on the profile page and named on the sign-out page, and
ends from the profile."""

from __future__ import annotations

from typing import Any

from tests.oidc import code_for, signed_in


def test_offline_access_outlives_sign_out_is_shown_and_ends_from_the_profile(
    provider: Any,
) -> None:
    rp = provider.first_party
    browser = signed_in(provider)
    code, verifier = code_for(provider, browser, rp, "openid offline_access")
    tokens = rp.exchange(code, verifier).json()

    confirm = browser.get("/signout")
    assert "ICD-10" in confirm.text and 'href="/profile#applications"' in confirm.text
    assert "signed out" in browser.submit(confirm, "/signout").text
    assert rp.introspect(tokens["access_token"])["active"] is False  # the sign-in's own token
    refreshed = rp.refresh(tokens["refresh_token"])  # offline access: it outlives the sign-out
    assert refreshed.status_code == 200, refreshed.text
    latest = refreshed.json()

    browser = signed_in(provider)
    profile = browser.get("/profile")
    assert "Applications that stay signed in" in profile.text and "ICD-10" in profile.text
    forged = browser.post(f"/profile/offline-access/{rp.client_id}", {})
    assert forged.status_code == 400
    assert rp.introspect(latest["access_token"])["active"] is True

    ended = browser.submit(profile, f"/profile/offline-access/{rp.client_id}")
    assert ended.status_code == 302 and ended.headers["Location"] == "/profile#applications"
    assert rp.refresh(latest["refresh_token"]).status_code == 400
    assert rp.introspect(latest["access_token"])["active"] is False
    after = browser.get("/profile").text
    assert "no longer stays signed in" in after and "ICD-10" not in after


def test_without_offline_access_nothing_stays_signed_in(provider: Any) -> None:
    rp = provider.first_party
    browser = signed_in(provider)
    code, verifier = code_for(provider, browser, rp, "openid")
    assert "refresh_token" not in rp.exchange(code, verifier).json()
    assert "ICD-10" not in browser.get("/signout").text
    assert "ICD-10" not in browser.get("/profile").text
