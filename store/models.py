"""The directory's data: accounts, users, groups, applications, credentials, audit and outbox.

Models describe data only; what may happen to it is in the operation modules. Columns ending in
`_ci` hold the folded key (`fold`) of a case-insensitive attribute so that equality lookups and
uniqueness use an ordinary index on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from sqlalchemy.sql.selectable import ScalarSelect

from store.db import Base, UTCDateTime, now

Json = JSON().with_variant(JSONB(), "postgresql")
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class _Listed(Protocol):
    primary: bool
    value: str


Entry = TypeVar("Entry", bound=_Listed)


def fold(value: str) -> str:
    """The key names are compared by (userName, email, group name, account name): Unicode
    compatibility normalization, then case folding, then normalization again (case folding may
    leave a text unnormalized). `rené` typed in either normal form is one name, and `amanda` in
    fullwidth letters (U+FF41...) is `amanda`, so neither can sit beside the other."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())


def primary_entry(entries: Iterable[Entry]) -> Entry | None:
    """The entry a user's emails or phone numbers stand for (SPEC §1 Users: one primary): the
    primary one, else the first. `primary_value` says the same in SQL; `User.primary_email_ci`
    keeps it for the console's sort (`primary_email_key`)."""
    entries = list(entries)
    return next((e for e in entries if e.primary), None) or next(iter(entries), None)


def primary_value(model: Any, user_id: Any, column: Any = None) -> ScalarSelect[Any]:
    """`primary_entry` of the user `user_id` names, as a scalar subquery of `column` (the value,
    unless told) of `model` (UserEmail or UserPhoneNumber)."""
    return (
        select(model.value if column is None else column)
        .where(model.user_id == user_id)
        .order_by(model.primary.desc(), model.position)
        .limit(1)
        .scalar_subquery()
    )


def primary_email_key(emails: Iterable[Any]) -> str:
    """What `User.primary_email_ci` holds for these emails: the primary address, case-folded
    ('' when none)."""
    chosen = primary_entry(emails)
    return fold(chosen.value) if chosen else ""


def _same_as_created(context: Any) -> datetime:
    return context.get_current_parameters()["created_at"]


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    modified_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_same_as_created, onupdate=now
    )


class Account(Timestamps, Base):
    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    name_ci: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    entitlements: Mapped[list[str]] = mapped_column(Json, default=list)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), index=True
    )
    legal_name: Mapped[str | None] = mapped_column(String(255))
    practice_specialty: Mapped[str | None] = mapped_column(String(255))
    global_customer_id: Mapped[str | None] = mapped_column(String(64))
    sap_customer_id: Mapped[str | None] = mapped_column(String(64))
    us_only_support: Mapped[bool] = mapped_column(Boolean, default=False)
    time_zone: Mapped[str | None] = mapped_column(String(64))
    billing_address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    fax: Mapped[str | None] = mapped_column(String(64))
    website: Mapped[str | None] = mapped_column(String(255))
    last_reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who must use a second factor (store.mfa_policy): optional, main_contacts or everyone. No
    # default on this side: an account written without it leaves the column to the database.
    mfa_policy: Mapped[str] = mapped_column(String(16), server_default="optional")

    parent: Mapped[Account | None] = relationship(remote_side=[id])

    @validates("name")
    def _fold_name(self, _key: str, value: str) -> str:
        self.name_ci = fold(value)
        return value


