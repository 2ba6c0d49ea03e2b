"""Support's Applications page: every application with who may open it, and its launch address,
which support sets; main contacts do not reach it."""

from __future__ import annotations

from store import applications


def _launch_url(db, key):
    with db.transaction(write=False) as tx:
        return applications.application_by_key(tx, key).launch_url


def test_support_sets_a_launch_address(db, operator, support_console, main_console):
    with db.transaction() as tx:
        applications.ensure_application(tx, operator, key="ng_share", name="NG Share")
    page = support_console.get("/support/applications").get_data(as_text=True)
    assert "NG Share" in page and 'id="launch-ng_share"' in page
    form = "/support/applications"
    saved = support_console.post(
        "/support/applications/ng_share", {"launch_url": "https://share.test/"}, form_page=form
    )
    assert saved.status_code == 302
    assert _launch_url(db, "ng_share") == "https://share.test/"
    refused = support_console.post(
        "/support/applications/ng_share", {"launch_url": "ftp://share.test/"}, form_page=form
    )
    assert refused.status_code == 302 and _launch_url(db, "ng_share") == "https://share.test/"
    shown = support_console.get(form).get_data(as_text=True)
    assert "is not an absolute https address" in shown
    assert main_console.get(form).status_code == 403
    assert main_console.client.post("/support/applications/ng_share").status_code in (400, 403)
