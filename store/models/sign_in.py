"""How people and applications get in: SSO sessions, OAuth clients, consents, codes and tokens,
the keys tokens are signed with, emailed single-use links, and the bearer tokens identity
providers use for SCIM."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Base, UTCDateTime, now
from store.models.columns import Json


class ProvisioningCredential(Base):
    """A bearer token an identity provider uses for SCIM; only its SHA-256 is kept."""

    __tablename__ = "provisioning_credentials"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    is_support: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    created_by: Mapped[str | None] = mapped_column(String(255))
    # The person who minted it in the console (None: the operator). No foreign key: the id stays
    # after the person is deleted, as audit events keep theirs.
    minted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SsoSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is kept here."""

    __tablename__ = "sso_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    amr: Mapped[str] = mapped_column(String(128), default="pwd", server_default="pwd")
    acr: Mapped[str | None] = mapped_column(String(128))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip_address: Mapped[str | None] = mapped_column(String(64))


class SsoSessionClient(Base):
    """An application signed in through a session; told by back-channel logout when it ends."""

    __tablename__ = "sso_session_clients"

    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sso_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class OAuthConsent(Base):
    """The scopes a person allowed a (third-party) client; asked again only for new scopes."""

    __tablename__ = "oauth_consents"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    scopes: Mapped[list[str]] = mapped_column(Json, default=list)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class AuthorizationCode(Base):
    """A single-use authorization code (hashed); a replay revokes the tokens it issued."""

    __tablename__ = "oauth_codes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sso_sessions.id", ondelete="SET NULL")
    )
    redirect_uri: Mapped[str] = mapped_column(String(1024))
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    amr: Mapped[str] = mapped_column(String(128), default="pwd", server_default="pwd")
    acr: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthToken(Base):
    """An access or refresh token; only its hash is kept.

    Refresh tokens of one sign-in share a `family_id`: presenting a rotated (used) one again
    revokes the whole family. `code_id` links tokens to the code that issued them.
    """

    __tablename__ = "oauth_tokens"
    __table_args__ = (Index("ix_oauth_tokens_family", "family_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE")
    )
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sso_sessions.id", ondelete="SET NULL"), index=True
    )
    code_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    family_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    auth_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserLink(Base):
    """A single-use emailed link (verify email, reset password, confirm a new address, set a
    first password); only the SHA-256 of its token is kept."""

    __tablename__ = "user_links"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthClient(Base):
    """A linked application that signs people in through Rollcall (an OIDC relying party).

    Only the SHA-256 of its secret is kept (the secret is random and long); public clients
    have none and must use PKCE.
    """

    __tablename__ = "oauth_clients"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    redirect_uris: Mapped[list[str]] = mapped_column(Json, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(Json, default=list)
    grant_types: Mapped[list[str]] = mapped_column(Json, default=list)
    scopes: Mapped[list[str]] = mapped_column(Json, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(1024))
    access: Mapped[str] = mapped_column(String(16), default="granted")
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # An API that checks people's access tokens at the introspection endpoint: it may introspect
    # any client's access token (others only the tokens issued to them).
    resource_server: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Signing in to it needs a second factor: a password-only session steps up first.
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    application_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def public(self) -> bool:
        return self.token_endpoint_auth_method == "none"


class SigningKey(Base):
    """A key the provider signs tokens with, kept in the database so every process agrees.

    A new key is published in the JWKS before it signs (`signs_from`), and an old one stays
    published until the tokens it signed have expired (`published_until`).
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[dict[str, Any]] = mapped_column(Json)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    signs_from: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
