"""Serving Prometheus metrics on a port of their own (ROLLCALL_METRICS_PORT), as Keycloak serves
them on its management port: never beside the public pages, and off unless asked for.

With gunicorn the workers count into PROMETHEUS_MULTIPROC_DIR and the master serves the sum;
the development server serves its own. At each scrape the outbox backlog (mails, logout notices,
recovery requests) is read from the database.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, start_http_server, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy.pool import NullPool

from rollcall.settings import Settings
from store import outbox
from store.db import Database

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


class Backlog:
    """The outbox read at scrape time: messages waiting and the oldest one's age, per kind."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "rollcall_outbox_messages", "Messages waiting to be sent, by kind.", labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "rollcall_outbox_oldest_age_seconds",
            "Age of the oldest message waiting, by kind.",
            labels=["kind"],
        )
        up = GaugeMetricFamily("rollcall_database_up", "Whether the last scrape reached it.")
        try:
            with self.database.transaction(write=False) as tx:
                backlog = outbox.backlog(tx)
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for kind in (outbox.EMAIL, outbox.BACKCHANNEL_LOGOUT, outbox.RECOVERY, *backlog):
            count, age = backlog.get(kind, (0, 0.0))
            waiting.add_metric([kind], count)
            oldest.add_metric([kind], age)
        yield from (waiting, oldest, up)


class _ThisProcess:
    """The metrics this process counted (the development server's)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def prepare_workers() -> str:
    """Before gunicorn forks and before the metrics module is imported: a fresh directory the
    workers count into (PROMETHEUS_MULTIPROC_DIR, or one made here)."""
    directory = os.environ.get(MULTIPROCESS_DIR) or tempfile.mkdtemp(prefix="rollcall-metrics-")
    if os.path.isdir(directory):
        for name in os.listdir(directory):  # a previous run's counts are not this run's
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                os.remove(path)
            else:
                shutil.rmtree(path, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)
    os.environ[MULTIPROCESS_DIR] = directory
    if "rollcall.web.metrics" in sys.modules:  # its unlabelled metrics would count in memory
        raise RuntimeError("rollcall.web.metrics was imported before the workers' directory")
    values.ValueClass = values.MultiProcessValue()
    return directory


def registry(settings: Settings) -> CollectorRegistry:
    found = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(found)
    else:
        found.register(_ThisProcess())  # type: ignore[arg-type]
    # Its own connections, none kept: the master forks workers, which must inherit none.
    found.register(Backlog(Database(settings.database_url, poolclass=NullPool)))  # type: ignore[arg-type]
    return found


def start(settings: Settings) -> Any:
    """Serve the metrics on ROLLCALL_METRICS_HOST:ROLLCALL_METRICS_PORT from a thread."""
    return start_http_server(
        settings.metrics_port, addr=settings.metrics_host, registry=registry(settings)
    )


def worker_exited(pid: int) -> None:
    """A gunicorn worker is gone: its gauges no longer count (`livesum`)."""
    if os.environ.get(MULTIPROCESS_DIR):
        mark_process_dead(pid)
