"""Every ROLLCALL_* setting, read once from the environment (README lists them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEVELOPMENT_SECRET = "rollcall-development-secret-do-not-use-in-production"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///rollcall.db"
    environment: str = "development"
    secret_key: str = DEVELOPMENT_SECRET
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line, for log collectors
    issuer: str = ""  # the OpenID Provider's public URL; empty: the URL each request came to
    # The address people reach Rollcall at, for links in mails (required for mail in production;
    # in development a mail sent inline links to the address of the request that caused it).
    base_url: str = ""
    # smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://...; empty: no SMTP,
    # and in development mails are kept for /dev/mail.
    smtp_url: str = ""
    mail_from: str = "Success Community <no-reply@rollcall.invalid>"
    # Send mails right after the request that queued them (default in development); otherwise
    # `rollcall mail send` delivers them.
    mail_inline: bool | None = None
    # Rate limit storage: empty = this process's memory, or a redis:// URL shared by all workers.
    ratelimit_url: str = ""
    # Answer the plainest hot requests without Flask's machinery (rollcall.web.dispatch); off,
    # Flask answers them with the same functions.
    dispatch: bool = True
    # Argon2id's costs for new password hashes: "standard", or "cheap" for test suites (refused in
    # production). The process entry points apply it (rollcall.cli, rollcall.wsgi).
    password_hashing: str = "standard"
    # Seconds a request may take: gunicorn's worker timeout (`rollcall serve --workers N`), and
    # what a Bulk request plans its work in (`bulk_budget`).
    request_timeout: int = 30
    # How many proxies in front of Rollcall set X-Forwarded-For/-Proto/-Host/-Port/-Prefix; their
    # word is taken for the scheme, host and client address (0: the headers are ignored, as
    # anyone can send them).
    trusted_proxies: int = 0
    # Prometheus metrics on their own port (0: none), bound to this address only.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    # Whether accounts' own OpenID providers may be at private, loopback or link-local addresses,
    # or at plain http (default: only in development). Off, a main contact cannot make Rollcall
    # call into the network it runs in (rollcall.upstream).
    private_providers: bool | None = None

    def __post_init__(self) -> None:
        check_password_hashing(self.password_hashing, self.environment)
        if not 5 <= self.request_timeout <= 3600:
            raise SettingsError("ROLLCALL_REQUEST_TIMEOUT must be between 5 and 3600 seconds.")
        if self.log_format not in ("text", "json"):
            raise SettingsError("ROLLCALL_LOG_FORMAT must be text or json.")
        if not 0 <= self.metrics_port <= 65535:
            raise SettingsError("ROLLCALL_METRICS_PORT must be a port number.")
        if not 0 <= self.trusted_proxies <= 10:
            raise SettingsError("ROLLCALL_TRUSTED_PROXIES must be a number of proxies, 0 to 10.")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"ROLLCALL_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}.")
        for name, value in (("ROLLCALL_ISSUER", self.issuer), ("ROLLCALL_BASE_URL", self.base_url)):
            _check_web_address(name, value)
        _check_ratelimit_url(self.ratelimit_url)

    @property
    def bulk_budget(self) -> float:
        """Seconds a Bulk request starts operations in: two thirds of the request's time, so
        the operation under way and the answer finish before the worker would be stopped."""
        return self.request_timeout * 2 / 3

    @property
    def database_wait(self) -> float:
        """Seconds a request's statement may wait for a lock (another change of the same rows,
        an administrator's LOCK) before the request is answered 503: a third of the request's
        time, so that the answer comes before the worker would be stopped."""
        return self.request_timeout / 3

    @property
    def development(self) -> bool:
        return self.environment == "development"

    @property
    def providers_may_be_private(self) -> bool:
        return _providers_may_be_private(self.environment, self.private_providers)

    @property
    def deliver_mail_inline(self) -> bool:
        return self.development if self.mail_inline is None else self.mail_inline

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
        issuer = env.get("ROLLCALL_ISSUER", "").strip().rstrip("/")
        if environment == "production" and not issuer:
            # Else the issuer, and every endpoint discovery names, would follow the Host header.
            raise SettingsError("ROLLCALL_ISSUER must be set in production.")
        return cls(
            database_url=env.get("ROLLCALL_DATABASE_URL", cls.database_url),
            environment=environment,
            secret_key=secret,
            log_level=env.get("ROLLCALL_LOG_LEVEL", "").strip().upper() or cls.log_level,
            log_format=env.get("ROLLCALL_LOG_FORMAT", cls.log_format).strip().lower(),
            issuer=issuer,
            base_url=env.get("ROLLCALL_BASE_URL", "").strip().rstrip("/"),
            smtp_url=env.get("ROLLCALL_SMTP_URL", "").strip(),
            mail_from=env.get("ROLLCALL_MAIL_FROM", cls.mail_from).strip() or cls.mail_from,
            mail_inline=_flag(env, "ROLLCALL_MAIL_INLINE"),
            ratelimit_url=env.get("ROLLCALL_RATELIMIT_URL", "").strip(),
            dispatch=_flag(env, "ROLLCALL_DISPATCH") is not False,
            password_hashing=password_hashing(env),
            request_timeout=_seconds(env, "ROLLCALL_REQUEST_TIMEOUT", cls.request_timeout),
            trusted_proxies=_count(env, "ROLLCALL_TRUSTED_PROXIES"),
            metrics_port=_count(env, "ROLLCALL_METRICS_PORT"),
            metrics_host=env.get("ROLLCALL_METRICS_HOST", "").strip() or cls.metrics_host,
            private_providers=_flag(env, "ROLLCALL_PRIVATE_PROVIDERS"),
        )


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _check_web_address(name: str, value: str) -> None:
    """An address people and applications reach Rollcall at: http(s)://host[:port][/path]."""
    if not value:
        return
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an http(s) address, e.g. https://id.example.com.")
    if parts.query or parts.fragment:
        raise SettingsError(f"{name} must not have a query or fragment.")


