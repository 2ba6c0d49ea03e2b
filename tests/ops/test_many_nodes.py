"""Several nodes behind a load balancer over one PostgreSQL and one Redis: two Rollcall
processes on two ports share sessions, tokens, rate limits and lockouts, switch to a rotated
signing key within a minute, and two mail senders deliver each mail exactly once (README:
Operating Rollcall, Many nodes)."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt as pyjwt
import pytest
import redis
import requests

from store import applications, clients
from tests.oidc import PASSWORD, Browser, RelyingParty, pkce_pair, query
from tests.serving import ROLLCALL, clean_env, served

pytestmark = pytest.mark.slow  # two servers started as processes

REDIS = "redis://127.0.0.1:6379/14"
ISSUER = "http://id.rollcall.test"  # the load balancer's address, the same for every node


def redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def nodes(db: Any, tmp_path: Any) -> Iterator[tuple[str, str]]:
    if db.dialect != "postgresql" or not redis_up():
        pytest.skip("many nodes share PostgreSQL and Redis")
    env = {"ROLLCALL_RATELIMIT_URL": REDIS, "ROLLCALL_ISSUER": ISSUER}
    with (
        served(db.url, tmp_path, "--workers", "2", env=env) as first,
        served(db.url, tmp_path, "--workers", "2", env=env) as second,
    ):
        yield first, second


@pytest.fixture
def application(db: Any, operator: Any, enterprise: Any, make_user: Any) -> RelyingParty:
    make_user(
        enterprise.account,
        "nina",
        profile="main",
        email_verified=True,
        password=PASSWORD,
        emails=[{"value": "nina@example.com", "primary": True}],
    )
    with db.transaction() as tx:
        applications.ensure_application(tx, operator, key="all", name="All", access="everyone")
        row, secret = clients.create_client(
            tx,
            operator,
            name="Node app",
            redirect_uris=["https://app.test/cb"],
            access="everyone",
            first_party=True,
        )
    return RelyingParty("", row.client_id, secret, "https://app.test/cb")


def at(rp: RelyingParty, base: str) -> RelyingParty:
    return RelyingParty(base, rp.client_id, rp.client_secret, rp.redirect_uri)


def test_a_session_and_its_tokens_work_on_every_node(
    nodes: tuple[str, str], application: RelyingParty
) -> None:
    first, second = nodes
    on_first = Browser(first)
    assert on_first.sign_in("nina").status_code == 302
    on_second = Browser(second, session=on_first.session)  # the same cookies, another node
    assert on_second.get("/profile").status_code == 200

    verifier, challenge = pkce_pair()
    url = at(application, second).authorize_url(
        "openid profile", code_challenge=challenge, code_challenge_method="S256"
    )
    back = on_second.follow(on_second.get(url), until=application.redirect_uri)
    code = query(back.headers["Location"])["code"]
    tokens = at(application, first).exchange(code, verifier).json()
    claims = pyjwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["iss"] == ISSUER
    assert at(application, second).introspect(tokens["access_token"])["active"] is True
    info = at(application, first).userinfo(tokens["access_token"])
    assert info.status_code == 200 and info.json()["preferred_username"] == "nina"
    keys = requests.get(f"{second}/oauth/jwks", timeout=10).json()["keys"]
    assert pyjwt.get_unverified_header(tokens["id_token"])["kid"] in {k["kid"] for k in keys}


def test_rate_limits_and_lockouts_count_across_nodes(
    nodes: tuple[str, str], db: Any, enterprise: Any, make_user: Any
) -> None:
    first, second = nodes
    lou = make_user(enterprise.account, "lou", email_verified=True, password=PASSWORD)
    for n in range(6):  # the 6th wrong password in a row locks, whichever node hears it
        assert Browser((first, second)[n % 2]).sign_in("lou", f"wrong {n}").status_code == 400
    with db.transaction(write=False) as tx:
        assert tx.get(type(lou), lou.id).locked_at is not None
    login = f"nobody-{uuid.uuid4().hex[:8]}"  # Redis counts outlive the test: a fresh name
    statuses = [
        Browser((first, second)[n % 2]).sign_in(login, f"wrong {n}").status_code for n in range(12)
    ]
    assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]  # 10 a minute per login


def test_both_nodes_sign_with_a_rotated_key_within_a_minute(
    nodes: tuple[str, str], db: Any, application: RelyingParty
) -> None:
    browsers = {base: Browser(base) for base in nodes}
    for browser in browsers.values():
        assert browser.sign_in("nina").status_code == 302
    before = _kid(browsers[nodes[0]], application)
    rotated = subprocess.run(
        [*ROLLCALL, "--database", db.url, "keys", "rotate", "--delay-minutes", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert rotated.returncode == 0, rotated.stderr
    deadline = time.monotonic() + 75  # each node asks the database at least once a minute
    kids = dict.fromkeys(nodes, before)
    while time.monotonic() < deadline and before in kids.values():
        time.sleep(2)
        kids = {base: _kid(browser, application) for base, browser in browsers.items()}
    assert before not in kids.values() and len(set(kids.values())) == 1


def _kid(browser: Browser, rp: RelyingParty) -> str:
    """The kid of the key the browser's node signs ID tokens with now."""
    verifier, challenge = pkce_pair()
    here = at(rp, browser.base)
    url = here.authorize_url("openid", code_challenge=challenge, code_challenge_method="S256")
    back = browser.follow(browser.get(url), until=rp.redirect_uri)
    tokens = here.exchange(query(back.headers["Location"])["code"], verifier).json()
    return pyjwt.get_unverified_header(tokens["id_token"])["kid"]


def test_two_mail_senders_deliver_each_mail_once(
    db: Any, make_account: Any, make_user: Any, smtp_server: Any, mailbox: Any
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("senders on many nodes share PostgreSQL")
    from store import outbox

    account = make_account()
    addresses = [f"m{n}@example.com" for n in range(40)]
    people = [
        make_user(account, f"m{n}", emails=[{"value": a, "primary": True}])
        for n, a in enumerate(addresses)
    ]
    mailbox.clear()
    with db.transaction() as tx:
        for person in people:
            outbox.enqueue_email(tx, person, "forgot_username")
    url, _ = smtp_server
    env = clean_env() | {"ROLLCALL_SMTP_URL": url, "ROLLCALL_BASE_URL": ISSUER}
    senders = [
        subprocess.Popen(
            [*ROLLCALL, "--database", db.url, "mail", "send", "--once"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for sender in senders:
        sender.wait(timeout=120)
    mailbox.settle(1)
    delivered = sorted(to for mail in mailbox.mails for to in mail.to)
    assert delivered == sorted(addresses)


def test_nodes_starting_together_migrate_once(db: Any) -> None:
    """Each node's entrypoint runs `rollcall db upgrade`; started together on a new database,
    one migrates and the others wait for it."""
    if db.dialect != "postgresql":
        pytest.skip("nodes share PostgreSQL")
    from store.db import scratch_database

    with scratch_database(db.url, "rollcall_nodes") as url:
        upgrades = [
            subprocess.Popen(
                [*ROLLCALL, "--database", url, "db", "upgrade"],
                env=clean_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        results = [(u.wait(timeout=120), u.stderr.read()) for u in upgrades]
        assert [code for code, _ in results] == [0, 0, 0], results
