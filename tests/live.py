"""The application served over real HTTP from a thread of the test process, on the test database."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@contextmanager
def live(app: Any) -> Iterator[str]:
    """Serve `app` on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@contextmanager
def logout_receiver() -> Iterator[tuple[str, queue.Queue[str]]]:
    """An application's back-channel logout endpoint: yields its URI and the logout tokens it
    receives."""
    received: queue.Queue[str] = queue.Queue()

    @Request.application
    def endpoint(request: Request) -> Response:
        received.put(request.form.get("logout_token", ""))
        return Response(status=200, headers={"Cache-Control": "no-store"})

    with live(endpoint) as base:
        yield f"{base}/backchannel", received