def _check_ratelimit_url(value: str) -> None:
    """Counters in Redis (redis://, rediss://, redis+sentinel://) or a process's memory."""
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "redis+sentinel", "memory") or (
        parts.scheme != "memory" and not parts.hostname
    ):
        raise SettingsError(
            "ROLLCALL_RATELIMIT_URL must name Redis, e.g. redis://localhost:6379/0 (or be empty)."
        )


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isascii() or not value.isdigit():
        raise SettingsError(f"{name} must be a whole number of seconds.")
    return int(value)


def _count(env: Mapping[str, str], name: str) -> int:
    value = env.get(name, "").strip()
    if not value:
        return 0
    if not value.isascii() or not value.isdigit():
        raise SettingsError(f"{name} must be a whole number.")
    return int(value)


def password_hashing(env: Mapping[str, str] | None = None) -> str:
    """ROLLCALL_PASSWORD_HASHING, checked against ROLLCALL_ENV (without needing the settings that
    only serving requires, so every command can apply it)."""
    env = os.environ if env is None else env
    value = env.get("ROLLCALL_PASSWORD_HASHING", "").strip().lower() or Settings.password_hashing
    environment = env.get("ROLLCALL_ENV", Settings.environment).strip().lower()
    check_password_hashing(value, environment)
    return value


def private_providers(env: Mapping[str, str] | None = None) -> bool:
    """`Settings.providers_may_be_private` from the environment alone (for commands)."""
    env = os.environ if env is None else env
    environment = env.get("ROLLCALL_ENV", Settings.environment).strip().lower()
    return _providers_may_be_private(environment, _flag(env, "ROLLCALL_PRIVATE_PROVIDERS"))


def _providers_may_be_private(environment: str, chosen: bool | None) -> bool:
    """As chosen (ROLLCALL_PRIVATE_PROVIDERS), else only in development."""
    return environment == "development" if chosen is None else chosen


def check_password_hashing(value: str, environment: str) -> None:
    if value not in ("standard", "cheap"):
        raise SettingsError("ROLLCALL_PASSWORD_HASHING must be standard or cheap.")
    if value == "cheap" and environment != "development":
        raise SettingsError(
            "ROLLCALL_PASSWORD_HASHING=cheap is for test suites only: "
            "production hashes passwords at the standard cost."
        )


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    value = env.get(name, "").strip().lower()
    if not value:
        return None
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false.")
