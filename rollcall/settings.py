"""Every ROLLCALL_* setting, read once from the environment (README lists them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEVELOPMENT_SECRET = "rollcall-development-secret-do-not-use-in-production"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///rollcall.db"
    environment: str = "development"
    secret_key: str = DEVELOPMENT_SECRET
    log_level: str = "INFO"

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        environment = env.get("ROLLCALL_ENV", cls.environment).strip().lower()
        if environment not in ("development", "production"):
            raise SettingsError("ROLLCALL_ENV must be development or production.")
        secret = env.get("ROLLCALL_SECRET_KEY", "")
        if not secret:
            if environment == "production":
                raise SettingsError("ROLLCALL_SECRET_KEY must be set in production.")
            secret = DEVELOPMENT_SECRET
        return cls(
            database_url=env.get("ROLLCALL_DATABASE_URL", cls.database_url),
            environment=environment,
            secret_key=secret,
            log_level=env.get("ROLLCALL_LOG_LEVEL", cls.log_level).upper(),
        )
