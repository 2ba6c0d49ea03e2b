"""Settings read from the environment: what production insists on."""

from __future__ import annotations

import subprocess

import pytest

from rollcall.settings import (
    DEVELOPMENT_SECRET,
    Settings,
    SettingsError,
    password_hashing,
    private_providers,
)
from store import passwords
from tests.serving import ROLLCALL, clean_env

PRODUCTION = {
    "ROLLCALL_ENV": "production",
    "ROLLCALL_SECRET_KEY": "s" * 40,
    "ROLLCALL_ISSUER": "https://id.example.com/",
}


def test_development_needs_nothing() -> None:
    settings = Settings.from_env({})
    assert settings.development and settings.secret_key == DEVELOPMENT_SECRET
    assert settings.issuer == ""


def test_production_with_its_secret_and_issuer() -> None:
    settings = Settings.from_env(PRODUCTION)
    assert not settings.development and settings.issuer == "https://id.example.com"


@pytest.mark.parametrize("missing", ["ROLLCALL_SECRET_KEY", "ROLLCALL_ISSUER"])
def test_production_refuses_to_start_without(missing: str) -> None:
    env = {key: value for key, value in PRODUCTION.items() if key != missing}
    with pytest.raises(SettingsError, match=missing):
        Settings.from_env(env)


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(SettingsError, match="ROLLCALL_ENV"):
        Settings.from_env({"ROLLCALL_ENV": "staging"})


def test_passwords_are_hashed_at_the_standard_cost_unless_told() -> None:
    assert Settings.from_env({}).password_hashing == "standard"
    assert Settings.from_env(PRODUCTION).password_hashing == "standard"
    cheap = {"ROLLCALL_PASSWORD_HASHING": "cheap"}
    assert Settings.from_env(cheap).password_hashing == "cheap"


def test_production_refuses_cheap_password_hashing() -> None:
    with pytest.raises(SettingsError, match="ROLLCALL_PASSWORD_HASHING"):
        Settings.from_env(PRODUCTION | {"ROLLCALL_PASSWORD_HASHING": "cheap"})
    with pytest.raises(SettingsError, match="ROLLCALL_PASSWORD_HASHING"):
        password_hashing({"ROLLCALL_ENV": "production", "ROLLCALL_PASSWORD_HASHING": "cheap"})
    with pytest.raises(SettingsError, match="ROLLCALL_PASSWORD_HASHING"):
        Settings(environment="production", password_hashing="cheap")


@pytest.mark.slow  # the `rollcall` command run as a process
def test_the_rollcall_command_refuses_cheap_password_hashing_in_production(tmp_path) -> None:
    env = clean_env() | PRODUCTION | {"ROLLCALL_PASSWORD_HASHING": "cheap"}
    result = subprocess.run(
        [*ROLLCALL, "--database", f"sqlite:///{tmp_path / 'x.db'}", "db", "upgrade"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 1
    assert "ROLLCALL_PASSWORD_HASHING=cheap is for test suites only" in result.stderr


def test_hashes_of_either_cost_verify_under_the_other() -> None:
    standard = passwords.COSTS["standard"].hash("correct horse battery staple")
    cheap = passwords.COSTS["cheap"].hash("correct horse battery staple")
    assert standard.startswith("$argon2id$") and cheap.startswith("$argon2id$")
    for stored in (standard, cheap):
        assert passwords.verify_password(stored, "correct horse battery staple")


def test_this_suite_hashes_at_the_cheap_cost() -> None:
    """tests/conftest.py asks for it; hundreds of standard hashes would take a minute."""
    assert passwords.hash_password("correct horse battery staple").startswith(
        "$argon2id$v=19$m=8,t=1,p=1$"
    )


def test_the_request_timeout_sets_the_bulk_budget() -> None:
    """One setting for the worker's timeout and the time a Bulk starts operations in."""
    assert Settings.from_env({}).request_timeout == 30
    settings = Settings.from_env({"ROLLCALL_REQUEST_TIMEOUT": "90"})
    assert settings.request_timeout == 90 and settings.bulk_budget == 60


@pytest.mark.parametrize("value", ["soon", "2", "1.5", "100000"])
def test_a_request_timeout_out_of_range_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="ROLLCALL_REQUEST_TIMEOUT"):
        Settings.from_env({"ROLLCALL_REQUEST_TIMEOUT": value})


def test_accounts_providers_may_be_private_only_in_development_unless_told() -> None:
    assert Settings.from_env({}).providers_may_be_private
    assert not Settings.from_env(PRODUCTION).providers_may_be_private
    told = Settings.from_env({**PRODUCTION, "ROLLCALL_PRIVATE_PROVIDERS": "true"})
    assert told.providers_may_be_private
    assert not private_providers({**PRODUCTION})
    assert private_providers({"ROLLCALL_PRIVATE_PROVIDERS": "yes", **PRODUCTION})
    with pytest.raises(SettingsError):
        Settings.from_env({"ROLLCALL_PRIVATE_PROVIDERS": "maybe"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROLLCALL_LOG_LEVEL", "LOUD"),
        ("ROLLCALL_RATELIMIT_URL", "memcached://x"),
        ("ROLLCALL_RATELIMIT_URL", "redis://"),
        ("ROLLCALL_ISSUER", "ftp://x"),
        ("ROLLCALL_ISSUER", "https://id.example.com/?tenant=1"),
        ("ROLLCALL_BASE_URL", "not-a-url"),
        ("ROLLCALL_BASE_URL", "https://id.example.com:port"),
    ],
)
def test_a_malformed_setting_is_refused_naming_it(name: str, value: str) -> None:
    """Refused when read, in one line naming the setting, not at the first request (a
    traceback) or never (discovery publishing ftp:// endpoints)."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_well_formed_addresses_and_levels_are_taken() -> None:
    settings = Settings.from_env(
        {
            "ROLLCALL_LOG_LEVEL": "debug",
            "ROLLCALL_RATELIMIT_URL": "rediss://cache.example.com:6380/0",
            "ROLLCALL_ISSUER": "https://id.example.com/rollcall/",
            "ROLLCALL_BASE_URL": "http://127.0.0.1:8000",
        }
    )
    assert settings.log_level == "DEBUG" and settings.issuer == "https://id.example.com/rollcall"
    assert Settings.from_env({"ROLLCALL_LOG_LEVEL": " "}).log_level == "INFO"  # empty: default
