"""OpenTelemetry tracing, an optional extra (`pip install rollcall[otel]`), off unless
OTEL_EXPORTER_OTLP_ENDPOINT names a collector (the standard OTEL_* variables configure the
exporter and OTEL_SERVICE_NAME the service, "rollcall" by default).

Each request is a span named after its route, whichever way it is answered (Flask or the
dispatcher), with a child span per SQL statement, those PostgreSQL runs on the driver
(store.statements: hot reads and creates, appended log rows) included.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rollcall.web import request_log
from store.db import Database

log = logging.getLogger(__name__)


def wanted() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def traced(wsgi_app: Any, database: Database, exporter: Any = None) -> Any:
    """`wsgi_app` with every request traced and the database's statements as its children;
    spans go to `exporter` (tests) or to the OTLP endpoint. Without the extra installed the app
    is returned as it is, and the log says why."""
    try:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
        from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        log.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but tracing is not installed: "
            "pip install rollcall[otel]"
        )
        return wsgi_app
    service = os.environ.get("OTEL_SERVICE_NAME", "rollcall")
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    # Its declared range stops short of SQLAlchemy 2.1, whose engine events it uses unchanged
    # (tests/ops/test_tracing.py shows the statements traced).
    SQLAlchemyInstrumentor().instrument(
        engines=list(database.engines), tracer_provider=provider, skip_dep_check=True
    )
    return OpenTelemetryMiddleware(
        wsgi_app, response_hook=_name_after_route, tracer_provider=provider
    )


def _name_after_route(span: Any, environ: Any, _status: str, _headers: Any) -> None:
    """Name the request's span after its route pattern (never its path, which may hold a
    link's token), once the route is known."""
    route = request_log.current().get("route")
    if route and span.is_recording():
        span.update_name(f"{environ.get('REQUEST_METHOD', '')} {route}")
        span.set_attribute("http.route", route)
