"""The application served over real HTTP from a thread of the test process, on the test database."""

from __future__ import annotations

import importlib.util
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from store import clients

# How often a served thread looks for its shutdown: serve_forever's default (0.5 s) is waited out
# by every test that serves, at its teardown.
POLL_INTERVAL = 0.02


@contextmanager
def live(app: Any) -> Iterator[str]:
    """Serve `app` on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), daemon=True)
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


EXAMPLE_APPLICATION = Path(__file__).resolve().parents[1] / "examples" / "oidc_client" / "app.py"


def example_application(rollcall: str, client_id: str, secret: str) -> Any:
    """The example linked application (examples/oidc_client), signing in through `rollcall`:
    `/login` starts the sign-in, `#welcome` shows who is signed in."""
    spec = importlib.util.spec_from_file_location("example_oidc_client", EXAMPLE_APPLICATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_app(rollcall, client_id, secret)


def register_example(
    tx: Any,
    operator: Any,
    base: str,
    *,
    name: str,
    client_id: str,
    secret: str,
    scopes: tuple[str, ...] = ("openid", "profile", "email", "community"),
    **options: Any,
) -> None:
    """Register the example application served at `base` as a first-party client of Rollcall
    (`options`: the rest of `clients.create_client`'s, such as an application or access)."""
    clients.create_client(
        tx,
        operator,
        name=name,
        redirect_uris=[f"{base}/callback"],
        scopes=list(scopes),
        first_party=True,
        client_id=client_id,
        secret=secret,
        **options,
    )
