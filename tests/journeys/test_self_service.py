"""Each self-service flow walked in Chromium against a served Rollcall, mails caught by a real
SMTP server: registration's three choices, enabling and resending, forgotten username and
password, lockout and unlock by reset, and the profile's password and email changes."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from rollcall.mail import deliver_pending
from store import csc
from store.actors import Actor
from store.db import Database
from store.models.directory import User
from tests.browser import LiveServer, Page
from tests.mail import Mailbox

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"
NEW_PASSWORD = "copper kettle singing 7"


def register(page: Page, choice: str, **fields: str) -> None:
    page.open("/register")
    page.get_by_label(choice).check()
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    page.screenshot("register-filled")
    page.get_by_role("button", name="Register").click()


def follow(page: Page, url: str, button: str) -> None:
    page.open(url)
    page.screenshot("link-page")
    page.get_by_role("button", name=button).click()


def test_guest_registers_enables_the_account_and_signs_in(page: Page, mailbox: Mailbox) -> None:
    register(
        page,
        "I do not use NextGen software",
        **{
            "First name": "Gina",
            "Last name": "Guest",
            "Email address": "gina@example.com",
            "Username": "gina.guest",
            "Password": PASSWORD,
            "Password again": PASSWORD,
        },
    )
    assert page.heading() == "Check your email"
    page.screenshot("registered")

    page.sign_in("gina.guest", PASSWORD)
    assert "not enabled" in page.locator(".error-summary").inner_text()

    mail = mailbox.wait_for("gina@example.com", "Enable your")
    assert "gina.guest" in mail.text and mail.html is not None
    follow(page, mail.link("/verify/"), "Enable my account")
    assert page.heading() == "Your account is enabled"
    page.screenshot("enabled")

    page.sign_in("gina.guest", PASSWORD)
    assert page.locator("header .who").inner_text() == "Gina Guest"
    page.screenshot("signed-in")


def test_registration_refuses_weak_passwords_with_an_error_summary(page: Page) -> None:
    register(
        page,
        "I do not use NextGen software",
        **{
            "First name": "Wes",
            "Last name": "Weak",
            "Email address": "wes@example.com",
            "Username": "wes.weak",
            "Password": "Password123!",
            "Password again": "Password123!",
        },
    )
    summary = page.locator(".error-summary")
    assert "too common" in summary.inner_text()
    page.screenshot("weak-password")
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "password"


def test_client_support_center_user_registers_with_that_login(
    page: Page, mailbox: Mailbox, db: Database
) -> None:
    with db.transaction() as tx:
        csc.import_csv(
            tx,
            Actor.system(),
            io.StringIO(f"username,password,email\nCarl.CSC,{PASSWORD},carl@example.com\n"),
        )
    page.open("/register")
    page.get_by_label("I use NextGen software and have access to the Client Support Center").check()
    assert page.get_by_label("Username", exact=True).is_hidden()  # the CSC login is reused
    page.get_by_label("Client Support Center username").fill("carl.csc")
    page.get_by_label("Client Support Center password").fill("not the password at all")
    page.get_by_label("First name").fill("Carl")
    page.get_by_label("Last name").fill("Client")
    page.get_by_label("Email address").fill("carl@example.com")
    page.get_by_role("button", name="Register").click()
    assert "not correct" in page.locator(".error-summary").inner_text()
    page.screenshot("csc-refused")

    page.get_by_label("Client Support Center password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    assert page.heading() == "Check your email"

    mail = mailbox.wait_for("carl@example.com", "Enable your")
    follow(page, mail.link("/verify/"), "Enable my account")
    assert "Carl.CSC" in page.locator("main").inner_text()
    page.sign_in("Carl.CSC", PASSWORD)
    assert page.locator("header .who").inner_text() == "Carl Client"
    page.open("/profile")
    assert "Access granted" in page.locator("dl.facts").inner_text()


def test_registration_asking_for_csc_access_queues_a_request_decided_by_support(
    page: Page, mailbox: Mailbox, db: Database, live_server: LiveServer
) -> None:
    register(
        page,
        "I use NextGen software and would like access to the Client Support Center",
        **{
            "First name": "Rita",
            "Last name": "Request",
            "Organization": "Request Family Clinic",
            "Email address": "rita@example.com",
            "Username": "rita.request",
            "Password": PASSWORD,
            "Password again": PASSWORD,
        },
    )
    assert "72 hours" in page.locator("main").inner_text()
    with db.transaction() as tx:
        [(request, user)] = csc.open_requests(tx)
        assert user.user_name == "rita.request"
        csc.decide(tx, Actor.system(), request.id, approve=True, note="Welcome aboard")
    deliver_pending(db, live_server.app.config["ROLLCALL_SETTINGS"])  # as `rollcall mail send`
    mail = mailbox.wait_for("rita@example.com", "Client Support Center access")
    assert "approved" in mail.text and "Welcome aboard" in mail.text


def test_not_enabled_sign_in_sends_a_new_link_and_the_old_one_stops_working(
    page: Page, mailbox: Mailbox
) -> None:
    register(
        page,
        "I do not use NextGen software",
        **{
            "First name": "Nora",
            "Last name": "Notyet",
            "Email address": "nora@example.com",
            "Username": "nora.notyet",
            "Password": PASSWORD,
            "Password again": PASSWORD,
        },
    )
    first = mailbox.wait_for("nora@example.com", "Enable your")
    page.sign_in("nora@example.com", PASSWORD)
    page.screenshot("not-enabled")
    page.get_by_role("button", name="Send the verification link again").click()
    assert page.heading() == "Check your email"
    second = mailbox.wait_for("nora@example.com", "Enable your", count=2)

    page.open(first.link("/verify/"))
    assert page.heading() == "This link cannot be used"
    assert "newer mail" in page.locator("main").inner_text()
    page.screenshot("old-link-refused")

    follow(page, second.link("/verify/"), "Enable my account")
    assert page.heading() == "Your account is enabled"
    page.open(second.link("/verify/"))
    assert "already used" in page.locator("main").inner_text()


def test_forgot_username_mails_the_username(
    page: Page, mailbox: Mailbox, make_user: Callable[..., User]
) -> None:
    make_user(None, "fay.forgetful", emails=[{"value": "fay@example.com", "primary": True}])
    page.open("/signin")
    page.get_by_role("link", name="Forgot username").click()
    page.get_by_label("Email address").fill("fay@example.com")
    page.screenshot("forgot-username")
    page.get_by_role("button", name="Email me my username").click()
    assert page.heading() == "Check your email"
    mail = mailbox.wait_for("fay@example.com", "username")
    assert "fay.forgetful" in mail.text


def test_sixth_wrong_password_locks_and_a_reset_unlocks(
    page: Page, mailbox: Mailbox, make_user: Callable[..., User], db: Database
) -> None:
    make_user(
        None,
        "lou.locked",
        given_name="Lou",
        emails=[{"value": "lou@example.com", "primary": True}],
        password=PASSWORD,
        email_verified=True,
    )
    refusals = set()
    for attempt in range(1, 7):
        page.sign_in("lou.locked", f"wrong password number {attempt}")
        refusals.add(page.locator(".error-summary").inner_text())
    page.screenshot("locked")
    page.sign_in("lou.locked", PASSWORD)
    refusals.add(page.locator(".error-summary").inner_text())
    # The page says the same as for a wrong password: only the owner's mail says locked.
    assert len(refusals) == 1 and "not correct" in refusals.pop()
    locked_mail = mailbox.wait_for("lou@example.com", "locked")
    assert "/forgot-password" in locked_mail.text

    page.get_by_role("link", name="Reset your password").first.click()
    page.get_by_label("Username or email address").fill("lou.locked")
    page.get_by_role("button", name="Email me a reset link").click()
    assert page.heading() == "Check your email"
    reset = mailbox.wait_for("lou@example.com", "Reset your")
    page.open(reset.link("/reset/"))
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.screenshot("reset")
    page.get_by_role("button", name="Set my new password").click()
    assert "password is changed" in page.locator(".flashes").inner_text()
    mailbox.wait_for("lou@example.com", "password was changed")

    page.sign_in("lou.locked", NEW_PASSWORD)
    assert page.locator("header .who").is_visible()
    with db.transaction(write=False) as tx:
        user = tx.query(User).filter_by(user_name="lou.locked").one()
        assert user.locked_at is None and user.failed_logins == 0

    page.open(reset.link("/reset/"))
    assert "already used" in page.locator("main").inner_text()


def test_profile_edits_basic_information_password_and_email(
    page: Page, mailbox: Mailbox, make_user: Callable[..., User], db: Database
) -> None:
    make_user(
        None,
        "pat.profile",
        given_name="Pat",
        family_name="Profile",
        emails=[{"value": "pat@example.com", "primary": True}],
        password=PASSWORD,
        email_verified=True,
    )
    page.open("/profile")
    assert "/signin" in page.url
    page.get_by_label("Username or email").fill("pat.profile")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert page.heading() == "Your profile"
    page.screenshot("profile")

    basic = page.locator("#basic")
    basic.get_by_label("First name").fill("Patricia")
    basic.get_by_label("Phone").fill("+1 555 0100")
    basic.get_by_label("Preferred method of contact").select_option("phone")
    basic.get_by_role("button", name="Save").click()
    assert "saved" in page.locator(".flashes").inner_text()
    facts = page.locator("dl.facts").inner_text()
    assert "Patricia Profile" in facts and "+1 555 0100" in facts and "Phone" in facts

    change = page.locator("#password")
    change.get_by_label("Current password").fill("not my password at all")
    change.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    change.get_by_label("New password again").fill(NEW_PASSWORD)
    change.get_by_role("button", name="Change password").click()
    assert "current password is not correct" in page.locator("#password").inner_text()
    page.screenshot("wrong-current-password")
    change = page.locator("#password")
    change.get_by_label("Current password").fill(PASSWORD)
    change.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    change.get_by_label("New password again").fill(NEW_PASSWORD)
    change.get_by_role("button", name="Change password").click()
    assert "password is changed" in page.locator(".flashes").inner_text()
    mailbox.wait_for("pat@example.com", "password was changed")

    email = page.locator("#email")
    email.get_by_label("New email address").fill("patricia@example.org")
    email.get_by_label("Current password").fill(NEW_PASSWORD)
    email.get_by_role("button", name="Send confirmation link").click()
    assert "confirmation link" in page.locator(".flashes").inner_text()
    notice = mailbox.wait_for("pat@example.com", "new email address was requested")
    assert "patricia@example.org" in notice.text
    confirm = mailbox.wait_for("patricia@example.org", "Confirm your new")
    follow(page, confirm.link("/profile/email/"), "Confirm my new address")
    assert "now patricia@example.org" in page.locator(".flashes").inner_text()
    page.screenshot("email-changed")

    page.context.clear_cookies()
    page.sign_in("patricia@example.org", NEW_PASSWORD)
    assert page.locator("header .who").inner_text() == "Patricia Profile"
