"""Rollcall as the client of an organization's OpenID provider (issue 21, inbound federation).

Authlib's OAuth2Session speaks the code flow with PKCE (S256); the provider's discovery document
and JWKS are fetched and kept for a few minutes; the ID token is checked with joserfc: signature
against those keys, `iss`, `aud` (and `azp` when there are several), `exp`, `iat` and `nonce`.
Every failure is a FederationRefused with a sentence a person (or an operator reading
`rollcall federation test`) understands.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from store.federation import FederationRefused
from store.models.security import FederationConnection

TIMEOUT = 10  # seconds for each call to the provider
CACHE_SECONDS = 300  # discovery and keys are fetched again after this
LEEWAY = 60  # seconds of clock difference tolerated on exp, iat
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]

_cache: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


_private = {"allowed": False}


def allow_private_providers(allowed: bool) -> None:
    """Whether providers may be at private, loopback or link-local addresses, or plain http
    (`Settings.providers_may_be_private`; set by the process's entry point)."""
    _private["allowed"] = allowed


def reachable(url: str, what: str) -> None:
    """Refuse a URL that would make Rollcall call into its own network: a main contact names
    the issuer, and the provider names its endpoints, so neither may point at this machine or
    its neighbours (server-side request forgery) unless the operator allows it."""
    if _private["allowed"]:
        return
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise FederationRefused(f"The {what} at {url} is not an https URL.")
    try:
        port = parts.port or 443
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        raise FederationRefused(f"Cannot reach the {what} at {url}: unknown host.") from None
    for *_, address in found:
        if not ipaddress.ip_address(address[0].split("%")[0]).is_global:
            raise FederationRefused(
                f"The {what} at {url} is on a private network, which Rollcall does not call."
            )


def _fetch_json(url: str, what: str) -> dict[str, Any]:
    """A JSON object the provider serves, or a refusal that says what went wrong."""
    with _lock:
        kept = _cache.get(url)
        if kept and kept[0] > time.monotonic():
            return kept[1]
    reachable(url, what)
    try:
        response = requests.get(url, timeout=TIMEOUT, headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise FederationRefused(f"Cannot reach the {what} at {url}: {_reason(exc)}.") from None
    if response.status_code != 200:
        raise FederationRefused(f"The {what} at {url} answered HTTP {response.status_code}.")
    try:
        document = response.json()
    except ValueError:
        raise FederationRefused(f"The {what} at {url} is not JSON.") from None
    if not isinstance(document, dict):
        raise FederationRefused(f"The {what} at {url} is not a JSON object.")
    with _lock:
        _cache[url] = (time.monotonic() + CACHE_SECONDS, document)
    return document


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else exc.__class__.__name__


def forget(url: str | None = None) -> None:
    """Drop what was kept of a provider (all providers when no URL is named)."""
    with _lock:
        if url is None:
            _cache.clear()
        else:
            _cache.pop(url, None)


def discovery(issuer: str) -> dict[str, Any]:
    """The provider's `/.well-known/openid-configuration`, checked to name this issuer and the
    endpoints the code flow needs."""
    url = _discovery_url(issuer)
    document = _fetch_json(url, "discovery document")
    if document.get("issuer") != issuer:
        forget(url)
        raise FederationRefused(
            f"The discovery document names the issuer {document.get('issuer')!r}, not {issuer!r}."
        )
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(document.get(endpoint), str):
            forget(url)
            raise FederationRefused(f"The discovery document of {issuer} has no {endpoint}.")
    return document


def _discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def key_set(jwks_uri: str, *, fresh: bool = False) -> KeySet:
    """The provider's public keys (fetched again when `fresh`: a key it rotated in)."""
    if fresh:
        forget(jwks_uri)
    document = _fetch_json(jwks_uri, "key set (JWKS)")
    try:
        keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        forget(jwks_uri)
        raise FederationRefused(f"The key set at {jwks_uri} cannot be read: {exc}.") from None
    if not keys.keys:
        raise FederationRefused(f"The key set at {jwks_uri} holds no keys.")
    return keys


def check(issuer: str) -> str:
    """One line on whether Rollcall can use this provider: "ok ..." or what is wrong, as the
    provider answers now (nothing kept from an earlier look)."""
    forget(_discovery_url(issuer))
    try:
        document = discovery(issuer)
        keys = key_set(document["jwks_uri"], fresh=True)
    except FederationRefused as refused:
        return refused.message
    methods = document.get("code_challenge_methods_supported")
    pkce = "S256" in methods if isinstance(methods, list) else None
    if pkce is False:
        return f"{issuer} does not offer PKCE with S256 (code_challenge_methods_supported)."
    return (
        f"ok {issuer}: {len(keys.keys)} key(s), authorization at "
        f"{document['authorization_endpoint']}, tokens at {document['token_endpoint']}"
    )


def _session(connection: FederationConnection, redirect_uri: str, method: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=connection.client_id,
        client_secret=connection.client_secret,
        scope=connection.scopes,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=method,
    )


def authorization_url(
    connection: FederationConnection,
    redirect_uri: str,
    *,
    state: str,
    nonce: str,
    code_verifier: str,
    login_hint: str | None = None,
) -> str:
    """Where to send the browser: the provider's authorization endpoint with PKCE, state, nonce."""
    document = discovery(connection.issuer)
    extra = {"login_hint": login_hint} if login_hint else {}
    url, _ = _session(connection, redirect_uri, "client_secret_basic").create_authorization_url(
        document["authorization_endpoint"],
        state=state,
        nonce=nonce,
        code_verifier=code_verifier,
        **extra,
    )
    return url


def sign_in_claims(
    connection: FederationConnection,
    redirect_uri: str,
    *,
    code: str,
    code_verifier: str,
    nonce: str,
) -> dict[str, Any]:
    """Exchange the code for tokens and return the claims of the checked ID token."""
    document = discovery(connection.issuer)
    methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    method = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    session = _session(connection, redirect_uri, method)
    reachable(document["token_endpoint"], "token endpoint")
    try:
        token = session.fetch_token(
            document["token_endpoint"],
            code=code,
            code_verifier=code_verifier,
            timeout=TIMEOUT,
        )
    except Exception as exc:  # Authlib's OAuthError, a network failure, a non-JSON answer
        description = getattr(exc, "description", None) or _reason(exc)
        raise FederationRefused(
            f"{connection.display_name} did not give Rollcall your sign-in: {description}"
        ) from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise FederationRefused(f"{connection.display_name} sent no ID token.")
    return id_token_claims(connection, document, id_token, nonce)


def id_token_claims(
    connection: FederationConnection, document: dict[str, Any], id_token: str, nonce: str
) -> dict[str, Any]:
    """The claims of an ID token signed by the provider's keys, for this client, now, with the
    nonce of this sign-in; otherwise a refusal naming what is wrong."""
    refused = f"The sign-in from {connection.display_name} cannot be trusted"
    try:
        decoded = _decode(id_token, document["jwks_uri"])
    except JoseError as exc:
        raise FederationRefused(f"{refused}: bad signature ({exc.error}).") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise FederationRefused(
            f"{refused}: the ID token is malformed or signed by an unknown key ({exc})."
        ) from None
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY,
        iss={"essential": True, "value": connection.issuer},
        sub={"essential": True},
        aud={"essential": True, "value": connection.client_id},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        claim = getattr(exc, "claim", None) or exc.error
        raise FederationRefused(f"{refused}: {_claim_problem(claim, exc)}.") from None
    audience = claims.get("aud")
    if (
        isinstance(audience, list)
        and len(audience) > 1
        and claims.get("azp") != connection.client_id
    ):
        raise FederationRefused(f"{refused}: it was issued to another application (azp).")
    return dict(claims)


def _decode(id_token: str, jwks_uri: str) -> Any:
    try:
        return jwt.decode(id_token, key_set(jwks_uri), algorithms=ALGORITHMS)
    except (JoseError, ValueError, KeyError):  # a key rotated in since: fetch them once more
        return jwt.decode(id_token, key_set(jwks_uri, fresh=True), algorithms=ALGORITHMS)


def _claim_problem(claim: str, exc: JoseError) -> str:
    return {
        "iss": "it was issued by another provider (iss)",
        "aud": "it was issued to another application (aud)",
        "exp": "it has expired (exp)",
        "nonce": "it belongs to another sign-in (nonce)",
        "sub": "it names nobody (sub)",
    }.get(claim, f"{exc.error} ({claim})")
