"""What is only ever appended: the audit trail, the outbox of messages delivered after the
transaction that caused them commits, and the log of identity providers' provisioning requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Base, UTCDateTime, now
from store.models.columns import AutoId, Json


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
