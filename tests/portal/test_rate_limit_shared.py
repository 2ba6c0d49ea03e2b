"""With ROLLCALL_RATELIMIT_URL naming Redis, every worker counts against the same limits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis

from tests.oidc import Browser
from tests.serving import served

pytestmark = pytest.mark.slow  # gunicorn with two workers, started as a process

REDIS = "redis://127.0.0.1:6379/15"


def redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_two_workers_share_the_sign_in_limit(db: Any, tmp_path: Any) -> None:
    login = f"nobody-{uuid.uuid4().hex[:8]}"  # counts in Redis outlive the test: a fresh name
    env = {"ROLLCALL_RATELIMIT_URL": REDIS}
    with served(db.url, tmp_path, "--workers", "2", env=env) as base:
        statuses = []
        for attempt in range(12):
            browser = Browser(base)  # a new connection each time: both workers answer
            statuses.append(browser.sign_in(login, f"wrong password {attempt}").status_code)
    assert statuses[:10] == [400] * 10  # the per-account limit is 10 a minute
    assert statuses[10:] == [429, 429]


def test_with_redis_out_of_reach_each_worker_counts_alone(db: Any, tmp_path: Any) -> None:
    """Redis down (or misnamed): sign-in still answers, limited per process meanwhile, instead
    of every limited page failing with a 500."""
    login = f"nobody-{uuid.uuid4().hex[:8]}"
    env = {"ROLLCALL_RATELIMIT_URL": "redis://127.0.0.1:1/0"}  # nothing listens there
    with served(db.url, tmp_path, "--workers", "1", env=env, ready="/signin") as base:
        browser = Browser(base)  # (its health check says 503: Redis is out of reach)
        statuses = [browser.sign_in(login, f"wrong {n}").status_code for n in range(11)]
    assert statuses == [400] * 10 + [429]
