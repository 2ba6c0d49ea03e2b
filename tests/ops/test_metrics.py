"""Prometheus metrics: what the doors count, and the metrics served on their own port (summed
over gunicorn's workers), never on the public one."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
import requests
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from store import outbox
from tests.oidc import Browser
from tests.serving import free_port, served


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_scim_operations_sign_ins_and_lockouts_are_counted(
    app: Any, scim: Any, make_user: Any, enterprise: Any
) -> None:
    route = {"door": "scim", "route": "/scim/v2/Users", "method": "POST", "status": "201"}
    scim_op = {"token": "okta", "operation": "POST /scim/v2/Users", "outcome": "success"}
    before = (
        sample("rollcall_http_requests_total", **route),
        sample("rollcall_scim_operations_total", **scim_op),
        sample("rollcall_sign_ins_total", outcome="wrong_password"),
        sample("rollcall_sign_ins_total", outcome="locked"),
        sample("rollcall_lockouts_total"),
        sample("rollcall_http_request_duration_seconds_count", door="scim", route="/scim/v2/Users"),
    )
    scim.create_user("counted")
    make_user(enterprise.account, "lockme", password="Right-password-1", email_verified=True)
    client = app.test_client()
    for attempt in range(7):
        page = client.get("/signin")
        token = page.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post(
            "/signin", data={"csrf_token": token, "login": "lockme", "password": f"no {attempt}"}
        )
    after = (
        sample("rollcall_http_requests_total", **route),
        sample("rollcall_scim_operations_total", **scim_op),
        sample("rollcall_sign_ins_total", outcome="wrong_password"),
        sample("rollcall_sign_ins_total", outcome="locked"),
        sample("rollcall_lockouts_total"),
        sample("rollcall_http_request_duration_seconds_count", door="scim", route="/scim/v2/Users"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 6, 1, 1, 1]


@pytest.mark.slow
def test_metrics_are_served_on_their_own_port_summed_over_workers(db: Any, tmp_path: Any) -> None:
    port = free_port()
    env = {"ROLLCALL_METRICS_PORT": str(port)}
    with db.transaction() as tx:
        outbox.enqueue(tx, outbox.BACKCHANNEL_LOGOUT, {"user_id": "x", "sessions": []})
    with served(db.url, tmp_path, "--workers", "2", env=env) as base:
        for _ in range(20):
            Browser(base).get("/health/live")  # new connections: both workers answer
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 404
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    live = [
        s.value
        for s in families["rollcall_http_requests"].samples
        if s.name.endswith("_total") and s.labels.get("route") == "/health/live"
    ]
    assert sum(live) >= 20
    waiting = {s.labels["kind"]: s.value for s in families["rollcall_outbox_messages"].samples}
    assert waiting[outbox.BACKCHANNEL_LOGOUT] >= 1 and outbox.EMAIL in waiting
    assert "rollcall_outbox_oldest_age_seconds" in families
    assert "rollcall_db_pool_connections_in_use" in families


def test_a_method_http_does_not_name_is_counted_as_other(app: Any) -> None:
    """A client cannot make new series without end by inventing methods."""
    labels = {"door": "scim", "route": "(no route)", "status": "405"}
    before = sample("rollcall_http_requests_total", method="other", **labels)
    for method in ("BREW", "PROPFIND", "X-ANYTHING"):
        app.test_client().open("/scim/v2/Users", method=method)
    after = sample("rollcall_http_requests_total", method="other", **labels)
    assert sample("rollcall_http_requests_total", method="BREW", **labels) == 0
    assert after - before == 3
