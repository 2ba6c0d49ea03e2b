"""A person's browser and a relying party for OpenID Connect tests, speaking plain HTTP.

The browser is a `requests.Session` that reads forms the way a person fills them in (CSRF token
included) and never follows redirects by itself, so each test sees every hop.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

PASSWORD = "correct horse battery staple"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def hidden_inputs(page: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            found[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return found


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Browser:
    base: str
    session: requests.Session = field(default_factory=requests.Session)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.get(urljoin(self.base, url), allow_redirects=False, **kwargs)

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> requests.Response:
        return self.session.post(
            urljoin(self.base, url), data=data, allow_redirects=False, **kwargs
        )

    def follow(self, response: requests.Response, until: str | None = None) -> requests.Response:
        """Follow redirects on this site; stop at one leaving it (or starting with `until`)."""
        while response.status_code in (301, 302, 303, 307):
            location = urljoin(response.url, response.headers["Location"])
            if (until and location.startswith(until)) or not location.startswith(self.base):
                return response
            response = self.get(location)
        return response

    def sign_in(self, login: str, password: str = PASSWORD, page: requests.Response | None = None):
        """Fill in the sign-in form (the one shown, or /signin) and submit it."""
        page = page or self.get("/signin")
        fields = hidden_inputs(page.text)
        fields |= {"login": login, "password": password}
        return self.post("/signin", fields)

    def submit(self, page: requests.Response, action: str, **extra: str) -> requests.Response:
        """Submit the form on `page` (its hidden fields plus `extra`) to `action`."""
        return self.post(urljoin(page.url, action), hidden_inputs(page.text) | extra)


@dataclass
class RelyingParty:
    """A registered client, as the linked application sees itself."""

    base: str
    client_id: str
    client_secret: str | None
    redirect_uri: str

    def authorize_url(self, scope: str = "openid profile email", **params: str) -> str:
        from urllib.parse import urlencode

        values = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
        } | params
        return f"{self.base}/oauth/authorize?{urlencode({k: v for k, v in values.items() if v})}"

    def token(self, **form: str) -> requests.Response:
        auth = (self.client_id, self.client_secret) if self.client_secret else None
        if auth is None:
            form.setdefault("client_id", self.client_id)
        return requests.post(f"{self.base}/oauth/token", data=form, auth=auth, timeout=10)

    def exchange(self, code: str, verifier: str | None = None) -> requests.Response:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier:
            form["code_verifier"] = verifier
        return self.token(**form)

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.token(grant_type="refresh_token", refresh_token=refresh_token)

    def introspect(self, token: str) -> dict[str, Any]:
        response = requests.post(
            f"{self.base}/oauth/introspect",
            data={"token": token},
            auth=(self.client_id, self.client_secret or ""),
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def revoke(self, token: str, hint: str | None = None) -> requests.Response:
        data = {"token": token} | ({"token_type_hint": hint} if hint else {})
        auth = (self.client_id, self.client_secret) if self.client_secret else None
        if auth is None:
            data["client_id"] = self.client_id
        return requests.post(f"{self.base}/oauth/revoke", data=data, auth=auth, timeout=10)

    def userinfo(self, access_token: str, method: str = "GET") -> requests.Response:
        headers = {"Authorization": f"Bearer {access_token}"}
        return requests.request(method, f"{self.base}/oauth/userinfo", headers=headers, timeout=10)


# A person signed in at the provider fixture (tests/oidc_fixtures.py), and the codes and tokens
# its first-party application gets for them.


def signed_in(provider: Any, login: str = "ada") -> Browser:
    browser = Browser(provider.base)
    assert browser.sign_in(login).status_code == 302
    return browser


def code_for(provider: Any, browser: Browser, rp: Any, scope: str = "openid", **params: str):
    verifier, challenge = pkce_pair()
    url = rp.authorize_url(scope, code_challenge=challenge, code_challenge_method="S256", **params)
    response = browser.follow(browser.get(url), until=rp.redirect_uri)
    return query(response.headers["Location"])["code"], verifier


def tokens_for(provider: Any, scope: str = "openid offline_access") -> dict[str, Any]:
    rp = provider.first_party
    code, verifier = code_for(provider, signed_in(provider), rp, scope)
    response = rp.exchange(code, verifier)
    assert response.status_code == 200, response.text
    return response.json()
