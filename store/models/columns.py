"""Column types and timestamps the models share: JSON that is JSONB on PostgreSQL, integer keys
SQLite numbers as it does its own, and when a row was created and last changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from store.db import UTCDateTime, now

Json = JSON().with_variant(JSONB(), "postgresql")
AutoId = BigInteger().with_variant(Integer(), "sqlite")


def BoundedText(length: int) -> String:
    """Text of at most `length` characters, checked by `store.validation`, declared without its
    length on PostgreSQL: there each VARCHAR(n) adds hundreds of bytes to the width the planner
    gives a row of a table it has not counted, and a users row came to more than a page, so
    a new directory's users were planned as one row (bench/README.md, paging)."""
    return String(length).with_variant(String(), "postgresql")


def _same_as_created(context: Any) -> datetime:
    return context.get_current_parameters()["created_at"]


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    modified_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=_same_as_created, onupdate=now
    )
