"""Arbitrary text and bytes in every parameter of the OpenID Provider (authorize, token, revoke,
introspect, userinfo, logout) and in the sign-in and sign-out forms: an OAuth error or a page
saying so, never a server fault (no 5xx), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store import clients, sso_sessions
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
from tests.oidc import PASSWORD

pytestmark = pytest.mark.slow  # hundreds of requests

FORM = "application/x-www-form-urlencoded"
REDIRECT = "https://rp.example/cb"


@pytest.fixture
def op(app: Any, db: Any, enterprise: Any, make_user: Any, operator: Any) -> dict[str, Any]:
    """The provider with a confidential, a public and a machine client, a person who may sign
    in to them, and a browser where that person is signed in."""
    ada = make_user(enterprise.account, "ada", password=PASSWORD, email_verified=True)
    with db.transaction() as tx:
        web, secret = clients.create_client(
            tx,
            operator,
            name="Fuzzed web app",
            redirect_uris=[REDIRECT],
            post_logout_redirect_uris=["https://rp.example/bye"],
            scopes=["openid", "profile", "email", "offline_access", "community"],
            access="everyone",
        )
        spa, _ = clients.create_client(
            tx,
            operator,
            name="Fuzzed SPA",
            redirect_uris=[REDIRECT],
            public=True,
            scopes=["openid", "email"],
            access="everyone",
        )
        machine, machine_secret = clients.create_client(
            tx, operator, name="Fuzzed machine", scopes=["scim"], account=enterprise.account
        )
        _, cookie = sso_sessions.start(tx, ada)
    signed_in = app.test_client()
    signed_in.set_cookie("rollcall_sso", cookie)
    return {
        "anonymous": app.test_client(),
        "signed_in": signed_in,
        "client_ids": [web.client_id, spa.client_id, machine.client_id],
        "basics": [
            (web.client_id, secret),
            (machine.client_id, machine_secret),
            (spa.client_id, ""),
        ],
    }


def _maybe(known: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(known), values)


AUTHORIZE = {
    "response_type": ["code", "token", "code id_token"],
    "scope": ["openid", "openid email offline_access", "openid community scim"],
    "redirect_uri": [REDIRECT, "https://evil.example/cb"],
    "state": ["s"],
    "nonce": ["n"],
    "code_challenge": ["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"],
    "code_challenge_method": ["S256", "plain"],
    "response_mode": ["query", "fragment", "form_post", "jwt"],
    "prompt": ["none", "login", "consent", "select_account"],
    "max_age": ["0", "60", "-1"],
    "login_hint": ["ada"],
    "id_token_hint": ["x.y.z"],
    "request": ["x.y.z"],
    "request_uri": ["https://evil.example/r"],
    "decision": ["allow", "deny"],
}


@pytest.mark.parametrize("who", ["anonymous", "signed_in"])
def test_authorize_takes_any_parameters(op: dict[str, Any], who: str) -> None:
    client = op[who]
    names = {**AUTHORIZE, "client_id": op["client_ids"]}

    @fuzz_settings
    @given(
        params=st.fixed_dictionaries({}, optional={k: _maybe(v) for k, v in names.items()}),
        extra=st.dictionaries(texts, values, max_size=1),
        method=st.sampled_from(["GET", "POST"]),
    )
    def ask(params: dict[str, Any], extra: dict[str, Any], method: str) -> None:
        body = form_body(extra | params)
        if method == "GET":
            answer = client.get("/oauth/authorize", query_string=body.decode("ascii"))
        else:
            answer = client.post("/oauth/authorize", data=body, content_type=FORM)
        no_server_fault(answer, f"{method} /oauth/authorize {params!r}")

    ask()


def _basic(pair: tuple[str, str] | bytes) -> str:
    raw = pair if isinstance(pair, bytes) else f"{pair[0]}:{pair[1]}".encode()
    return "Basic " + base64.b64encode(raw).decode()


TOKEN = {
    "grant_type": ["authorization_code", "refresh_token", "client_credentials", "password"],
    "code": ["not-a-code"],
    "redirect_uri": [REDIRECT],
    "code_verifier": ["v" * 43],
    "refresh_token": ["not-a-token"],
    "scope": ["scim", "openid", "scim openid"],
    "token": ["not-a-token"],
    "token_type_hint": ["access_token", "refresh_token", "foo"],
    "access_token": ["not-a-token"],
}


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke", "/oauth/introspect"])
def test_token_endpoints_take_any_body_and_credentials(op: dict[str, Any], path: str) -> None:
    client = op["anonymous"]
    names = {**TOKEN, "client_id": op["client_ids"], "client_secret": ["wrong"]}

    @fuzz_settings
    @given(
        fields=st.fixed_dictionaries({}, optional={k: _maybe(v) for k, v in names.items()}),
        extra=st.dictionaries(texts, values, max_size=1),
        basic=st.one_of(st.none(), st.sampled_from(op["basics"]), st.binary(max_size=80)),
        raw=st.one_of(st.none(), st.binary(max_size=300)),
    )
    def send(fields: dict[str, Any], extra: dict[str, Any], basic: Any, raw: bytes | None) -> None:
        headers = {"Authorization": _basic(basic)} if basic is not None else {}
        body = raw if raw is not None else form_body(extra | fields)
        answer = client.post(
            path,
            data=body,
            content_type=FORM,
            headers=headers,
            environ_base={"REMOTE_ADDR": client_address()},
        )
        no_server_fault(answer, f"POST {path} {body!r} {headers!r}")

    send()


# Header values a client could send (Latin-1, no line breaks: what HTTP can carry).
header_values = st.text(
    alphabet=st.characters(max_codepoint=255, exclude_characters="\r\n\x00"), max_size=200
)


def test_userinfo_takes_any_bearer(op: dict[str, Any]) -> None:
    client = op["anonymous"]

    @fuzz_settings
    @given(
        authorization=st.one_of(st.none(), header_values, header_values.map("Bearer ".__add__)),
        form=st.dictionaries(st.sampled_from(["access_token", "x"]), values, max_size=2),
        method=st.sampled_from(["GET", "POST"]),
    )
    def ask(authorization: str | None, form: dict[str, Any], method: str) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}
        if method == "GET":
            answer = client.get("/oauth/userinfo", headers=headers)
        else:
            answer = client.post(
                "/oauth/userinfo", data=form_body(form), content_type=FORM, headers=headers
            )
        no_server_fault(answer, f"{method} /oauth/userinfo {headers!r} {form!r}")

    ask()


LOGOUT = {
    "id_token_hint": ["x.y.z"],
    "post_logout_redirect_uri": ["https://rp.example/bye", "https://evil.example/"],
    "state": ["s"],
    "ui_locales": ["en"],
}


@pytest.mark.parametrize("who", ["anonymous", "signed_in"])
def test_logout_takes_any_parameters(op: dict[str, Any], who: str) -> None:
    client = op[who]
    names = {**LOGOUT, "client_id": op["client_ids"]}

    @fuzz_settings
    @given(
        params=st.fixed_dictionaries({}, optional={k: _maybe(v) for k, v in names.items()}),
        method=st.sampled_from(["GET", "POST"]),
    )
    def ask(params: dict[str, Any], method: str) -> None:
        body = form_body(params)
        if method == "GET":
            answer = client.get("/oauth/logout", query_string=body.decode("ascii"))
        else:
            answer = client.post("/oauth/logout", data=body, content_type=FORM)
        no_server_fault(answer, f"{method} /oauth/logout {params!r}")

    ask()


@pytest.mark.parametrize(("who", "path"), [("anonymous", "/signin"), ("signed_in", "/signout")])
def test_sign_in_and_out_forms_take_anything(op: dict[str, Any], who: str, path: str) -> None:
    client = op[who]
    page = client.get(f"{path}?fresh=1" if path == "/signin" else path)
    forms = forms_on(page.get_data(as_text=True), path)
    assert forms, f"{path} shows no form"

    @fuzz_settings
    @given(
        data=st.data(),
        query=st.fixed_dictionaries({}, optional={"next": values, "login_hint": values}),
    )
    def fill_in(data: Any, query: dict[str, Any]) -> None:
        form = data.draw(st.sampled_from(forms), label="form")
        fields = data.draw(fuzzed_form(form, {"login": "ada", "password": PASSWORD}))
        answer = client.post(
            form.action,
            query_string=form_body(query).decode("ascii"),
            data=form_body(fields),
            content_type=FORM,
            environ_base={"REMOTE_ADDR": client_address()},
        )
        no_server_fault(answer, f"POST {form.action} {fields!r}")

    fill_in()
