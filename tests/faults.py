"""A TCP proxy between Rollcall and PostgreSQL that can drop connections at chosen moments: the
faults a network or a failing database server causes, made on purpose and on time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy.engine import make_url


class PgProxy:
    """Forwards every connection to PostgreSQL. `cut_on_reply(marker)` drops the connection
    whose server sends a reply holding `marker` (before the client reads it), once;
    `outage(seconds)` drops every connection and refuses new ones for that long."""

    def __init__(self, server_url: str) -> None:
        url = make_url(server_url)
        self.target = (url.host or "127.0.0.1", url.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self._marker: bytes | None = None
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._down_until = 0.0
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_on_reply(self, marker: bytes) -> None:
        with self._lock:
            self._marker = marker

    def outage(self, seconds: float) -> None:
        with self._lock:
            self._down_until = time.monotonic() + seconds
            dropped, self._open = self._open, set()
        for end in dropped:
            _close(end)

    def close(self) -> None:
        self.listener.close()

    def _take_marker(self, data: bytes) -> bool:
        with self._lock:
            if self._marker is not None and self._marker in data:
                self._marker = None
                self.cuts += 1
                return True
        return False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self._down_until:
                _close(client)
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                self._open.update((client, server))
            threading.Thread(target=self._pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while data := source.recv(65536):
                if replies and self._take_marker(data):
                    break
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open.difference_update((source, sink))
        for end in (source, sink):
            _close(end)


def _close(end: socket.socket) -> None:
    with suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)
    end.close()


@contextmanager
def pg_proxy(server_url: str) -> Iterator[PgProxy]:
    proxy = PgProxy(server_url)
    try:
        yield proxy
    finally:
        proxy.close()
