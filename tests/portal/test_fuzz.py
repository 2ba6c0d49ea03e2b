"""Arbitrary text and bytes in every field of every form of the pages, and in their query
parameters: a page may refuse, never fail (no 5xx), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rollcall.app import create_app
from rollcall.settings import Settings
from store import csc, links, new_users
from store.models.directory import User
from tests.fuzzing import (
    client_address,
    form_body,
    forms_on,
    fuzz_settings,
    fuzzed_form,
    no_server_fault,
    texts,
    values,
)
from tests.pages import Console

pytestmark = pytest.mark.slow  # hundreds of requests

FORM = "application/x-www-form-urlencoded"
PASSWORD = "a long enough pass phrase"
# What a person would type, so that many requests get past the forms' checks into the store.
PLAUSIBLE = {
    "given_name": "Fuzz",
    "family_name": "Tester",
    "first_name": "Fuzz",
    "last_name": "Tester",
    "email": "fuzz.tester@example.com",
    "new_email": "fuzz.moved@example.com",
    "basic-given_name": "Fuzz",
    "email-new_email": "fuzz.moved@example.com",
    "user_name": "fuzz.tester",
    "login": "fuzzed.user",
    "password": PASSWORD,
    "confirm": PASSWORD,
    "current_password": PASSWORD,
    "password-password": "another long pass phrase",
    "password-confirm": "another long pass phrase",
    "password-current_password": PASSWORD,
    "email-current_password": PASSWORD,
    "phone": "+1 555 0100",
    "name": "fuzz token",
}


@pytest.fixture
def site(db: Any, enterprise: Any, make_user: Any, operator: Any) -> dict[str, Any]:
    """The app; a main contact signed in, support staff signed in, and a user with a live link
    of every kind, so each form is shown and can be filled in."""
    app = create_app(Settings(database_url=db.url), db)
    other = make_user(enterprise.account, "fuzzed.user", password=PASSWORD, email_verified=True)
    asking = make_user(None, "asks.for.csc")
    with db.transaction() as tx:
        csc.request_access(tx, tx.get(User, asking.id), organization="Asking Clinic")
        staff = new_users.create_support_user(
            tx, operator, user_name="fuzz.support", email="f@v.test"
        )
        tokens = {
            purpose: links.issue(tx, other, purpose, {"email": "new.fuzzed@example.com"})
            for purpose in (links.RESET_PASSWORD, links.SET_PASSWORD, links.VERIFY_EMAIL)
        }
        tokens[links.CHANGE_EMAIL] = links.issue(
            tx, other, links.CHANGE_EMAIL, {"email": "new.fuzzed@example.com"}
        )
    account, user = enterprise.account.id, other.id
    return {
        "app": app,
        "main": Console(app, db, enterprise.main),
        "support": Console(app, db, staff),
        "anonymous": app.test_client(),
        "paths": {
            "reset": f"/reset/{tokens[links.RESET_PASSWORD]}",
            "set-password": f"/set-password/{tokens[links.SET_PASSWORD]}",
            "verify": f"/verify/{tokens[links.VERIFY_EMAIL]}",
            "confirm-email": f"/profile/email/{tokens[links.CHANGE_EMAIL]}",
            "new-user": f"/accounts/{account}/users/new",
            "edit-user": f"/accounts/{account}/users/{user}",
            "deactivate": f"/accounts/{account}/users/{user}/deactivate",
            "activate": f"/accounts/{account}/users/{user}/activate",
            "provisioning": f"/accounts/{account}/provisioning",
            "users": f"/accounts/{account}/users",
            "account": f"/accounts/{account}",
        },
    }


# (who, the page whose forms are filled in): every form a page shows is fuzzed, wherever it posts.
FORM_PAGES = [
    ("anonymous", "/register"),
    ("anonymous", "/forgot-password"),
    ("anonymous", "/forgot-username"),
    ("anonymous", "/verify/resend"),
    ("anonymous", "reset"),
    ("anonymous", "set-password"),
    ("anonymous", "verify"),
    ("anonymous", "confirm-email"),
    ("main", "/profile"),
    ("main", "new-user"),
    ("main", "edit-user"),
    ("main", "deactivate"),
    ("main", "activate"),
    ("main", "provisioning"),
    ("main", "account"),
    ("main", "users"),
    ("support", "/support/csc-requests"),
]


def _client(site: dict[str, Any], who: str) -> Any:
    return site[who] if who == "anonymous" else site[who].client


@pytest.mark.parametrize(("who", "page"), FORM_PAGES, ids=[p for _w, p in FORM_PAGES])
def test_every_form_field_takes_anything(site: dict[str, Any], who: str, page: str) -> None:
    client = _client(site, who)
    path = site["paths"].get(page, page)
    shown = client.get(path)
    no_server_fault(shown, f"GET {path}")
    forms = forms_on(shown.get_data(as_text=True), path)  # as first shown: links get used up
    assert forms, f"{path} shows {who} no form (status {shown.status_code})"

    @fuzz_settings
    @given(data=st.data())
    def fill_in(data: Any) -> None:
        form = data.draw(st.sampled_from(forms), label="form")
        fields = data.draw(fuzzed_form(form, PLAUSIBLE), label="fields")
        answer = client.post(
            form.action,
            data=form_body(fields),
            content_type=FORM,
            environ_base={"REMOTE_ADDR": client_address()},
        )
        no_server_fault(answer, f"POST {form.action} from {path}: {fields!r}")

    fill_in()


# The query parameters each page reads, and the people who see it.
QUERIES = [
    ("anonymous", "/signin", ["next", "login_hint", "fresh"]),
    ("main", "users", ["status", "q", "sort", "dir", "page", "per_page"]),
    ("main", "/my-account", []),
    ("support", "/support", ["q"]),
    ("support", "/support/audit", ["account", "before", "action"]),
    ("anonymous", "/dev/mail", []),
]


@pytest.mark.parametrize(("who", "page", "names"), QUERIES, ids=[q[1] for q in QUERIES])
def test_every_query_parameter_takes_anything(
    site: dict[str, Any], who: str, page: str, names: list[str]
) -> None:
    client = _client(site, who)
    path = site["paths"].get(page, page)

    @fuzz_settings
    @given(
        query=st.fixed_dictionaries({}, optional={name: values for name in names}),
        extra=st.dictionaries(texts, values, max_size=1),
    )
    def ask(query: dict[str, Any], extra: dict[str, Any]) -> None:
        answer = client.get(
            path,
            query_string=form_body(extra | query).decode("ascii"),
            environ_base={"REMOTE_ADDR": client_address()},
        )
        no_server_fault(answer, f"GET {path}?{extra | query!r}")

    ask()


@pytest.mark.parametrize("who", ["anonymous", "main"])
def test_every_link_takes_any_token(site: dict[str, Any], who: str) -> None:
    client = _client(site, who)

    @fuzz_settings
    @given(token=values)
    def follow(token: str | bytes) -> None:
        segment = quote(token if isinstance(token, bytes) else token.encode(), safe="")
        for prefix in ("/reset/", "/set-password/", "/verify/", "/profile/email/"):
            answer = client.get(prefix + segment, environ_base={"REMOTE_ADDR": client_address()})
            no_server_fault(answer, f"GET {prefix}{token!r}")

    follow()
