"""The grants Rollcall's OpenID Provider offers, each an Authlib grant with storage plugged in.

Authlib runs the protocol; these classes only say where codes and tokens live (`store.oauth`) and
who the user is. Every hook runs inside the request's transaction (`g.oauth_tx`), which the view
opens around the Authlib call, so a token response is committed entirely or not at all.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import grants, scope_to_list
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc6749.models import TokenMixin
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode, OpenIDToken
from authlib.oidc.core.models import AuthorizationCodeMixin
from flask import g

from rollcall.web import metrics
from sso import claims, keys
from sso.clients import Client
from store import access, oauth, sso_sessions, users
from store.assurance import Proof
from store.db import Tx, now
from store.models.directory import User
from store.models.sign_in import AuthorizationCode, OAuthToken
from store.statements import Reads

ID_TOKEN_LIFETIME = 300
REFRESH_LIFETIME = 30 * 24 * 3600


def tx() -> Tx:
    """The transaction of the OAuth request being handled."""
    return g.oauth_tx


@dataclass
class Person:
    """The user a grant acts for, with the sign-in it comes from."""

    user: User
    session_id: uuid.UUID | None = None
    auth_time: datetime | None = None
    proof: Proof | None = None

    def get_user_id(self) -> str:
        return str(self.user.id)


class Code(AuthorizationCodeMixin):
    def __init__(self, row: AuthorizationCode) -> None:
        self.row = row

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return Proof.stored(self.row.amr, self.row.acr).acr

    def get_amr(self) -> list[str]:
        return list(Proof.stored(self.row.amr, self.row.acr).amr)


class Token(TokenMixin):
    def __init__(self, row: OAuthToken) -> None:
        self.row = row

    def check_client(self, client: Client) -> bool:
        return self.row.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return max(0, int(self.row.expires_at.timestamp() - time.time()))

    def is_expired(self) -> bool:
        return self.row.expires_at.timestamp() <= time.time()

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None


class S256Challenge(CodeChallenge):
    """PKCE with S256 only; public clients must use it (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if grant.request.client.public and not data.get("code_challenge"):
            raise InvalidRequestError(
                "Public clients must use PKCE (code_challenge with S256).",
                redirect_uri=redirect_uri,
            )
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError(
                "code_challenge_method must be S256.", redirect_uri=redirect_uri
            )
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: Code) -> str | None:
        return authorization_code.row.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Code) -> str | None:
        return authorization_code.row.code_challenge_method


class IdTokens(OpenIDToken):
    """ID tokens signed with the current key; `sid` names the SSO session for logout."""

    def resolve_client_private_key(self, client: Client) -> Any:
        return keys.signing_key(tx())

    def get_client_algorithm(self, client: Client) -> str:
        return keys.ALGORITHM

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": keys.ALGORITHM, "kid": keys.signing_key(tx()).kid, "typ": "JWT"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        moment = int(time.time())
        return {
            "iss": keys.issuer(),
            "aud": client.get_client_id(),
            "iat": moment,
            "exp": moment + ID_TOKEN_LIFETIME,
            "azp": client.get_client_id(),
        }

    def get_compatible_claims(self, request: Any) -> dict[str, Any]:
        found = self.get_client_claims(request.client)
        person: Person = request.user
        if person.auth_time is not None:
            found["auth_time"] = int(person.auth_time.timestamp())
        if person.session_id is not None:
            found["sid"] = str(person.session_id)
        return found

    def generate_user_info(self, user: Person, scope: str) -> dict[str, Any]:
        return claims.claims_for(tx(), user.user, set(scope_to_list(scope) or ()))


class IdTokensForCodes(IdTokens, OpenIDCode):
    def __init__(self) -> None:
        OpenIDCode.__init__(self, require_nonce=False)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # nonces are bound to one single-use code; the client checks its own


class OnceEach:
    """RFC 6749 §3.1 and §3.2: request parameters MUST NOT be included more than once, at the
    authorization endpoint (Authlib checks five of them) and at the token endpoint (none)."""

    request: Any

    @staticmethod
    def validate_no_multiple_request_parameter(request: Any) -> None:
        refuse_repeated(request)

    def validate_token_request(self) -> None:
        refuse_repeated(self.request)
        refuse_two_client_authentications(self.request)
        super().validate_token_request()  # type: ignore[misc]


def refuse_two_client_authentications(request: Any) -> None:
    """RFC 6749 §2.3: a client MUST NOT use more than one authentication method in a request
    (HTTP Basic and a client_secret in the body); which one would count is left unsaid."""
    basic = request.headers.get("Authorization", "").lower().startswith("basic ")
    if basic and "client_secret" in request.payload.data:
        raise InvalidRequestError(
            "The client authenticated twice (HTTP Basic and client_secret); use one method."
        )


