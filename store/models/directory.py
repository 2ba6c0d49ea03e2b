"""The directory itself: accounts, users with their emails, phone numbers and sign-in names,
groups and their members, applications and who has them.

Columns ending in `_ci` hold the folded key (`fold`) of a case-insensitive attribute so that
equality lookups and uniqueness use an ordinary index on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from sqlalchemy.sql.selectable import ScalarSelect

from store.db import Base, UTCDateTime, now
from store.models.columns import AutoId, BoundedText, Json, Timestamps


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
    user_name: Mapped[str] = mapped_column(BoundedText(255))
    user_name_ci: Mapped[str] = mapped_column(BoundedText(255), unique=True)
    external_id: Mapped[str | None] = mapped_column(BoundedText(255))
    given_name: Mapped[str | None] = mapped_column(BoundedText(255))
    family_name: Mapped[str | None] = mapped_column(BoundedText(255))
    # Case-folded names ('' when absent) for the console's sorting and name search.
    given_name_ci: Mapped[str] = mapped_column(BoundedText(255), default="", server_default="")
    family_name_ci: Mapped[str] = mapped_column(BoundedText(255), default="", server_default="")
    # The case-folded address `primary_email` shows ('' when none), for sorting by email; written
    # with the emails (`primary_email_key`, by user_fields.fill and new_columns).
    primary_email_ci: Mapped[str] = mapped_column(BoundedText(320), default="", server_default="")
    middle_name: Mapped[str | None] = mapped_column(BoundedText(255))
    honorific_prefix: Mapped[str | None] = mapped_column(BoundedText(64))
    honorific_suffix: Mapped[str | None] = mapped_column(BoundedText(64))
    formatted_name: Mapped[str | None] = mapped_column(BoundedText(512))
    display_name: Mapped[str | None] = mapped_column(BoundedText(255))
    nick_name: Mapped[str | None] = mapped_column(BoundedText(255))
    title: Mapped[str | None] = mapped_column(BoundedText(255))
    user_type: Mapped[str | None] = mapped_column(BoundedText(64))
    preferred_language: Mapped[str | None] = mapped_column(BoundedText(64))
    locale: Mapped[str | None] = mapped_column(BoundedText(64))
    timezone: Mapped[str | None] = mapped_column(BoundedText(64))
    profile_url: Mapped[str | None] = mapped_column(BoundedText(1024))
    addresses: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    # Attributes kept as an identity provider sent them (ims, photos, roles, entitlements, ...).
    other_attributes: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    # Enterprise User extension (RFC 7643 §4.3).
    employee_number: Mapped[str | None] = mapped_column(BoundedText(64))
    cost_center: Mapped[str | None] = mapped_column(BoundedText(255))
    organization: Mapped[str | None] = mapped_column(BoundedText(255))
    division: Mapped[str | None] = mapped_column(BoundedText(255))
    department: Mapped[str | None] = mapped_column(BoundedText(255))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Community fields (SPEC §1 Users).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    profile: Mapped[str | None] = mapped_column(BoundedText(32))
    is_support: Mapped[bool] = mapped_column(Boolean, default=False)
    no_longer_at_account: Mapped[bool] = mapped_column(Boolean, default=False)
    preferred_contact_method: Mapped[str] = mapped_column(BoundedText(16), default="email")
    managed_by: Mapped[str | None] = mapped_column(BoundedText(32))
    # Sign-in state.
    password_hash: Mapped[str | None] = mapped_column(BoundedText(255))
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