class User(Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("ix_users_account_external_id", "account_id", "external_id"),
        Index("ix_users_account_modified", "account_id", "modified_at"),
        Index("ix_users_account_created", "account_id", "created_at", "id"),
        # The Manage Users table: one index per sort order, each ending in the unique userName so
        # a deep page is read from the index alone (and name searches are prefix ranges on them).
        Index(
            "ix_users_account_given_name",
            "account_id",
            "active",
            "given_name_ci",
            "family_name_ci",
            "user_name_ci",
        ),
        Index(
            "ix_users_account_family_name",
            "account_id",
            "active",
            "family_name_ci",
            "given_name_ci",
            "user_name_ci",
        ),
        Index("ix_users_account_user_name", "account_id", "active", "user_name_ci"),
        Index("ix_users_account_profile", "account_id", "active", "profile", "user_name_ci"),
        Index(
            "ix_users_account_last_login", "account_id", "active", "last_login_at", "user_name_ci"
        ),
        Index(
            "ix_users_account_primary_email",
            "account_id",
            "active",
            "primary_email_ci",
            "user_name_ci",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT")
    )
    user_name: Mapped[str] = mapped_column(String(255))
    user_name_ci: Mapped[str] = mapped_column(String(255), unique=True)
    external_id: Mapped[str | None] = mapped_column(String(255))
    given_name: Mapped[str | None] = mapped_column(String(255))
    family_name: Mapped[str | None] = mapped_column(String(255))
    # Case-folded names ('' when absent) for the console's sorting and name search.
    given_name_ci: Mapped[str] = mapped_column(String(255), default="", server_default="")
    family_name_ci: Mapped[str] = mapped_column(String(255), default="", server_default="")
    # The case-folded address `primary_email` shows ('' when none), for sorting by email; written
    # with the emails (`primary_email_key`, by user_fields.fill and new_columns).
    primary_email_ci: Mapped[str] = mapped_column(String(320), default="", server_default="")
    middle_name: Mapped[str | None] = mapped_column(String(255))
    honorific_prefix: Mapped[str | None] = mapped_column(String(64))
    honorific_suffix: Mapped[str | None] = mapped_column(String(64))
    formatted_name: Mapped[str | None] = mapped_column(String(512))
    display_name: Mapped[str | None] = mapped_column(String(255))
    nick_name: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str | None] = mapped_column(String(255))
    user_type: Mapped[str | None] = mapped_column(String(64))
    preferred_language: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    profile_url: Mapped[str | None] = mapped_column(String(1024))
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    # Attributes kept as an identity provider sent them (ims, photos, roles, entitlements, ...).
    other_attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # Enterprise User extension (RFC 7643 §4.3).
    employee_number: Mapped[str | None] = mapped_column(String(64))
    cost_center: Mapped[str | None] = mapped_column(String(255))
    organization: Mapped[str | None] = mapped_column(String(255))
    division: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Community fields (SPEC §1 Users).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    profile: Mapped[str | None] = mapped_column(String(32))
    is_support: Mapped[bool] = mapped_column(Boolean, default=False)
    no_longer_at_account: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_contact_method: Mapped[str] = mapped_column(String(16), default="email")
    managed_by: Mapped[str | None] = mapped_column(String(32))
    # Sign-in state.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}

    account: Mapped[Account | None] = relationship()
    emails: Mapped[list[UserEmail]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserEmail.position"
    )
    phone_numbers: Mapped[list[UserPhoneNumber]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserPhoneNumber.position"
    )
    groups: Mapped[list[Group]] = relationship(
        secondary="memberships", back_populates="members", order_by="Group.display_name"
    )
    applications: Mapped[list[Application]] = relationship(
        secondary="application_grants", order_by="Application.key"
    )

    @validates("user_name")
    def _fold_user_name(self, _key: str, value: str) -> str:
        self.user_name_ci = fold(value)
        return value

    @validates("given_name", "family_name")
    def _fold_name(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_ci", fold(value or ""))
        return value

    @property
    def primary_email(self) -> str | None:
        chosen = primary_entry(self.emails)
        return chosen.value if chosen else None

    @property
    def phone_number(self) -> str | None:
        """The preferred number (OIDC `phone_number`): the primary one, else the first."""
        chosen = primary_entry(self.phone_numbers)
        return chosen.value if chosen else None

    @property
    def externally_managed(self) -> bool:
        return self.managed_by is not None


class UserEmail(Base):
    __tablename__ = "user_emails"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str] = mapped_column(String(320))
    value_ci: Mapped[str] = mapped_column(String(320), index=True)
    type: Mapped[str | None] = mapped_column(String(32))
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    display: Mapped[str | None] = mapped_column(String(320))

    user: Mapped[User] = relationship(back_populates="emails")

    @validates("value")
    def _fold_value(self, _key: str, value: str) -> str:
        self.value_ci = fold(value)
        return value


