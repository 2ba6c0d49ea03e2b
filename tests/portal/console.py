"""The console as a signed-in person uses it: a test client with a session, and forms."""

from __future__ import annotations

import re
from typing import Any

from store import sso_sessions
from store.models import User


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

    def form_token(self, page_path: str) -> str:
        """The CSRF token of the form on `page_path` (or on the profile page, if that page
        answers no form)."""
        page = self.client.get(page_path)
        if page.status_code != 200:
            page = self.client.get("/profile")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
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
