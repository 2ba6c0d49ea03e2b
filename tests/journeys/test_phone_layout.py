"""Manage Users on a 390 px phone: the users table fits without scrolling the page sideways, and
a long address breaks at its @ and dots, not mid-word (issue #20)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from tests.browser import Page

pytestmark = pytest.mark.slow  # Chromium against a served Rollcall

PASSWORD = "lantern orchard 42 quietly"
LONG = "maximilian.alexandersson-whitfield@population-health.northern-clinics.test"


def test_the_users_table_fits_a_phone(page: Page, make_account: Any, make_user: Any) -> None:
    account = make_account("Northern Clinics")
    make_user(account, "mae.main", profile="main", password=PASSWORD, email_verified=True)
    make_user(
        account,
        "maximilian.alexandersson-whitfield",
        given_name="Maximilian",
        family_name="Alexandersson-Whitfield",
        emails=[{"value": LONG, "primary": True}],
    )
    page.set_viewport_size({"width": 390, "height": 844})
    page.sign_in("mae.main", PASSWORD)
    page.open(f"/accounts/{account.id}/users")
    page.screenshot("phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide"
    cell = page.locator("table.users tbody tr", has_text="Maximilian").locator("td.email")
    lines = cell.evaluate(
        """td => {
            const range = document.createRange(); range.selectNodeContents(td);
            const tops = new Map();
            for (const node of td.childNodes) if (node.nodeType === 3) {
                for (let i = 0; i < node.length; i++) {
                    range.setStart(node, i); range.setEnd(node, i + 1);
                    const top = Math.round(range.getBoundingClientRect().top);
                    tops.set(top, (tops.get(top) || '') + node.data[i]);
                }
            }
            return [...tops.values()];
        }"""
    )
    assert "".join(lines) == LONG and len(lines) > 1
    for before, line in pairwise(lines):  # broken at sensible points only
        assert line[0] in "@." or before.endswith("-"), lines


@pytest.mark.parametrize("path", ["/users/new", "/provisioning", "/sign-in"])
def test_the_console_forms_fit_a_phone(
    page: Page, make_account: Any, make_user: Any, path: str
) -> None:
    """A wide table on a page (the profile chart of New User, the provisioning log) scrolls
    inside its card; it does not widen the page and push the form's fields off the screen."""
    account = make_account("Northern Clinics")
    make_user(account, "mae.main", profile="main", password=PASSWORD, email_verified=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.sign_in("mae.main", PASSWORD)
    page.open(f"/accounts/{account.id}{path}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{path} is {width} px wide"
