"""Schema changes by Alembic, driven from code so no alembic.ini has to be found on disk."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from store.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Nodes starting together each run `rollcall db upgrade`: on PostgreSQL one migrates while the
# others wait on this lock, then find the schema current.
MIGRATION_LOCK = 0x726F6C6C  # "roll"


def upgrade(database: Database, revision: str = "head") -> None:
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config = alembic_config(database.url)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    analyze(database)


def analyze(database: Database) -> None:
    """Fresh planner statistics after a change of schema or a load of rows (PostgreSQL: a new
    database has none until autovacuum comes by). Sampled, so cheap at any size; SQLite plans
    without statistics, and gets none (its plans are tested that way)."""
    if database.dialect == "postgresql":
        with database.engine.begin() as conn:
            conn.execute(text("ANALYZE"))


@cache
def head() -> str | None:
    """The newest revision shipped with this code (read from disk once)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def is_current(database: Database) -> bool:
    """True when the database is at the newest revision (the server refuses to start otherwise).

    One query, so health checks stay cheap; an unreachable database raises Unavailable.
    """
    with database.engine.connect() as conn:
        try:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except (OperationalError, ProgrammingError):
            return False
    return revision == head()
