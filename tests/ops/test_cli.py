"""The `rollcall` command as an operator uses it: its output and exit codes, and `serve` as a
real process."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from rollcall import cli
from store.models.directory import Account, User
from store.models.sign_in import ProvisioningCredential
from tests.serving import ROLLCALL, clean_env, free_port, run, wait_for


def test_create_account_user_and_token(db, database_url):
    result = run(
        database_url,
        "account",
        "create",
        "Cli Clinic",
        "--kind",
        "enterprise",
        "--entitlement",
        "connected_health",
    )
    assert result.returncode == 0, result.stderr
    assert "Cli Clinic (enterprise)" in result.stdout
    result = run(
        database_url,
        "user",
        "create",
        "--account",
        "cli clinic",
        "--username",
        "cli.user",
        "--email",
        "cli@example.test",
        "--given-name",
        "Cli",
        "--family-name",
        "User",
        "--profile",
        "main",
        "--password",
        "a very long password",
        "--verified",
    )
    assert result.returncode == 0, result.stderr
    result = run(database_url, "token", "create", "--account", "Cli Clinic", "--name", "okta")
    assert result.returncode == 0, result.stderr
    secret = next(
        line.split(": ", 1)[1] for line in result.stdout.splitlines() if line.startswith("token: ")
    )
    with db.transaction(write=False) as tx:
        user = tx.scalar(select(User).where(User.user_name == "cli.user"))
        assert (user.profile, user.email_verified, user.given_name) == ("main", True, "Cli")
        stored = tx.scalar(select(ProvisioningCredential))
        assert secret.startswith("rc_") and stored.token_hint == secret[:9]
    listed = run(database_url, "token", "list", "--account", "Cli Clinic")
    assert "okta" in listed.stdout and secret not in listed.stdout
    made = run(database_url, "token", "create", "--support", "--name", "tooling")
    support_id = made.stdout.splitlines()[0].removeprefix("id: ")
    support_listed = run(database_url, "token", "list", "--support")
    assert support_listed.returncode == 0, support_listed.stderr
    assert support_id in support_listed.stdout and "tooling" in support_listed.stdout
    assert "okta" not in support_listed.stdout  # an account's are not support's


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["user", "create", "--account", "Nowhere", "--username", "x", "--email", "x@y.test"],
            "No account named 'Nowhere'.",
        ),
        (
            ["user", "create", "--username", "x", "--email", "not-an-email"],
            "'not-an-email' is not an email address.",
        ),
        (
            ["user", "create", "--username", "x", "--email", "x@y.test", "--password", "short"],
            "at least 12 characters",
        ),
        (["account", "create", "Bad", "--kind", "hospital"], "Invalid value for '--kind'"),
        (["token", "create"], "Give either --account NAME or --support."),
        (["token", "revoke", "not-a-uuid"], "is not a valid UUID"),
    ],
)
def test_mistakes_end_with_a_reason_and_no_traceback(db, database_url, args, message):
    result = run(database_url, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unreachable_or_unmigrated_database_is_one_line(tmp_path: Path):
    result = run("postgresql://nobody@127.0.0.1:1/none", "demo")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Cannot use the database")
    assert len(result.stderr.strip().splitlines()) == 1
    result = run(f"sqlite:///{tmp_path / 'empty.db'}", "demo")
    assert result.returncode == 1
    assert "run `rollcall db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_command_has_help() -> None:
    """Every command and group answers --help (walked from the command tree, in process)."""
    import click
    from click.testing import CliRunner

    from rollcall.cli import main

    def walk(command: click.Command, path: list[str]):
        yield path
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])

    paths = list(walk(main, []))
    assert ["logout", "send"] in paths and ["client", "create"] in paths
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, path


def test_demo_is_idempotent_and_prints_the_token_once(db, database_url):
    first = run(database_url, "demo")
    assert first.returncode == 0, first.stderr
    assert "SCIM token for NextGen Healthcare (shown once): rc_" in first.stdout
    with db.transaction(write=False) as tx:
        counts = (
            tx.scalar(select(func.count()).select_from(User)),
            tx.scalar(select(func.count()).select_from(Account)),
        )
        profiles = set(tx.scalars(select(User.profile).where(User.profile.is_not(None))))
        kinds = set(tx.scalars(select(Account.kind)))
        support = tx.scalar(select(func.count()).where(User.is_support.is_(True)))
    assert profiles == {
        "main",
        "client",
        "knowledge",
        "read_only",
        "optimization_main",
        "optimization",
        "guest",
    }
    assert kinds == {"enterprise", "office", "optimization_only", "reseller"}
    assert support == 1
    second = run(database_url, "demo")
    assert second.returncode == 0, second.stderr
    assert "rc_" not in second.stdout
    with db.transaction(write=False) as tx:
        assert counts == (
            tx.scalar(select(func.count()).select_from(User)),
            tx.scalar(select(func.count()).select_from(Account)),
        )


@pytest.mark.slow  # served as a process
@pytest.mark.parametrize("workers", ["0", "2"], ids=["development", "gunicorn"])
def test_serve_answers_health_checks(db, database_url, workers):
    port = free_port()
    env = clean_env()
    process = subprocess.Popen(
        [*ROLLCALL, "--database", database_url, "serve", "--port", str(port), "--workers", workers],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        body = wait_for(f"http://127.0.0.1:{port}/healthz", process)
        assert b'"status":"ok"' in body.replace(b" ", b"")
    finally:
        process.terminate()
        _, logged = process.communicate(timeout=30)
    # Each worker counts rate limits apart unless they share a store: the operator is told.
    assert ("ROLLCALL_RATELIMIT_URL" in logged) == (workers == "2")


def _production_env() -> dict[str, str]:
    env = {k: v for k, v in clean_env().items() if k != "ROLLCALL_PASSWORD_HASHING"}
    return env | {
        "ROLLCALL_ENV": "production",
        "ROLLCALL_SECRET_KEY": "s" * 40,
        "ROLLCALL_ISSUER": "https://id.example.com",
    }


@pytest.mark.slow  # served as a process
def test_serve_in_production_runs_gunicorn_not_the_development_server(db, database_url, tmp_path):
    """The probe: `rollcall serve` in production without --workers ran Flask's development
    server. Now it is gunicorn, and asking for the development server is refused."""
    refused = subprocess.run(
        [*ROLLCALL, "--database", database_url, "serve", "--workers", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_production_env(),
    )
    assert refused.returncode == 1 and "not for production" in refused.stderr

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [*ROLLCALL, "--database", database_url, "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            text=True,
            env=_production_env(),
        )
        try:
            body = wait_for(f"http://127.0.0.1:{port}/healthz", process)
            assert b'"status":"ok"' in body.replace(b" ", b"")
        finally:
            process.terminate()
            process.wait(timeout=30)
    said = log.read_text()
    assert "Starting gunicorn" in said and "Booting worker" in said, said
    assert "development server" not in said.lower()


def test_serve_refuses_an_unmigrated_database(tmp_path: Path):
    result = run(f"sqlite:///{tmp_path / 'fresh.db'}", "serve", "--port", str(free_port()))
    assert result.returncode == 1
    assert "run `rollcall db upgrade`" in result.stderr


def test_token_log_shows_what_the_identity_provider_pushed(db, database_url, operator):
    from store import accounts, provisioning_log

    with db.transaction() as tx:
        account = accounts.create_account(tx, operator, name="Logged", kind="enterprise")
        provisioning_log.record(
            tx,
            credential_id=None,
            account_id=account.id,
            method="PATCH",
            path="/scim/v2/Users/1",
            status=409,
            request={"password": "secret"},
            outcome="last main contact",
        )
    result = run(database_url, "token", "log", "--account", "Logged")
    assert result.returncode == 0, result.stderr
    assert "PATCH  /scim/v2/Users/1  409  last main contact" in result.stdout


def test_an_export_to_a_place_that_cannot_be_written_is_one_line(database_url, tmp_path):
    ran = run(database_url, "export", "-o", str(tmp_path / "no" / "such" / "dir.jsonl"))
    assert ran.returncode == 1
    assert ran.stderr.strip().startswith("Error: Cannot write") and "Traceback" not in ran.stderr


def test_a_bad_setting_is_named_as_itself_not_as_the_database(database_url):
    """The commands read ROLLCALL_* when they first need the database: a wrong one says which
    setting is wrong, not 'Bad database URL'."""
    result = CliRunner().invoke(
        cli.main,
        ["token", "list", "--account", "Acme"],
        env={
            "ROLLCALL_ENV": "prod",
            "ROLLCALL_PASSWORD_HASHING": None,
            "ROLLCALL_DATABASE_URL": database_url,
        },
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert "ROLLCALL_ENV must be development or production" in result.stderr
    assert "Bad database URL" not in result.stderr


def test_an_empty_database_option_is_refused_not_taken_for_the_default():
    """`--database "$UNSET"` would otherwise act on rollcall.db in the current directory."""
    result = CliRunner().invoke(cli.main, ["--database", "", "token", "list", "--account", "A"])
    assert result.exit_code == 2 and "--database needs a URL" in result.output
