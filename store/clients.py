"""The linked applications as OAuth clients: registered by the operator, secrets shown once.

Redirect URIs are matched exactly when signing in, so they are checked here when registered:
absolute, no fragment, https (http only for a loopback address, as RFC 8252 allows).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select

from store import applications, audit, oauth
from store.actors import Actor
from store.db import Tx
from store.errors import Forbidden, InvalidInput, NotFound
from store.hashes import digest
from store.models.directory import Account, Application
from store.models.sign_in import OAuthClient, OAuthToken
from store.statements import Prepared, Reads, fetch
from store.validation import clean_text

# Scopes a client may be registered for; what each releases is documented with the provider.
SCOPES = ("openid", "profile", "email", "phone", "offline_access", "community", "scim")


def create_client(
    tx: Tx,
    actor: Actor,
    *,
    name: str,
    redirect_uris: Iterable[str] = (),
    post_logout_redirect_uris: Iterable[str] = (),
    public: bool = False,
    scopes: Iterable[str] = ("openid", "profile", "email"),
    backchannel_logout_uri: str | None = None,
    access: str = "granted",
    account: Account | None = None,
    application: Application | None = None,
    first_party: bool = False,
    resource_server: bool = False,
    client_id: str | None = None,
    secret: str | None = None,
    launch_url: str | None = None,
    require_mfa: bool = False,
) -> tuple[OAuthClient, str | None]:
    """Register a client; returns it with its secret (None for a public client).

    A client that admits only granted users and names no application gets one of its own (named
    like the client), so that main contacts can grant it. `launch_url` is its application's
    launch address, the home page's link to it. `require_mfa`: signing in to it needs a second
    factor (a password-only session steps up). `client_id` and `secret` are random unless given
    (the demo data gives fixed ones so the example application runs as is).
    """
    if not actor.privileged:
        raise Forbidden("Only support staff can register applications.")
    chosen = sorted(set(scopes))
    unknown = sorted(set(chosen) - set(SCOPES))
    if unknown:
        raise InvalidInput(f"Unknown scope {', '.join(unknown)} (one of {', '.join(SCOPES)}).")
    if "scim" in chosen and (public or account is None):
        raise InvalidInput("The scim scope needs a confidential client bound to an account.")
    if access not in ("granted", "everyone"):
        raise InvalidInput("access must be granted or everyone.", field="access")
    redirects = [_redirect_uri(u) for u in redirect_uris]
    if resource_server and public:
        raise InvalidInput("A resource server must be confidential: it introspects with a secret.")
    if not redirects and not ("scim" in chosen and not public) and not resource_server:
        raise InvalidInput("A client that signs people in needs at least one redirect URI.")
    secret = None if public else (secret or secrets.token_urlsafe(32))
    if application is None and access == "granted" and redirects:
        application = applications.ensure_application(
            tx, actor, key=_key_of(name), name=name, access="granted"
        )
    if launch_url:
        if application is None:
            raise InvalidInput(
                "A launch address is an application's: name one (--application KEY), or let "
                "the client admit granted users (it then gets one of its own).",
                field="launch_url",
            )
        applications.set_launch_url(tx, actor, application.key, launch_url)
    client = OAuthClient(
        client_id=client_id or secrets.token_hex(16),
        name=clean_text(OAuthClient, "name", name, required=True),
        secret_hash=digest(secret) if secret else None,
        token_endpoint_auth_method="none" if public else "client_secret_basic",
        redirect_uris=redirects,
        post_logout_redirect_uris=[_redirect_uri(u) for u in post_logout_redirect_uris],
        grant_types=_grant_types(chosen, public, bool(redirects)),
        scopes=chosen,
        backchannel_logout_uri=_redirect_uri(backchannel_logout_uri)
        if backchannel_logout_uri
        else None,
        access=access,
        first_party=first_party,
        resource_server=resource_server,
        require_mfa=require_mfa,
        application_id=application.id if application else None,
        account_id=account.id if account else None,
    )
    tx.add(client)
    tx.flush()
    audit.record(
        tx,
        actor,
        "client.created",
        target_type="client",
        target_id=client.id,
        account_id=client.account_id,
        changes={
            "name": client.name,
            "client_id": client.client_id,
            "scopes": chosen,
            "resource_server": resource_server,
            "require_mfa": require_mfa,
        },
    )
    return client, secret


def new_secret(tx: Tx, actor: Actor, client_id: str) -> str:
    """A new secret for a confidential client (the old one stops working at once): after a
    leak, or after an import, which carries no secrets. Returned once; only its hash is kept."""
    if not actor.privileged:
        raise Forbidden("Only support staff can change an application's secret.")
    client = find_client(tx, client_id)
    if client is None:
        raise NotFound(f"No client {client_id}.")
    if client.public:
        raise InvalidInput("A public client has no secret.")
    secret = secrets.token_urlsafe(32)
    client.secret_hash = digest(secret)
    audit.record(
        tx,
        actor,
        "client.secret_changed",
        target_type="client",
        target_id=client.id,
        account_id=client.account_id,
        changes={"client_id": client.client_id},
    )
    return secret


def set_require_mfa(tx: Tx, actor: Actor, client_id: str, required: bool) -> OAuthClient:
    """Whether signing in to the client needs a second factor (sessions signed in with a
    password alone step up at its next sign-in)."""
    if not actor.privileged:
        raise Forbidden("Only support staff change how applications sign people in.")
    client = client_named(tx, client_id)
    if client.require_mfa != required:
        audit.record(
            tx,
            actor,
            "client.updated",
            target_type="client",
            target_id=client.id,
            account_id=client.account_id,
            changes={"require_mfa": [client.require_mfa, required]},
        )
        client.require_mfa = required
    return client


def find_client(tx: Tx, client_id: str) -> OAuthClient | None:
    client = tx.scalar(_CLIENT_BY_ID, {"client_id": client_id})
    return client if client is not None and client.revoked_at is None else None


_CLIENT_BY_ID = select(OAuthClient).where(OAuthClient.client_id == bindparam("client_id"))


def client_row(tx: Reads, client_id: str) -> Any:
    """A live client as a plain row of what a token request is checked with (`client_id`,
    `secret_hash`, `public`, `grant_types`, `scopes`, `account_id`), for a request answered
    without a unit of work (`fetch`)."""
    rows = fetch(tx, _CLIENT_ROW, {"client_id": client_id})
    return rows[0] if rows else None


_CLIENT_ROW = Prepared(
    select(
        OAuthClient.client_id,
        OAuthClient.secret_hash,
        (OAuthClient.token_endpoint_auth_method == "none").label("public"),
        OAuthClient.grant_types,
        OAuthClient.scopes,
        OAuthClient.account_id,
    ).where(OAuthClient.client_id == bindparam("client_id"), OAuthClient.revoked_at.is_(None))
)


def client_named(tx: Tx, client_id: str) -> OAuthClient:
    client = find_client(tx, client_id)
    if client is None:
        raise NotFound(f"No client {client_id!r}.")
    return client


def redirects_to_origin(tx: Tx, origin: str) -> bool:
    """Whether an active client has a redirect URI at this origin (scheme://host[:port])."""
    wanted = origin.strip().lower().rstrip("/")
    for uris in tx.scalars(
        select(OAuthClient.redirect_uris).where(OAuthClient.revoked_at.is_(None))
    ):
        if any(_origin_of(uri) == wanted for uri in uris or ()):
            return True
    return False


def _origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}".lower()


