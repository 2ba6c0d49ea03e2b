"""Column types and timestamps the models share: JSON that is JSONB on PostgreSQL, integer keys
SQLite numbers as it does its own, and when a row was created and last changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from store.db import UTCDateTime, now

Json = JSON().with_variant(JSONB(), "postgresql")
AutoId = BigInteger().with_variant(Integer(), "sqlite")


def _same_as_created(context: Any) -> datetime:
    return context.get_current_parameters()["created_at"]


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    modified_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_same_as_created, onupdate=now
    )
