"""Second factors at the portal's pages over HTTP: the profile's Security page (set up and remove
an authenticator app, new recovery codes; the password asked when the sign-in is not recent),
the console's policy form for main contacts, and support's switch and reset."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from store import audit, mfa, mfa_policy
from store.db import now
from store.models.directory import User
from store.models.sign_in import SsoSession
from tests.authenticator_app import Authenticator, enrol
from tests.pages import Console

PASSWORD = "harbor willow sixty two"


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def methods(db: Any, user: User) -> set[str]:
    with db.transaction(write=False) as tx:
        return mfa.methods_of(tx, user)


def test_a_person_sets_up_an_app_on_the_security_page(
    app: Any, db: Any, enterprise: Any, make_user: Any
) -> None:
    pat = make_user(enterprise.account, "pat.person", password=PASSWORD, email_verified=True)
    console = Console(app, db, pat)
    page = text(console.get("/profile/security"))
    assert "Authenticator app</dt><dd>Off" in page
    assert 'href="/profile/security"' in text(console.get("/profile"))

    setup = text(console.get("/profile/security/authenticator"))
    assert "<svg" in setup and "Current password" not in setup  # signed in just now
    secret = html.unescape(re.search(r'id="totp-secret">([^<]+)<', setup).group(1))
    authenticator = Authenticator(secret)
    path = "/profile/security/authenticator"
    wrong = console.post_form(path, "totp", path, code=authenticator.wrong_code())
    assert wrong.status_code == 400 and "does not match" in text(wrong)
    done = console.post_form(path, "totp", path, code=authenticator.code())
    assert done.status_code == 200 and "Save your recovery codes" in text(done)
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", text(done))
    assert len(codes) == 10
    assert methods(db, pat) == {"totp", "recovery_codes"}
    page = text(console.get("/profile/security"))
    assert "Authenticator app</dt><dd>On" in page and "10 left" in page

    renewed = console.post_form("/profile/security/recovery-codes", "codes", "/profile/security")
    fresh = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", text(renewed))
    assert len(fresh) == 10 and not set(fresh) & set(codes)


def test_a_stale_sign_in_needs_the_password_to_remove_the_app(
    app: Any, db: Any, enterprise: Any, make_user: Any
) -> None:
    pat = make_user(enterprise.account, "pat.person", password=PASSWORD, email_verified=True)
    enrol(db, pat)
    console = Console(app, db, pat)
    with db.transaction() as tx:
        tx.execute(update(SsoSession).values(auth_time=now() - timedelta(hours=1)))
    page = text(console.get("/profile/security"))
    assert "Current password" in page
    path = "/profile/security/authenticator/remove"
    bare = console.post_form(path, "remove", "/profile/security")
    assert bare.status_code == 400 and "Type your current password" in text(bare)
    wrong = console.post_form(path, "remove", "/profile/security", current_password="nope")
    assert wrong.status_code == 400 and "not correct" in text(wrong)
    assert methods(db, pat) == {"totp", "recovery_codes"}
    right = console.post_form(path, "remove", "/profile/security", current_password=PASSWORD)
    assert right.status_code == 302
    assert methods(db, pat) == set()


def test_main_contacts_set_the_policy_in_the_console(
    main_console: Console, app: Any, db: Any, enterprise: Any, make_user: Any
) -> None:
    path = f"/accounts/{enterprise.account.id}/security"
    page = text(main_console.get(path))
    assert "Sign-in Security" in page and 'checked id="policy-0"' in page
    bad = main_console.post(path, {"policy": "sometimes"})
    assert bad.status_code == 400
    saved = main_console.post(path, {"policy": "main_contacts"})
    assert saved.status_code == 302
    with db.transaction(write=False) as tx:
        assert mfa.required_for(tx, tx.get(User, enterprise.main.id))
    # Now required of them, her password-only session gives a second factor before the next
    # page (so it cannot turn the policy back down without one).
    again = main_console.get(path)
    assert again.status_code == 302
    assert again.headers["Location"].startswith("/signin/second-factor?next=")

    client = make_user(enterprise.account, "cal.client", profile="client")
    assert Console(app, db, client).get(path).status_code == 403


def test_support_requires_a_second_factor_everywhere(
    support_console: Console, main_console: Console, db: Any
) -> None:
    assert "As each account" in text(support_console.get("/support/security"))
    assert main_console.get("/support/security").status_code == 403
    saved = support_console.post("/support/security", {"required": "yes"})
    assert saved.status_code == 302
    with db.transaction(write=False) as tx:
        assert mfa_policy.required_everywhere(tx)
    for console in (support_console, main_console):  # nobody goes on without a second factor
        assert console.get("/profile").headers["Location"].startswith("/signin/second-factor")


def test_support_resets_a_persons_factors(
    support_console: Console, db: Any, enterprise: Any, make_user: Any
) -> None:
    pat = make_user(enterprise.account, "pat.person", password=PASSWORD, email_verified=True)
    enrol(db, pat)
    path = f"/support/users/{pat.id}"
    page = text(support_console.get(path))
    assert "recovery codes, authenticator app" in page and "Reset second factors" in page
    reset = support_console.post(f"{path}/reset-second-factors", form_page=path)
    assert reset.status_code == 302
    assert methods(db, pat) == set()
    with db.transaction(write=False) as tx:
        actions = [e.action for e in audit.events_for(tx, "user", pat.id)]
    assert "user.second_factors_reset" in actions
    assert "second factors reset" in text(support_console.get(path))
