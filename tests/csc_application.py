"""The Client Support Center as a linked application that signs people
in through the served Rollcall, answered inside Chromium (Playwright routes), so a journey walks
its redirects as a person's browser does."""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from tests.browser import Page
from tests.oidc import pkce_pair, query

CSC_ORIGIN = "https://csc.example.test"


@dataclass
class CscApplication:
    """The CSC's side of single sign-on: its launch address starts the authorization code flow
    with PKCE; its callback exchanges the code and greets the person userinfo names."""

    rollcall: str
    client_id: str
    secret: str
    pending: dict[str, str] = field(default_factory=dict)  # state -> code verifier
    signed_in: list[dict[str, Any]] = field(default_factory=list)  # userinfo of each sign-in

    @property
    def launch_url(self) -> str:
        return f"{CSC_ORIGIN}/"

    def serve(self, page: Page) -> None:
        page.route(f"{CSC_ORIGIN}/**", self._answer)

    def _answer(self, route: Any) -> None:
        url = route.request.url
        if urlsplit(url).path == "/callback":
            route.fulfill(status=200, content_type="text/html", body=self._callback(query(url)))
            return
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(8)
        self.pending[state] = verifier
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": f"{CSC_ORIGIN}/callback",
            "scope": "openid profile email",
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        location = f"{self.rollcall}/oauth/authorize?{urlencode(params)}"
        route.fulfill(status=302, headers={"Location": location})

    def _callback(self, answer: dict[str, str]) -> str:
        verifier = self.pending.pop(answer.get("state", ""), None)
        if verifier is None or "code" not in answer:
            return f"<h1>Sign-in failed</h1><p id=error>{html.escape(answer.get('error', '?'))}</p>"
        tokens = requests.post(
            f"{self.rollcall}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": f"{CSC_ORIGIN}/callback",
                "code_verifier": verifier,
            },
            auth=(self.client_id, self.secret),
            timeout=10,
        )
        tokens.raise_for_status()
        who = requests.get(
            f"{self.rollcall}/oauth/userinfo",
            headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
            timeout=10,
        ).json()
        self.signed_in.append(who)
        return (
            "<h1>Client Support Center</h1>"
            f"<p id=welcome>Welcome, {html.escape(who.get('name', ''))}</p>"
        )
