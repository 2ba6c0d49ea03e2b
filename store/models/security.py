"""Second factors and federation: accounts' own OpenID providers, passkeys and their ceremonies,
authenticator apps, recovery codes, and the deployment's settings (whether everyone needs a
second factor)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.db import Base, UTCDateTime, now
from store.models.columns import Json


class FederationConnection(Base):
    """An account's own OpenID provider (Okta, Entra ID, ...) that signs its people in.

    The client secret is kept as given (Rollcall must present it to the provider) and never
    shown back in full; `claim` names the ID token claim that identifies the person, `link_by`
    the user attribute it is compared with.
    """

    __tablename__ = "federation_connections"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), unique=True
    )
    display_name: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(String(1024))
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret: Mapped[str] = mapped_column(String(1024))
    scopes: Mapped[str] = mapped_column(String(255), default="openid email profile")
    claim: Mapped[str] = mapped_column(String(32), default="sub")
    link_by: Mapped[str] = mapped_column(String(16), default="externalId")
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    create_users: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, onupdate=now)

    domains: Mapped[list[FederationDomain]] = relationship(
        cascade="all, delete-orphan", order_by="FederationDomain.domain"
    )


class FederationDomain(Base):
    """An email domain that belongs to one account's connection (a domain has one owner)."""

    __tablename__ = "federation_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_connections.id", ondelete="CASCADE"), index=True
    )


class FederationLogin(Base):
    """A sign-in sent to an upstream provider and not back yet: what its callback must match.
    Only the SHA-256 of `state` is kept; the row is consumed by the callback, so a state works
    once."""

    __tablename__ = "federation_logins"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_connections.id", ondelete="CASCADE"), index=True
    )
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(Text)  # an authorize URL can be long
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Passkey(Base):
    """A passkey or security key a person added (WebAuthn): its public key and how it counts.

    `amr` is what signing in with it earns (RFC 8176): `hwk` for a roaming security key bound to
    one device, `swk` for a platform or synced passkey (store.passkeys says why).
    """

    __tablename__ = "passkeys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE_Key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(Json, default=list)
    name: Mapped[str] = mapped_column(String(100))
    aaguid: Mapped[str] = mapped_column(String(36))
    amr: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasskeyChallenge(Base):
    """A WebAuthn ceremony under way: the SHA-256 of the challenge the browser was given, whose
    sign-in it is for (none: a passwordless sign-in) and until when; used once."""

    __tablename__ = "passkey_challenges"

    challenge_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TotpFactor(Base):
    """A person's authenticator app (RFC 6238): the shared secret, which counts only once a code
    confirmed it, and the last time step a code was accepted for, so no code works twice.

    The secret is stored as is: Rollcall has no key for encryption at rest (SECURITY.md)."""

    __tablename__ = "totp_factors"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """A single-use recovery code, kept as the SHA-256 of the user's id and the code."""

    __tablename__ = "recovery_codes"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeploymentSetting(Base):
    """A setting of the whole deployment that support changes at a page (so every process reads
    the same): `mfa_required` asks every person for a second factor."""

    __tablename__ = "deployment_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(Json)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
