"""Running the app under gunicorn from `rollcall serve --workers N`."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import LimitRequestLine, NoMoreData, ParseException
from gunicorn.workers.sync import SyncWorker
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Response

from rollcall import metrics_server
from rollcall.app import create_app
from rollcall.headers import add_security_headers
from rollcall.settings import Settings
from scim.responses import request_line_too_long

# The longest request line gunicorn reads (its most; its default, 4094 bytes, is a SCIM filter
# of about a hundred comparisons). Longer ones are answered by Worker.handle_error.
REQUEST_LINE = 8190


class _Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # type: ignore[no-untyped-def]
        # Each worker builds its own app (and its own connection pool) after the fork.
        app = create_app(self.settings)
        app.wsgi_app = _BodiesAsSent(app.wsgi_app)  # type: ignore[method-assign]
        return app


class _BodiesAsSent:
    """Hands the app gunicorn's request body behind `_Body`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ["wsgi.input"] = _Body(environ["wsgi.input"])
        return self.app(environ, start_response)


class _Body:
    """gunicorn's request body, whose malformed chunks, early ends (its ParseException and
    NoMoreData, raised while the app reads) and stalls (the socket's timeout, `Worker.handle`)
    read as werkzeug's ClientDisconnected: a 400 that each door answers in its own format, not
    a 500 or a worker stopped."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int | None = None) -> bytes:
        return self._reading(self._body.read, size)

    def readline(self, size: int | None = None) -> bytes:
        return self._reading(self._body.readline, size)

    def readlines(self, hint: int | None = None) -> list[bytes]:
        return self._reading(self._body.readlines, hint)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")

    @staticmethod
    def _reading(read: Any, size: int | None) -> Any:
        try:
            return read(size)
        except (ParseException, NoMoreData) as exc:
            raise ClientDisconnected(
                f"The request body was cut short or misshapen: {exc}."
            ) from exc
        except TimeoutError as exc:
            raise ClientDisconnected("The request body stopped arriving.") from exc


class Worker(SyncWorker):
    """gunicorn's sync worker, but it waits for a client's bytes a third of the request's time
    (`handle`), and a request line too long to read (a GET with a long SCIM filter) is answered
    with a SCIM error saying to POST the query, not gunicorn's HTML page. (Its path was not
    read: the answer is SCIM's, the API such lines come to.)"""

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        """A client's bytes are waited for a third of the request's time, not until the worker
        is stopped: a body that stops arriving (a client gone quiet) is a 400 (`_Body`), and a
        request line or headers that do, a closed connection. A client trickling bytes faster
        than that still holds the worker: a buffering proxy in front answers that (README)."""
        client.settimeout(self.wsgi.config["ROLLCALL_SETTINGS"].request_timeout / 3)
        super().handle(listener, client, addr)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if not isinstance(exc, LimitRequestLine):
            super().handle_error(req, client, addr, exc)
            return
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        development = self.wsgi.config["ROLLCALL_SETTINGS"].development  # the Flask app
        limit = exc.max_size or self.cfg.limit_request_line
        response = add_security_headers(request_line_too_long(limit), development)
        with contextlib.suppress(OSError):  # the client may be gone; gunicorn closes it next
            client.sendall(_as_sent(response))


def _as_sent(response: Response) -> bytes:
    """A response as HTTP/1.1 bytes, closing the connection (the rest of the request is unread)."""
    response.headers["Connection"] = "close"
    body = response.get_data()
    response.headers["Content-Length"] = str(len(body))
    head = [f"HTTP/1.1 {response.status}", *(f"{k}: {v}" for k, v in response.headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def serve_with_gunicorn(settings: Settings, host: str, port: int, workers: int) -> None:
    """Workers are stopped after ROLLCALL_REQUEST_TIMEOUT, the time a Bulk plans its work in."""
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "accesslog": None,  # rollcall.web.request_log logs each request, without its path
        "timeout": settings.request_timeout,
        "worker_class": f"{__name__}.Worker",
        "limit_request_line": REQUEST_LINE,
    }
    if workers > 1 and not settings.ratelimit_url:
        logging.getLogger("rollcall").warning(
            "Rate limits are counted by each of the %d workers apart, so a client gets up to %d "
            "times the limit: set ROLLCALL_RATELIMIT_URL (redis://...) to share the counts.",
            workers,
            workers,
        )
    if settings.metrics_port:  # served by the master, summing what the workers counted
        options["when_ready"] = lambda _server: metrics_server.start(settings)
        options["child_exit"] = lambda _server, worker: metrics_server.worker_exited(worker.pid)
    _Server(settings, options).run()
