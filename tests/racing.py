"""Requests or transactions that race: run in threads released together, each with its own
connection, so that the database sees them at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def race(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(i)` in `count` threads released together; returns results or exceptions.

    Requests to the app in threads share its connection pool (5 + 10): a SCIM request holds two
    connections at once (its read session and its transaction), so race at most eight of them,
    or they may all wait for a second connection none of them gives back."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
