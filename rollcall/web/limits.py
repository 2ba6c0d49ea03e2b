"""Rate limits against guessing and abuse (flask-limiter).

Limits count in this process's memory by default; with `ROLLCALL_RATELIMIT_URL` (redis://...) every
worker shares one count. Pages limit both the client's address and the account they name, so
neither many accounts from one address nor one account from many addresses gets far.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from flask import Flask, g, render_template, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from store.models.directory import fold

# Per client address, and per username or email address named in the form.
SIGN_IN_PER_IP = "30 per minute;300 per hour"
SIGN_IN_PER_LOGIN = "10 per minute;60 per hour"
# A clinic behind one address registers its ten people in an hour, with room for retries.
REGISTER_PER_IP = "20 per hour"
RECOVERY_PER_IP = "20 per hour"
RECOVERY_PER_ADDRESS = "5 per hour"


limiter = Limiter(get_remote_address, strategy="moving-window", key_prefix="rollcall")


def named_login(*fields: str):  # type: ignore[no-untyped-def]
    """A key function for limits per account: the (folded) username or email in the form."""

    def key() -> str:
        for field in fields:
            value = request.form.get(field, "")
            if value.strip():
                return f"login:{fold(value.strip())}"
        return f"login:-{get_remote_address()}"

    return key


def count_attempt() -> None:
    """The request is an attempt (a form that passed its own checks reached the directory):
    limits given `deduct_when=attempted` count only these."""
    g.rate_limited_attempt = True


def attempted(_response: object) -> bool:
    return bool(g.get("rate_limited_attempt"))


def init_app(app: Flask, storage_url: str, unlimited: Iterable[str]) -> None:
    """Limit the pages people use: flask-limiter's hooks run for every blueprint of the app but
    the `unlimited` ones (machines with secret tokens, health checks), not on every request."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_url or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    # Shared counters out of reach (Redis down): each process counts alone meanwhile, rather
    # than every limited page failing.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    hooks = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    existing = [list(funcs.get(None, ())) for funcs in hooks]
    limiter.init_app(app)
    limited = [name for name in app.blueprints if name not in set(unlimited)]
    for funcs, kept in zip(hooks, existing, strict=True):
        added = [hook for hook in funcs.get(None, ()) if hook not in kept]
        funcs[None] = kept
        for name in limited:
            funcs.setdefault(name, []).extend(added)
    app.register_error_handler(429, _too_many)


def _too_many(_error: Exception) -> tuple[str, int, dict[str, str]]:
    """The page of a limit reached, saying how long until the next attempt counts."""
    limit = limiter.current_limit
    seconds = max(1, limit.reset_at - int(time.time())) if limit else 60
    return (
        render_template("too_many.html", wait=_wait(seconds)),
        429,
        {"Retry-After": str(seconds)},
    )


def _wait(seconds: int) -> str:
    if seconds < 60:
        return "less than a minute"
    minutes = (seconds + 30) // 60
    return "1 minute" if minutes == 1 else f"{minutes} minutes"
