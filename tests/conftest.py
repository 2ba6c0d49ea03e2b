"""Test databases: a fresh SQLite file, or, when ROLLCALL_DATABASE_URL names a PostgreSQL server, a
database of this run's own on it (created here, dropped at the end), so runs never share rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from store import accounts, migrate, users
from store.actors import Actor, ActorType, Door
from store.db import Base, Database, normalize_url
from store.models import Account, User


def _postgres_database() -> Iterator[str]:
    base = make_url(normalize_url(os.environ["ROLLCALL_DATABASE_URL"]))
    name = f"rollcall_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("ROLLCALL_DATABASE_URL", "")
    if configured.startswith(("postgresql", "postgres:")):
        yield from _postgres_database()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'rollcall.db'}"


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def db(migrated: Database) -> Iterator[Database]:
    """The migrated database, emptied after each test."""
    yield migrated
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with migrated.engine.begin() as conn:
        if migrated.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("UPDATE accounts SET parent_id = NULL"))
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def operator() -> Actor:
    return Actor.system(Door.CLI, "test operator")


@pytest.fixture
def make_account(db: Database, operator: Actor) -> Callable[..., Account]:
    def make(name: str | None = None, kind: str = "enterprise", **extra: Any) -> Account:
        with db.transaction() as tx:
            return accounts.create_account(
                tx, operator, name=name or f"Account {uuid.uuid4().hex[:8]}", kind=kind, **extra
            )

    return make


@pytest.fixture
def make_user(db: Database, operator: Actor) -> Callable[..., User]:
    def make(account: Account | None, user_name: str | None = None, **fields: Any) -> User:
        user_name = user_name or f"user.{uuid.uuid4().hex[:8]}"
        fields.setdefault("emails", [{"value": f"{user_name}@example.test", "primary": True}])
        with db.transaction() as tx:
            return users.create_user(
                tx,
                operator,
                account_id=account.id if account else None,
                user_name=user_name,
                **fields,
            )

    return make


@pytest.fixture
def support() -> Actor:
    """Support staff working in the console."""
    return Actor(ActorType.SUPPORT, "support.staff", Door.PORTAL, "support-1")


@pytest.fixture
def enterprise(make_account: Callable[..., Account], make_user: Callable[..., User]) -> Any:
    """An enterprise account with one main contact, and that main contact acting in the console."""
    account = make_account(kind="enterprise", entitlements=["connected_health"])
    main = make_user(account, "main.contact", profile="main", given_name="Mae", family_name="Main")
    return Scene(account, main, Actor.for_user(main, Door.PORTAL))


class Scene:
    def __init__(self, account: Account, main: User, actor: Actor) -> None:
        self.account = account
        self.main = main
        self.actor = actor
