"""Hooks run where they are needed: the pages' rate limiter, SSO cookie and CORS hooks are not
run for SCIM requests, and senders start when a transaction that queued messages commits."""

from __future__ import annotations

from typing import Any

from rollcall import senders
from store import outbox


def hooks(funcs: dict[Any, list[Any]], blueprint: str | None) -> list[str]:
    return [getattr(f, "__qualname__", repr(f)) for f in funcs.get(blueprint, [])]


def test_a_scim_request_runs_only_the_security_headers_and_request_log_hooks(app):
    assert hooks(app.before_request_funcs, None) == ["_note_route"]  # names the route logged
    assert len(app.after_request_funcs.get(None, [])) == 1  # the security headers
    assert hooks(app.teardown_request_funcs, None) == []
    scim_hooks = hooks(app.before_request_funcs, "scim") + hooks(app.after_request_funcs, "scim")
    assert not any("Limiter" in name or "cookie" in name for name in scim_hooks), scim_hooks


def test_the_pages_keep_their_rate_limits_and_cookie(app):
    for page in ("sso", "registration", "recovery", "profile"):
        assert any("_check_request_limit" in h for h in hooks(app.before_request_funcs, page))
    assert any("write_cookie" in h for h in hooks(app.after_request_funcs, "sso"))
    assert any("add_headers" in h for h in hooks(app.after_request_funcs, "oidc"))


def test_a_commit_that_queued_a_message_starts_its_sender(app, db):
    started: list[tuple[str, str]] = []
    senders.register(app, "test-kind", lambda _app, base: started.append(("sent", base)))
    with app.test_request_context("/anywhere", base_url="http://rollcall.test"):
        with db.transaction() as tx:
            outbox.enqueue(tx, "test-kind", {"n": 1})
            assert outbox.queued_kinds(tx) == {"test-kind"}
        senders.wait()
    assert started == [("sent", "http://rollcall.test/")]


def test_a_rolled_back_message_starts_no_sender(app, db):
    started: list[str] = []
    senders.register(app, "test-kind", lambda _app, _base: started.append("sent"))
    with app.test_request_context("/anywhere"):
        try:
            with db.transaction() as tx:
                outbox.enqueue(tx, "test-kind", {"n": 1})
                raise RuntimeError("the change fails")
        except RuntimeError:
            pass
        senders.wait()
    assert started == []
