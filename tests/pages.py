"""The pages over HTTP as a browser uses them, for the tests of every door: forms posted with
their CSRF token, and a browser signed in as a user."""

from __future__ import annotations

import re
from typing import Any

from store import sso_sessions
from store.models.directory import User

CSRF = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')  # a form's, prefixed or not


class Console:
    """The app's test client signed in as one user (a session made directly in the store)."""

    def __init__(self, app: Any, db: Any, user: User) -> None:
        self.client = app.test_client()
        with db.transaction() as tx:
            _, token = sso_sessions.start(tx, user)
        self.client.set_cookie("rollcall_sso", token)

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def post(self, path: str, data: dict[str, Any] | None = None, *, form_page: str = "") -> Any:
        """POST with the CSRF token of the form on `form_page` (default: `path` itself)."""
        token = self.form_token(form_page or path)
        return self.client.post(path, data={"csrf_token": token, **(data or {})})

    def post_form(self, path: str, prefix: str, page: str, **fields: str) -> Any:
        """Send the form of `prefix` on `page` (a page of several forms) with its CSRF token."""
        token = self.form_token(page)
        data = {f"{prefix}-csrf_token": token} | {f"{prefix}-{k}": v for k, v in fields.items()}
        return self.client.post(path, data=data)

    def form_token(self, page_path: str) -> str:
        """The CSRF token of the form on `page_path` (or on the profile page, if that page
        answers no form)."""
        page = self.client.get(page_path)
        if page.status_code != 200:
            page = self.client.get("/profile")
        token = CSRF.search(page.get_data(as_text=True))
        assert token, f"no CSRF token on {page_path}"
        return token.group(1)


def form_of(user: User, **changes: Any) -> dict[str, Any]:
    """The user's edit form as the page fills it in, with `changes` made (None leaves out)."""
    data = {
        "given_name": user.given_name or "",
        "family_name": user.family_name or "",
        "email": user.primary_email or "",
        "phone": "",
        "profile": user.profile,
        "preferred_contact_method": user.preferred_contact_method,
        "version": str(user.version),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def submit(client: Any, path: str, data: dict[str, Any], *, ip: str = "127.0.0.1") -> Any:
    """GET the page at `path` for its CSRF token, then POST the form as a browser would (from
    the client address `ip`)."""
    environ = {"REMOTE_ADDR": ip}
    page = client.get(path, environ_base=environ)
    token = CSRF.search(page.get_data(as_text=True))
    assert token, f"{path} has no CSRF token"
    return client.post(path, data={"csrf_token": token.group(1), **data}, environ_base=environ)


def sign_in(app: Any, login: str, password: str) -> Any:
    """A new browser's sign-in with this login: the response to the form (302 when it worked)."""
    return submit(app.test_client(), "/signin", {"login": login, "password": password})