class SignInName(Base):
    """A name typed at sign-in, a userName or a user's primary address (case-folded), and the one
    user it reaches (SPEC §1 Users: sign-in names are unambiguous). The primary key holds each
    name once, whichever door writes it and however concurrently (store.sign_in_names)."""

    __tablename__ = "sign_in_names"

    name_ci: Mapped[str] = mapped_column(String(320), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )


class UserPhoneNumber(Base):
    __tablename__ = "user_phone_numbers"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str | None] = mapped_column(String(32))
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    display: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship(back_populates="phone_numbers")


class Group(Timestamps, Base):
    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("account_id", "display_name_ci", name="uq_groups_account_display_name"),
        Index("ix_groups_account_external_id", "account_id", "external_id"),
        Index("ix_groups_account_created", "account_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(255))
    display_name_ci: Mapped[str] = mapped_column(String(255))
    is_contact_role: Mapped[bool] = mapped_column(Boolean, default=False)
    external_id: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}

    members: Mapped[list[User]] = relationship(
        secondary="memberships", back_populates="groups", order_by="User.user_name_ci"
    )

    @validates("display_name")
    def _fold_display_name(self, _key: str, value: str) -> str:
        self.display_name_ci = fold(value)
        return value


class Membership(Base):
    __tablename__ = "memberships"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Application(Base):
    __tablename__ = "applications"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    launch_url: Mapped[str | None] = mapped_column(String(1024))
    access: Mapped[str] = mapped_column(String(16), default="granted")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class ApplicationGrant(Base):
    __tablename__ = "application_grants"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    # Who gave it (store.access.GRANT_SOURCES); None for grants older than revision 0012.
    granted_by: Mapped[str | None] = mapped_column(String(32))


class GroupApplication(Base):
    """A group of an account that carries an application: its members have it while they are
    members (SPEC §1 Applications: a pushed group mapped to an application)."""

    __tablename__ = "group_applications"

    group_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    application_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


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


class AuditEvent(Base):
    """Who did what through which door; kept without foreign keys so it outlives its subjects."""

    __tablename__ = "audit_events"
    appended_at_commit = True  # only ever added: written last, together (statements.write_appended)
    __table_args__ = (
        Index("ix_audit_events_account_at", "account_id", "at"),
        Index("ix_audit_events_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    actor_type: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str] = mapped_column(String(255))
    door: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    changes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class OutboxMessage(Base):
    """A message to deliver after the transaction that caused it commits (mail, logout calls)."""

    __tablename__ = "outbox_messages"
    appended_at_commit = True  # only ever added: written last, together (statements.write_appended)
    __table_args__ = (Index("ix_outbox_messages_pending", "sent_at", "available_at"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


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


class CscDirectoryEntry(Base):
    """A Client Support Center login, imported by support, that registration may verify."""

    __tablename__ = "csc_directory"

    user_name_ci: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class CscAccessRequest(Base):
    """A registrant's request for Client Support Center access; support decides within 72 h."""

    __tablename__ = "csc_access_requests"
    __table_args__ = (Index("ix_csc_access_requests_open", "decided_at", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)
    # What support needs to tell who the person is (the form of "would like access").
    organization: Mapped[str | None] = mapped_column(String(255))
    customer_number: Mapped[str | None] = mapped_column(String(64))


class ProvisioningLogEntry(Base):
    """One change request an identity provider sent, and what came of it (kept 30 days)."""

    __tablename__ = "provisioning_log"
    appended_at_commit = True  # only ever added: written last, together (statements.write_appended)
    __table_args__ = (
        Index("ix_provisioning_log_account_at", "account_id", "at"),
        Index("ix_provisioning_log_credential_at", "credential_id", "at"),
    )

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)
    credential_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(1024))
    status: Mapped[int] = mapped_column(Integer)
    request: Mapped[dict[str, Any] | None] = mapped_column(Json)
    outcome: Mapped[str | None] = mapped_column(Text)
    resource_id: Mapped[str | None] = mapped_column(String(64))


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
