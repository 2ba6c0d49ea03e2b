"""Client Support Center: the logins support imports, and registrants' requests for access."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Base, UTCDateTime, now


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
