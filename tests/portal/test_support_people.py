"""Support's person page over HTTP: every person opens (a guest included), support resets,
attaches to an account and deactivates there, and nobody else reaches it."""

from __future__ import annotations

from typing import Any

from store.models.directory import User
from tests.pages import Console


def reload(db: Any, user_id: Any) -> User:
    with db.transaction(write=False) as tx:
        user = tx.get(User, user_id)
        assert user is not None
        return user


def test_support_works_with_a_guest_from_the_person_page(
    support_console: Console, db: Any, make_user: Any, make_account: Any
) -> None:
    make_account("Birch Health")
    guest = make_user(None, "gwen.guest", given_name="Gwen", family_name="Guest")
    found = support_console.get("/support?q=gwen").get_data(as_text=True)
    assert f'href="/support/users/{guest.id}"' in found
    page = support_console.get(f"/support/users/{guest.id}")
    assert page.status_code == 200 and "gwen.guest@example.test" in page.get_data(as_text=True)

    path = f"/support/users/{guest.id}"
    reset = support_console.post(f"{path}/reset-password", form_page=path)
    assert reset.status_code == 302
    attach = support_console.post(f"{path}/attach", {"account": "Birch Health"}, form_page=path)
    assert attach.status_code == 302
    assert reload(db, guest.id).profile == "client"
    unknown = support_console.post(f"{path}/attach", {"account": "Nowhere"}, form_page=path)
    assert unknown.status_code == 404  # already attached or not: the account is unknown
    shown = support_console.get(path).get_data(as_text=True)
    asks = shown[shown.index('<details class="confirm">') : shown.index("</details>")]
    assert "Deactivate gwen.guest</button>" in asks  # behind "Deactivate…", not one click
    support_console.post(f"{path}/deactivate", form_page=path)
    assert not reload(db, guest.id).active
    history = support_console.get(path).get_data(as_text=True)
    assert "attached to account" in history and "password reset sent" in history


def test_only_support_opens_a_person(main_console: Console, make_user: Any) -> None:
    guest = make_user(None, "hal.guest")
    assert main_console.get(f"/support/users/{guest.id}").status_code == 403
    refused = main_console.post(f"/support/users/{guest.id}/deactivate", form_page="/profile")
    assert refused.status_code == 403
