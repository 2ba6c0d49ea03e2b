"""Backup and move: `rollcall export` writes the directory as JSON Lines and `rollcall import`
reads it into an empty database of the other kind (SQLite to PostgreSQL and back), where the
same export comes out again, people keep their passwords and clients get new secrets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from store import migrate, signin
from store.db import Database, scratch_database
from tests.serving import run

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_up() -> bool:
    try:
        with create_engine(POSTGRES).connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


@pytest.fixture
def other_database(db: Database, tmp_path: Path) -> Iterator[Database]:
    """An empty migrated database of the other kind than the suite's (a second SQLite file when
    no PostgreSQL answers)."""
    if db.dialect == "postgresql" or not postgres_up():
        target = Database(f"sqlite:///{tmp_path / 'moved.db'}")
        migrate.upgrade(target)
        yield target
        target.dispose()
        return
    with scratch_database(POSTGRES, "rollcall_backup") as url:
        target = Database(url)
        migrate.upgrade(target)
        yield target
        target.dispose()


def rows(path: Path) -> list[tuple[str, str]]:
    """An export's lines, comparable whatever the database's order and column order."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted((e["table"], json.dumps(e["row"], sort_keys=True)) for e in lines)


@pytest.mark.slow
def test_the_directory_moves_to_the_other_database_and_back_unchanged(
    db: Database, other_database: Database, tmp_path: Path
) -> None:
    assert run(db.url, "demo").returncode == 0
    exported = tmp_path / "directory.jsonl"
    done = run(db.url, "export", "--output", str(exported))
    assert done.returncode == 0, done.stderr
    assert "exported" in done.stdout and "users" in done.stdout
    tables = {json.loads(line)["table"] for line in exported.read_text().splitlines()}
    assert {"accounts", "users", "groups", "memberships", "oauth_clients"} <= tables
    assert "secret_hash" not in exported.read_text()

    moved = run(other_database.url, "import", str(exported))
    assert moved.returncode == 0, moved.stderr
    assert "rollcall client secret" in moved.stdout
    again = tmp_path / "again.jsonl"
    assert run(other_database.url, "export", "--output", str(again)).returncode == 0
    assert rows(again) == rows(exported)

    with other_database.transaction() as tx:  # people keep their passwords
        assert signin.authenticate(tx, "support", "community-demo-2026").user_name == "support"

    twice = run(other_database.url, "import", str(exported))
    assert twice.returncode == 1 and "import into an empty one" in twice.stderr


def test_an_export_without_passwords_and_a_broken_line_refused(
    db: Database, other_database: Database, tmp_path: Path, make_account: Any, make_user: Any
) -> None:
    make_user(make_account("Acme"), "pat", password="Secret-pass-123")
    bare = tmp_path / "bare.jsonl"
    assert run(db.url, "export", "-o", str(bare), "--without-passwords").returncode == 0
    assert "password_hash" not in bare.read_text()

    broken = tmp_path / "broken.jsonl"
    broken.write_text(bare.read_text() + '{"table": "signing_keys", "row": {}}\n')
    refused = run(other_database.url, "import", str(broken))
    assert refused.returncode == 1 and "names no table of the directory" in refused.stderr
    with other_database.transaction() as tx:  # all or nothing
        assert tx.execute(text("SELECT count(*) FROM accounts")).scalar() == 0


def test_a_client_gets_a_new_secret(db: Database) -> None:
    created = run(
        db.url, "client", "create", "--name", "Moved app", "--redirect-uri", "https://a.test/cb"
    )
    client_id = created.stdout.split("client_id: ")[1].split()[0]
    first = created.stdout.split("client_secret: ")[1].split()[0]
    changed = run(db.url, "client", "secret", client_id)
    assert changed.returncode == 0
    assert changed.stdout.startswith("client_secret: ") and first not in changed.stdout
    assert run(db.url, "client", "secret", "nope").returncode == 1


def test_second_factors_the_csc_directory_and_settings_move_unless_left_out(
    db: Database, other_database: Database, make_user: Any, operator: Any
) -> None:
    """A move kept passkeys but lost authenticator apps, recovery codes, the CSC directory and
    "a second factor everywhere" (a README walk): people with an app then signed in without it.
    Left out with the passwords (`--without-passwords`), as secrets of the same kind."""
    import io

    from store import backup, csc, mfa, mfa_policy
    from tests.authenticator_app import enrol

    person = make_user(None, "pat.person", password="Secret-pass-123")
    enrol(db, person)  # an authenticator app, and recovery codes with it
    with db.transaction() as tx:
        csc.import_csv(tx, operator, io.StringIO("username,password\nerin.csc,csc secret 123\n"))
        mfa_policy.require_everywhere(tx, operator, True)
    bare, full = io.StringIO(), io.StringIO()
    backup.export(db, bare, passwords=False)
    backup.export(db, full)
    assert not {"totp_factors", "recovery_codes", "csc_directory"} & {
        json.loads(line)["table"] for line in bare.getvalue().splitlines()
    }
    backup.import_(other_database, operator, full.getvalue().splitlines())
    with other_database.transaction() as tx:
        moved = tx.get(type(person), person.id)
        assert mfa.methods_of(tx, moved) == {"totp", "recovery_codes"}
        assert csc.LocalDirectory().verify(tx, "erin.csc", "csc secret 123") is not None
        assert mfa_policy.required_everywhere(tx)
