"""Settings read from the environment: what production insists on."""

from __future__ import annotations

import pytest

from rollcall.settings import DEVELOPMENT_SECRET, Settings, SettingsError

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