def refuse_repeated(request: Any) -> None:
    for name, values in request.payload.datalist.items():
        if len(values) > 1:
            raise InvalidRequestError(
                f"The parameter '{name}' was sent more than once.", state=request.payload.state
            )


class AuthorizationCodeGrant(OnceEach, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def validate_requested_scope(self) -> None:
        """Scope values this server does not know are ignored, not refused (OIDC Core
        §3.1.2.1): the client's registered scopes, all of them known ones, decide what is
        granted (`Client.get_allowed_scope`), so `openid address` signs in with `openid`."""

    def save_authorization_code(self, code: str, request: Any) -> None:
        person: Person = request.user
        data = request.payload.data
        oauth.save_code(
            tx(),
            code,
            client_id=request.client.get_client_id(),
            user_id=person.user.id,
            session_id=person.session_id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "",
            nonce=data.get("nonce"),
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            auth_time=person.auth_time or now(),
            proof=person.proof,
        )

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        row = oauth.find_code(tx(), code, client.get_client_id())
        return Code(row) if row else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        oauth.use_code(tx(), authorization_code.row)

    def authenticate_user(self, authorization_code: Code) -> Person | None:
        row = authorization_code.row
        if row.session_id is not None and sso_sessions.has_ended(tx(), row.session_id):
            return None  # signed out between the code and its exchange
        user = users.active_user(tx(), row.user_id, details=True)
        if user is None:
            return None
        if not access.may_open(tx(), user, self.request.client.row):
            return None
        return Person(user, row.session_id, row.auth_time, Proof.stored(row.amr, row.acr))

    def generate_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        scope = kwargs.get("scope") or ""
        kwargs["include_refresh_token"] = kwargs.get(
            "include_refresh_token", False
        ) and "offline_access" in scope_to_list(scope)
        return super().generate_token(*args, **kwargs)


class RefreshTokenGrant(OnceEach, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        client = self.request.client
        row = oauth.find_refresh(tx(), refresh_token, client.get_client_id())
        return Token(row) if row else None

    def authenticate_user(self, refresh_token: Token) -> Person:
        """The person, while they may still use this application; else `invalid_grant`
        (RFC 6749 §5.2: sign in again), where Authlib would answer `invalid_request`."""
        row = refresh_token.row
        user = users.active_user(tx(), row.user_id, details=True)
        if user is None:
            raise InvalidGrantError("The person this token was issued to can no longer sign in.")
        if not access.may_open(tx(), user, self.request.client.row):
            raise InvalidGrantError("The person no longer has access to this application.")
        return Person(user, None, row.auth_time)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        oauth.rotate(tx(), refresh_token.row)


class ClientCredentialsGrant(OnceEach, grants.ClientCredentialsGrant):
    """A machine acting for the account its client is bound to (scope scim: SCIM access)."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        if not registered_for(self.request.client, self.request.payload.scope):
            raise InvalidScopeError("The client may not ask for these scopes.")


def registered_for(client: Client, scope: str | None) -> bool:
    """Whether a machine asks only for scopes its client was registered with."""
    return set(scope_to_list(scope) or ()) <= set(client.row.scopes)


def save_token(token: dict[str, Any], request: Any) -> None:
    """Keep the hashes of what the token endpoint just issued, with what they are about."""
    code = getattr(request, "authorization_code", None)
    previous = getattr(request, "refresh_token", None)
    keep_issued(tx(), token, request.client, request.user, code, previous)
    metrics.token_issued(request.payload.grant_type or "unknown")


def keep_issued(
    tx: Reads,
    token: dict[str, Any],
    client: Client,
    person: Person | None = None,
    code: Code | None = None,
    previous: Token | None = None,
) -> None:
    """Keep the hashes of an issued token response: for `person`, else for the client's account;
    from an authorization `code` or a `previous` refresh token (whose family it joins)."""
    family = previous.row.family_id if previous is not None else uuid.uuid4()
    about = oauth.Issued(
        client_id=client.get_client_id(),
        scope=token.get("scope", ""),
        user_id=person.user.id if person else None,
        account_id=None if person else client.row.account_id,
        session_id=person.session_id if person else None,
        code_id=code.row.id if code is not None else None,
        family_id=family,
        auth_time=person.auth_time if person else None,
    )
    expires_in = int(token.get("expires_in", 0))
    oauth.save_token(tx, oauth.ACCESS, token["access_token"], expires_in, about)
    if token.get("refresh_token"):
        refresh_about = oauth.Issued(**(about.__dict__ | {"session_id": None}))
        oauth.save_token(tx, oauth.REFRESH, token["refresh_token"], REFRESH_LIFETIME, refresh_about)
