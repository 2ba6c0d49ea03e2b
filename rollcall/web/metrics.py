"""Prometheus metrics, named after its conventions (`rollcall_*`, base units, `_total`).

The doors count what happens (requests, SCIM operations, sign-ins, lockouts, tokens); the
outbox backlog and the signing state are read from the database when Prometheus scrapes
(`rollcall.metrics_server`). Under gunicorn the workers write to a shared directory
(prometheus-client's multiprocess mode, chosen by PROMETHEUS_MULTIPROC_DIR before this module is
imported) and the metrics are served on their own port, never beside the public pages.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# Any other method a client sends counts as "other": a label must not take values without end.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUESTS = Counter(
    "rollcall_http_requests_total",
    "HTTP requests answered, by door, route pattern, method and status.",
    ["door", "route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "rollcall_http_request_duration_seconds",
    "Time to answer a request, by door and route pattern.",
    ["door", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
SCIM_OPERATIONS = Counter(
    "rollcall_scim_operations_total",
    "SCIM requests by the provisioning token's name, operation and outcome "
    "(success, refused: a 4xx, failed: a 5xx).",
    ["token", "operation", "outcome"],
)
SIGN_INS = Counter(
    "rollcall_sign_ins_total",
    "Sign-in steps by outcome (success: the password was right, wrong_password, unknown_login, "
    "locked, not_enabled, inactive, second_factor, second_factor_refused, ...).",
    ["outcome"],
)
LOCKOUTS = Counter("rollcall_lockouts_total", "Accounts locked by too many wrong attempts.")
TOKENS_ISSUED = Counter(
    "rollcall_tokens_issued_total",
    "Token responses of the token endpoint, by grant type.",
    ["grant"],
)
POOL_IN_USE = Gauge(
    "rollcall_db_pool_connections_in_use",
    "Database connections checked out of this process's pool, summed over live workers.",
    multiprocess_mode="livesum",
)


def request_done(
    door: str, route: str, method: str, status: int, seconds: float, token: str | None
) -> None:
    """Count an answered request (and, for SCIM, the operation of its token)."""
    if method not in METHODS:
        method = "other"
    count, timing = _request_series(door, route, method, status)
    count.inc()
    timing.observe(seconds)
    if door == "scim" and token:
        outcome = "success" if status < 400 else "refused" if status < 500 else "failed"
        _scim_series(token, method, route, outcome).inc()


@lru_cache(maxsize=2048)
def _request_series(door: str, route: str, method: str, status: int) -> tuple[Any, Any]:
    """A kind of request's counter and histogram, looked up once: `labels()` takes a lock and
    checks its values on every call. Routes are patterns, so the kinds are few."""
    return REQUESTS.labels(door, route, method, str(status)), REQUEST_SECONDS.labels(door, route)


@lru_cache(maxsize=2048)
def _scim_series(token: str, method: str, route: str, outcome: str) -> Any:
    return SCIM_OPERATIONS.labels(token, f"{method} {route}", outcome)


def sign_in(outcome: str, *, locked_now: bool = False) -> None:
    SIGN_INS.labels(outcome).inc()
    if locked_now:
        LOCKOUTS.inc()


def token_issued(grant: str) -> None:
    TOKENS_ISSUED.labels(grant).inc()
