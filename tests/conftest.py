"""Test databases: a fresh SQLite file, or, when ROLLCALL_DATABASE_URL names a PostgreSQL server, a
database of this run's own on it (created here, dropped at the end), so runs never share rows.
Under pytest-xdist each worker is a run of its own: its own file, its own database."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from rollcall import senders
from rollcall.settings import password_hashing
from rollcall.web import limits
from store import accounts, migrate, new_users, passwords, signing_keys
from store.actors import Actor, ActorType, Door
from store.db import Base, Database, scratch_database
from store.models.directory import Account, User
from tests.browser import (  # noqa: F401  (fixtures for page tests)
    chromium,
    live_server,
    page,
    second_page,
)
from tests.mail import mailbox, smtp_server  # noqa: F401  (the SMTP server catching mails)
from tests.oidc_fixtures import provider  # noqa: F401  (Rollcall as an OpenID Provider)
from tests.outage import Proxy
from tests.scim_http import ScimClient
from tests.serving import TEST_SETTINGS


def pytest_configure(config: pytest.Config) -> None:
    # Cheap Argon2id in this process and in the `rollcall` commands it runs in process; the
    # servers and commands started as subprocesses get it from tests/serving.py's clean_env().
    os.environ.update(TEST_SETTINGS)
    passwords.use_cost(password_hashing())


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("ROLLCALL_DATABASE_URL", "")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")  # gw0, gw1, ... under xdist
    if configured.startswith(("postgresql", "postgres:")):
        with scratch_database(configured, f"rollcall_test_{worker}") as url:
            yield url
    else:  # the temporary directory is the worker's own already
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / f'rollcall-{worker}.db'}"


@pytest.fixture(scope="session")
def migrated(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate.upgrade(database)
    yield database
    database.dispose()


_emptied = itertools.count(1)
TRUNCATE_EVERY = 100  # tests


@pytest.fixture
def db(migrated: Database) -> Iterator[Database]:
    """The migrated database, emptied after each test (once what it queued has been sent).

    Emptied by DELETE: PostgreSQL's TRUNCATE makes new files for every table and index, about
    15 times the time of deleting a test's few rows. Every hundredth time it truncates, so
    that the rows deleted do not pile up in tables no one vacuums."""
    yield migrated
    senders.wait()
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    emptying = ["UPDATE accounts SET parent_id = NULL", *(f"DELETE FROM {t}" for t in tables)]
    with migrated.engine.begin() as conn:
        if migrated.dialect == "postgresql" and next(_emptied) % TRUNCATE_EVERY == 0:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        elif migrated.dialect == "postgresql":  # in one round trip (no parameters)
            conn.exec_driver_sql("; ".join(emptying))
        else:
            for statement in emptying:
                conn.execute(text(statement))
    signing_keys.forget()  # the keys this process signed with are gone with the tables


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
        fields.setdefault("send_sign_in_email", False)  # a precondition, not the mail under test
        with db.transaction() as tx:
            return new_users.create_user(
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
def assign_domain(db: Database, support: Actor) -> Callable[[Account, str], None]:
    """Support assigns an email domain to an account (its sign-in connection's domains)."""
    from store import federation

    def assign(account: Account, domain: str) -> None:
        with db.transaction() as tx:
            federation.create_connection(
                tx,
                support,
                account.id,
                issuer=f"https://login.{domain}",
                client_id="rollcall",
                client_secret="s3cret",
                domains=[domain],
            )

    return assign


@pytest.fixture
def enterprise(make_account: Callable[..., Account], make_user: Callable[..., User]) -> Any:
    """An enterprise account with one main contact, and that main contact acting in the console."""
    account = make_account(kind="enterprise", entitlements=["connected_health"])
    main = make_user(account, "main.contact", profile="main", given_name="Mae", family_name="Main")
    return EnterpriseAccount(account, main, Actor.for_user(main, Door.PORTAL))


class EnterpriseAccount:
    def __init__(self, account: Account, main: User, actor: Actor) -> None:
        self.account = account
        self.main = main
        self.actor = actor
        # The account's identity provider, as its provisioning token makes it act.
        self.okta = Actor(
            ActorType.CREDENTIAL, "token okta", Door.SCIM, "c1", account.id, manages_users=True
        )


# SCIM over HTTP: the app, provisioning tokens, and a client that speaks /scim/v2.


@pytest.fixture(scope="session")
def served_apps(migrated: Database) -> dict[bool, Any]:
    """The app with the dispatcher and without, each made once per run as a server makes it
    once: Flask building its URL map and templates is most of what making an app costs."""
    from rollcall.app import create_app
    from rollcall.settings import Settings

    return {
        dispatch: create_app(Settings(database_url=migrated.url, dispatch=dispatch), migrated)
        for dispatch in (True, False)
    }


@pytest.fixture(params=[True, False], ids=["dispatched", "flask"])
def app(db: Database, served_apps: dict[bool, Any], request: pytest.FixtureRequest) -> Any:
    """The app, with the plain hot requests answered by the dispatcher, and again by Flask alone:
    every HTTP test shows both ways answer alike. Each test starts with no rate limit counted."""
    limits.limiter.storage.reset()
    return served_apps[request.param]


@pytest.fixture
def proxy(db: Database) -> Iterator[Proxy]:
    """A proxy between Rollcall and the test database's PostgreSQL server that the test cuts
    (tests/outage.py); outage tests are PostgreSQL's: SQLite has no server to lose."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite has no server to lose")
    with Proxy(db.url) as proxy:
        yield proxy


@pytest.fixture(params=[True, False], ids=["dispatched", "flask"])
def app_via_proxy(proxy: Proxy, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The app (with and without the dispatcher) on the test database, through `proxy`."""
    from rollcall.app import create_app
    from rollcall.settings import Settings

    database = Database(proxy.url)
    yield create_app(Settings(database_url=proxy.url, dispatch=request.param), database)
    database.dispose()


@pytest.fixture
def make_token(db: Database, operator: Actor) -> Callable[..., str]:
    """A provisioning token's secret for an account (None: a support token)."""
    from store import credentials

    def make(account: Account | None, name: str = "okta") -> str:
        with db.transaction() as tx:
            _, secret = credentials.create_credential(
                tx, operator, account_id=account.id if account else None, name=name
            )
        return secret

    return make


@pytest.fixture
def scim_client(app: Any) -> Callable[[str | None], ScimClient]:
    """A SCIM client of the app for a token (None: no Authorization header)."""
    return lambda token: ScimClient(app.test_client(), token)


@pytest.fixture
def scim(
    enterprise: EnterpriseAccount, make_token: Callable[..., str], scim_client: Any
) -> ScimClient:
    """The enterprise account's identity provider, holding a token named okta."""
    return scim_client(make_token(enterprise.account, "okta"))


@pytest.fixture
def unmigrated(tmp_path: Any) -> Iterator[Database]:
    """A database of its own with no schema yet, for a test that migrates it step by step (a
    migration's handling of rows an older schema allowed)."""
    configured = os.environ.get("ROLLCALL_DATABASE_URL", "")
    if configured.startswith(("postgresql", "postgres:")):
        with scratch_database(configured, "rollcall_migration") as url:
            database = Database(url)
            yield database
            database.dispose()
        return
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    yield database
    database.dispose()
