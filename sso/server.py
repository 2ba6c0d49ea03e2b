"""Authlib's authorization server put together: grants, token format, revocation, introspection.

Access tokens issued for a person are signed JWTs in the RFC 9068 profile (`typ: at+jwt`), so the
linked applications' resource servers may verify them offline against the JWKS. A machine's
token (client credentials: scope scim, read by Rollcall's SCIM API alone) is an opaque random
string, like refresh tokens: its only reader looks it up by hash, so a signature would be work
nobody checks, and a leaked one says nothing. Rollcall keeps the hash of every token, so userinfo,
introspection and SCIM see a revocation at once.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask, g

from sso import keys
from sso.clients import Client
from sso.grants import (
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    IdTokens,
    IdTokensForCodes,
    Person,
    RefreshTokenGrant,
    S256Challenge,
    Token,
    save_token,
    tx,
)
from store import clients, oauth, users
from store.models.directory import User

ACCESS_TOKEN_LIFETIME = 600
SCOPES = list(clients.SCOPES)
MACHINE_GRANT = "client_credentials"  # its tokens are opaque


class AccessTokens(JWTBearerTokenGenerator):
    """RFC 9068 access tokens signed with the current key (the issuer is read per request), or
    for a client-credentials grant an opaque one."""

    def __init__(self) -> None:
        super().__init__(
            issuer="",
            alg=keys.ALGORITHM,
            refresh_token_generator=lambda *_args, **_kw: oauth.new_secret(),
            expires_generator=lambda _client, _grant: ACCESS_TOKEN_LIFETIME,
        )

    @property  # type: ignore[override]
    def issuer(self) -> str:
        return keys.issuer()

    @issuer.setter
    def issuer(self, _value: str) -> None:
        pass

    def access_token_generator(self, client: Client, grant_type: str, user: Any, scope: str) -> str:
        if grant_type == MACHINE_GRANT:
            return oauth.new_secret()
        return super().access_token_generator(client, grant_type, user, scope)

    def get_jwks(self) -> Any:
        return keys.signing_key_set(tx())

    def get_auth_time(self, user: Person | None) -> int | None:
        if user is None or user.auth_time is None:
            return None
        return int(user.auth_time.timestamp())


class Issuer(IssuerParameter):
    """RFC 9207: every authorization response names the issuer, so a client that signs in
    through several providers cannot be handed another provider's code (a mix-up attack)."""

    def get_issuer(self) -> str:
        return keys.issuer()


class _HintOnly:
    """`token_type_hint` is only a hint (RFC 7009 §2.1, RFC 7662 §2.1): every token is looked up
    whatever it says, so a hint this server does not know is no reason to refuse the request."""

    def check_params(self, request: Any, client: Any) -> None:
        if "token" not in request.form:
            raise InvalidRequestError()


class Revocation(_HintOnly, RevocationEndpoint):
    """RFC 7009; public clients identify themselves with client_id alone."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        row = oauth.find_token(tx(), token_string)
        return Token(row) if row else None

    def revoke_token(self, token: Token, request: Any) -> None:
        oauth.revoke(tx(), token.row)


class Introspection(_HintOnly, IntrospectionEndpoint):
    """RFC 7662 for confidential clients: a token's own client, and for access tokens the
    clients registered as resource servers (`clients.may_introspect`); to anyone else, as for a
    dead token, the answer is active: false."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        row = oauth.find_token(tx(), token_string)
        if row is None or not oauth.is_live(row):
            return None
        if row.user_id is not None and users.active_user(tx(), row.user_id) is None:
            return None
        return Token(row)

    def check_permission(self, token: Token, client: Client, request: Any) -> bool:
        return clients.may_introspect(client.row, token.row)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        row = token.row
        payload = {
            "active": True,
            "client_id": row.client_id,
            "scope": row.scope,
            "exp": int(row.expires_at.timestamp()),
            "iat": int(row.created_at.timestamp()),
            "iss": keys.issuer(),
            "sub": str(row.user_id) if row.user_id else row.client_id,
            "aud": row.client_id,
        }
        if row.kind == oauth.ACCESS:  # RFC 7662 §2.2: a type of RFC 6749 §7.1; none for refresh
            payload["token_type"] = "Bearer"
        if row.user_id is not None:
            user = tx().get(User, row.user_id)
            payload["username"] = user.user_name if user else None
        if row.account_id is not None:  # a machine's token: the account it provisions
            payload["account_id"] = str(row.account_id)
        return payload


class Server(AuthorizationServer):
    def create_token_response(self, request: Any = None) -> Any:
        """A token request without grant_type is missing a parameter (RFC 6749 §5.2:
        invalid_request), not asking for a grant type nobody supports."""
        asked = self.create_oauth2_request(request)
        if not asked.payload.grant_type:
            missing = InvalidRequestError("grant_type is required.")
            return self.handle_error_response(asked, missing)
        return super().create_token_response(request)


def create_server(app: Flask) -> AuthorizationServer:
    server = Server(query_client=_query_client, save_token=save_token)
    server.init_app(app)
    server.scopes_supported = SCOPES
    server.register_token_generator("default", AccessTokens())
    server.register_grant(
        AuthorizationCodeGrant, [S256Challenge(required=True), IdTokensForCodes()]
    )
    server.register_grant(RefreshTokenGrant, [IdTokens()])
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    server.register_extension(Issuer())
    return server


def _query_client(client_id: str) -> Client | None:
    """The client, read once per request (Authlib asks again while validating)."""
    known = g.setdefault("oauth_clients", {})
    if client_id not in known:
        row = clients.find_client(tx(), client_id)
        known[client_id] = Client(row) if row else None
    return known[client_id]
