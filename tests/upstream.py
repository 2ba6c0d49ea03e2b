"""Organizations' OpenID providers for the federation tests (issue 21).

`upstream_rollcall` starts a second, real Rollcall process on a database of its own, with an
account, a person and a client registered (through the `rollcall` command) for the first
Rollcall's callback: the organization's provider of the positive paths. It is reached as
`localhost` while the Rollcall under test is `127.0.0.1`, so the two keep their cookies apart.

`TinyProvider` is a provider of a few lines whose ID tokens the test shapes (wrong `iss`, `aud`,
an expired one, another key's signature): for the refusals only.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.wrappers import Request, Response

from tests.live import live
from tests.oidc import PASSWORD
from tests.serving import run, served


@dataclass
class UpstreamRollcall:
    issuer: str  # http://localhost:PORT
    client_id: str
    client_secret: str
    user_id: str  # the person's id there: the `sub` of their ID tokens
    login: str
    email: str


@contextmanager
def upstream_rollcall(workdir: Path, callback: str) -> Iterator[UpstreamRollcall]:
    """A second Rollcall playing the organization's provider, with one person who may sign in
    at the client registered for `callback`."""
    database = f"sqlite:///{workdir / f'upstream-{uuid.uuid4().hex[:8]}.db'}"

    def command(*args: str) -> str:
        done = run(database, *args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    command("db", "upgrade")
    command("account", "create", "Acme Health IdP")
    email = "ada.upstream@acme.example"
    made = command(
        "user", "create", "--account", "Acme Health IdP", "--username", "ada.upstream",
        "--email", email, "--given-name", "Ada", "--family-name", "Upstream",
        "--password", PASSWORD, "--verified", "--profile", "main",
    )  # fmt: skip
    user_id = re.search(r"user: (\S+)", made).group(1)  # type: ignore[union-attr]
    client = command(
        "client", "create", "--name", "Rollcall of the Success Community",
        "--redirect-uri", callback, "--first-party", "--access", "everyone",
    )  # fmt: skip
    client_id = re.search(r"client_id: (\S+)", client).group(1)  # type: ignore[union-attr]
    secret = re.search(r"client_secret: (\S+)", client).group(1)  # type: ignore[union-attr]
    with served(database, workdir) as base:
        issuer = base.replace("127.0.0.1", "localhost")
        yield UpstreamRollcall(issuer, client_id, secret, user_id, "ada.upstream", email)


@dataclass
class TinyProvider:
    """Discovery, JWKS and a token endpoint answering with the ID token `claims` describe."""

    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "k1"}))
    signer: RSAKey | None = None  # another key to sign with (a bad signature)
    claims: dict[str, Any] = field(default_factory=dict)
    nonce: str = ""  # the nonce of the sign-in in progress, put in the token unless overridden

    def id_token(self, client_id: str) -> str:
        moment = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": client_id,
            "sub": "00u-acme-1",
            "iat": moment,
            "exp": moment + 300,
            "nonce": self.nonce,
        } | self.claims
        claims = {k: v for k, v in claims.items() if v is not None}
        signer = self.signer or self.key
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, signer)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        path = urlsplit(request.url).path
        if path == "/.well-known/openid-configuration":
            body = {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "code_challenge_methods_supported": ["S256"],
            }
        elif path == "/jwks":
            body = {"keys": [self.key.as_dict(private=False)]}
        elif path == "/token" and request.method == "POST":
            client_id = request.authorization.username if request.authorization else ""
            if not request.form.get("code_verifier"):
                body = {"error": "invalid_grant", "error_description": "PKCE verifier missing"}
                return Response(_json(body), 400, mimetype="application/json")(
                    environ, start_response
                )
            body = {
                "access_token": "opaque",
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self.id_token(client_id or ""),
            }
        else:
            return Response("not found", 404)(environ, start_response)
        return Response(_json(body), mimetype="application/json")(environ, start_response)


def _json(body: dict[str, Any]) -> str:
    import json

    return json.dumps(body)


@contextmanager
def tiny_provider() -> Iterator[TinyProvider]:
    provider = TinyProvider()
    with live(provider) as base:
        provider.issuer = base
        yield provider