def may_introspect(client: OAuthClient, token: OAuthToken) -> bool:
    """RFC 7662 §4: who may learn what a token says (and whose it is). The client a token was
    issued to (its audience) may; a registered resource server may read any access token, the
    tokens it is shown to check; a refresh token is its client's business alone."""
    if token.client_id == client.client_id:
        return True
    return client.resource_server and token.kind == oauth.ACCESS


def check_secret(client: OAuthClient | Any, secret: str) -> bool:
    """Constant-time comparison of a presented secret with the stored digest."""
    if client.secret_hash is None:
        return False
    return hmac.compare_digest(client.secret_hash, digest(secret))


def all_clients(tx: Tx) -> Sequence[OAuthClient]:
    return tx.scalars(select(OAuthClient).order_by(OAuthClient.name)).all()


def _grant_types(scopes: list[str], public: bool, signs_in: bool) -> list[str]:
    grants = []
    if signs_in:
        grants.append("authorization_code")
        if "offline_access" in scopes:
            grants.append("refresh_token")
    if "scim" in scopes and not public:
        grants.append("client_credentials")
    return grants


def _redirect_uri(uri: str) -> str:
    value = (uri or "").strip()
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise InvalidInput(f"{uri!r} is not an absolute http(s) URI.", field="redirect_uri")
    if parts.fragment:
        raise InvalidInput(f"{uri!r} must not have a fragment.", field="redirect_uri")
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        raise InvalidInput(
            f"{uri!r} must use https (http is allowed for loopback addresses only).",
            field="redirect_uri",
        )
    return value


def _key_of(name: str) -> str:
    """An application key from a client name: `NG Share` -> `ng_share`."""
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")[:64] or "application"
