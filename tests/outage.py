"""Database outages for the tests: a TCP proxy between Rollcall and PostgreSQL that the test cuts
and restores, and connections ended by the server (`pg_terminate_backend`). The PostgreSQL server
itself is never stopped: other runs share it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import make_url, text

from store.db import Database


class Proxy:
    """Forwards connections to the server of a database URL; `url` is that database through the
    proxy. `cut()` ends every connection and refuses new ones (the database gone, as Rollcall sees
    it), `restore()` lets them through again, and `drop()` ends the connections of the moment
    (a restart, a firewall's idle timeout) and goes on forwarding. `cut_on_reply(marker)` drops
    the one connection whose server next sends a reply holding `marker`, before Rollcall reads
    it (the server did the work; its client never hears)."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.target = (url.host or "127.0.0.1", url.port or 5432)
        self.listener = socket.create_server(("127.0.0.1", 0))
        port = self.listener.getsockname()[1]
        self.url = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        self.accepted = 0  # connections asked for, refused ones too
        self._cut = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._marker: bytes | None = None
        self.cuts_on_reply = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_on_reply(self, marker: bytes) -> None:
        with self._lock:
            self._marker = marker

    def cut(self) -> None:
        with self._lock:
            self._cut = True
        self.drop()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def drop(self) -> None:
        with self._lock:
            ending, self._open = self._open, set()
        for sock in ending:
            _end(sock)

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()

    def __enter__(self) -> Proxy:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                refused = self._cut
            if refused:
                _end(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                _end(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            threading.Thread(target=_pump, args=(client, server), daemon=True).start()
            threading.Thread(target=_pump, args=(server, client, self._takes), daemon=True).start()

    def _takes(self, data: bytes) -> bool:
        with self._lock:
            if self._marker is None or self._marker not in data:
                return False
            self._marker = None
            self.cuts_on_reply += 1
            return True


def _pump(
    source: socket.socket, sink: socket.socket, cut: Callable[[bytes], bool] = lambda _: False
) -> None:
    """Forward what `source` sends until either end goes, or until `cut` says to drop it."""
    with contextlib.suppress(OSError):  # either end gone: both are ended
        while (data := source.recv(65536)) and not cut(data):
            sink.sendall(data)
    _end(source)
    _end(sink)


def _end(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def named(database_url: str, name: str) -> str:
    """The URL with an application_name, by which `terminate` finds its connections."""
    return (
        make_url(database_url)
        .update_query_dict({"application_name": name})
        .render_as_string(hide_password=False)
    )


def terminate(db: Database, name: str) -> int:
    """End, from the server, every connection named `name` (see `named`); how many there were."""
    with db.transaction() as tx:
        ended: Any = tx.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar()
    return int(ended)
