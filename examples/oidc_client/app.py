"""A tiny linked application that signs people in through Rollcall and shows their claims.

Run Rollcall with its demo data (`make run`), then, from the project directory:

    .venv/bin/python examples/oidc_client/app.py

and open http://127.0.0.1:5000. It signs in as the demo's ICD-10 client (authorization code with
PKCE S256, nonce checked, ID token verified against Rollcall's JWKS by Authlib's client), shows the
ID token claims and userinfo, signs out through Rollcall (RP-initiated logout), and accepts
back-channel logout: when Rollcall ends the session (sign-out elsewhere, deactivation), this
application forgets it too.

Settings (environment): ROLLCALL_URL (default http://127.0.0.1:8000), CLIENT_ID, CLIENT_SECRET
(default: the demo's ICD-10 client), EXAMPLE_PORT (default 5000).
"""

from __future__ import annotations

import os
import secrets
import threading
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, redirect, render_template_string, request, session, url_for
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ROLLCALL = os.environ.get("ROLLCALL_URL", "http://127.0.0.1:8000").rstrip("/")
CLIENT_ID = os.environ.get("CLIENT_ID", "demo-icd10")
CLIENT_SECRET = os.environ.get("CLIENT_SECRET", "demo-icd10-secret-for-local-use-only")
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ICD-10 (example application)</title></head>
<body><main>
<h1>ICD-10 <small>example linked application</small></h1>
{% if claims %}
<p id="welcome">Signed in as <strong>{{ claims.get('name') or claims.preferred_username }}</strong>
({{ claims.get('email') }}) of {{ (claims.get('account') or {}).get('name', 'no account') }}.</p>
<h2>ID token claims</h2><pre id="claims">{{ claims | tojson(indent=2) }}</pre>
<h2>Userinfo</h2><pre id="userinfo">{{ userinfo | tojson(indent=2) }}</pre>
<p><a id="logout" href="{{ url_for('logout') }}">Sign out</a></p>
{% else %}
{% if refusal %}
<p id="refusal" role="alert">Rollcall did not sign you in: {{ refusal }}</p>
{% endif %}
<p>You are not signed in.</p>
<p><a id="login" href="{{ url_for('login') }}">Sign in with Rollcall</a></p>
{% endif %}
</main></body></html>"""


def create_app(
    rollcall: str = ROLLCALL, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
) -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ.get("EXAMPLE_SECRET_KEY", secrets.token_hex(16))
    # Cookies are per host, not per port: on 127.0.0.1 beside Rollcall, keep our own name.
    app.config["SESSION_COOKIE_NAME"] = "icd10_example_session"
    oauth = OAuth(app)
    oauth.register(
        "rollcall",
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=f"{rollcall}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email community", "code_challenge_method": "S256"},
    )
    ended_sessions: set[str] = (
        set()
    )  # sids Rollcall told us about (keep them in a store in real life)
    lock = threading.Lock()

    def signed_in() -> dict[str, Any] | None:
        claims = session.get("claims")
        if claims and claims.get("sid") in ended_sessions:
            session.clear()
            return None
        return claims

    @app.get("/")
    def home() -> str:
        claims = signed_in()
        return render_template_string(PAGE, claims=claims, userinfo=session.get("userinfo"))

    @app.get("/login")
    def login() -> Any:
        return oauth.rollcall.authorize_redirect(url_for("callback", _external=True))

    @app.get("/callback")
    def callback() -> Any:
        try:
            token = oauth.rollcall.authorize_access_token()  # checks state, nonce, the ID token
        except OAuthError as refused:  # access_denied: no access to this application, and more
            page = render_template_string(PAGE, claims=None, refusal=refused.description)
            return page, 403 if refused.error == "access_denied" else 400
        session["claims"] = dict(token["userinfo"])
        session["id_token"] = token["id_token"]
        session["userinfo"] = dict(oauth.rollcall.userinfo(token=token))
        return redirect(url_for("home"))

    @app.get("/logout")
    def logout() -> Any:
        id_token = session.pop("id_token", None)
        session.clear()
        metadata = oauth.rollcall.load_server_metadata()
        params = {"post_logout_redirect_uri": url_for("home", _external=True)}
        if id_token:
            params["id_token_hint"] = id_token
        query = "&".join(f"{k}={requests.utils.quote(v, safe='')}" for k, v in params.items())
        return redirect(f"{metadata['end_session_endpoint']}?{query}")

    @app.post("/backchannel-logout")
    def backchannel_logout() -> Any:
        """OIDC Back-Channel Logout: verify the logout token, then forget that session."""
        token = request.form.get("logout_token", "")
        metadata = oauth.rollcall.load_server_metadata()
        keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"], timeout=5).json())
        try:
            claims = jwt.decode(token, keys, algorithms=["RS256"]).claims
        except (JoseError, ValueError):
            return {"error": "invalid_request"}, 400
        if (
            claims.get("iss") != metadata["issuer"]
            or claims.get("aud") not in (client_id, [client_id])
            or LOGOUT_EVENT not in (claims.get("events") or {})
            or "nonce" in claims
        ):
            return {"error": "invalid_request"}, 400
        with lock:
            ended_sessions.add(claims.get("sid", ""))
        return "", 200, {"Cache-Control": "no-store"}

    return app


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(os.environ.get("EXAMPLE_PORT", "5000")))
