"""Outbox messages sent right after the change that queued them, each kind by a thread of its own.

A door registers a sender for a kind of message (mail, back-channel logout). When a request's
transaction commits having queued messages of that kind (`store.outbox.queued_kinds`), its sender
starts in a thread: the change is committed by then, and neither the answer nor its timing waits
on a mail server or an application. What fails is retried by the worker commands.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask, current_app, has_request_context, request

from store import outbox
from store.db import Database, Tx

log = logging.getLogger(__name__)

# A sender gets the application and the URL the request came to (for links and the issuer).
Sender = Callable[[Flask, str], None]

_KEY = "rollcall.senders"
_running: set[threading.Thread] = set()


def init_app(app: Flask, db: Database) -> None:
    """Start the app's senders after each of the database's commits that queued messages."""
    app.extensions.setdefault(_KEY, {})
    db.after_commit(_start_senders)


def register(app: Flask, kind: str, sender: Sender) -> None:
    """Send messages of `kind` right after a request queued some."""
    app.extensions.setdefault(_KEY, {})[kind] = sender


def wait(timeout: float = 10) -> None:
    """Let the senders that are running finish (tests do before emptying the database)."""
    for thread in list(_running):
        thread.join(timeout)


def _start_senders(tx: Tx) -> None:
    queued = outbox.queued_kinds(tx)
    if not queued or not has_request_context():
        return  # commands and workers send through the worker commands
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    senders = app.extensions.get(_KEY, {})
    for kind in sorted(queued & senders.keys()):
        thread = threading.Thread(
            target=_run, args=(senders[kind], app, request.url_root, kind), daemon=True
        )
        _running.add(thread)
        thread.start()


def _run(sender: Sender, app: Flask, base_url: str, kind: str) -> None:
    try:
        sender(app, base_url)
    except Exception:
        log.exception("sending %s right away failed; the worker will retry", kind)
    finally:
        _running.discard(threading.current_thread())
