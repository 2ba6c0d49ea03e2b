"""Outbox messages sent right after the request that queued them, each kind by a thread of its own.

A door registers a sender for a kind of message (mail, back-channel logout). When a request has
queued messages of that kind (seen as the rows are inserted), its sender starts once the response
is ready: the change is committed by then, and neither the answer nor its timing waits on a mail
server or an application. (Not `response.call_on_close`: the development server may hold a
response open while it drains the client's socket.) What fails is retried by the worker commands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import event

from store.models import OutboxMessage

log = logging.getLogger(__name__)

# A sender gets the application and the URL the request came to (for links and the issuer).
Sender = Callable[[Flask, str], None]

_QUEUED = "rollcall.queued_kinds"
_running: set[threading.Thread] = set()


def register(app: Flask, kind: str, sender: Sender) -> None:
    """Send messages of `kind` after each request that queued some."""
    senders = app.extensions.setdefault("rollcall.senders", {})
    if not senders:
        app.after_request(_start_senders)
    senders[kind] = sender


def wait(timeout: float = 10) -> None:
    """Let the senders that are running finish (tests do before emptying the database)."""
    for thread in list(_running):
        thread.join(timeout)


@event.listens_for(OutboxMessage, "after_insert")
def _note_queued(_mapper: Any, _connection: Any, target: OutboxMessage) -> None:
    if has_request_context():
        g.setdefault(_QUEUED, set()).add(target.kind)


def _start_senders(response: Response) -> Response:
    queued = g.get(_QUEUED)
    if not queued:
        return response
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    senders = app.extensions.get("rollcall.senders", {})
    for kind in sorted(queued & senders.keys()):
        thread = threading.Thread(
            target=_run, args=(senders[kind], app, request.url_root, kind), daemon=True
        )
        _running.add(thread)
        thread.start()
    return response


def _run(sender: Sender, app: Flask, base_url: str, kind: str) -> None:
    try:
        sender(app, base_url)
    except Exception:
        log.exception("sending %s right away failed; the worker will retry", kind)
    finally:
        _running.discard(threading.current_thread())
