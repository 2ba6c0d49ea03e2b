"""OpenTelemetry: a SCIM request is one span named after its route, with a child span for each
SQL statement it sends, collected here by an in-memory exporter."""

from __future__ import annotations

from typing import Any

import pytest

from rollcall.app import create_app
from rollcall.settings import Settings

exporting = pytest.importorskip("opentelemetry.sdk.trace.export.in_memory_span_exporter")
sqlalchemy_instrumentation = pytest.importorskip("opentelemetry.instrumentation.sqlalchemy")


@pytest.fixture
def spans(db: Any) -> Any:
    exporter = exporting.InMemorySpanExporter()
    yield exporter
    sqlalchemy_instrumentation.SQLAlchemyInstrumentor().uninstrument()


def test_a_scim_request_span_has_its_sql_as_children(
    db: Any, spans: Any, enterprise: Any, make_token: Any
) -> None:
    app = create_app(Settings(database_url=db.url), db, span_exporter=spans)
    token = make_token(enterprise.account, "okta")
    answer = app.test_client().get(
        "/scim/v2/Groups?count=5", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    answer.close()  # the server's span ends when the response is done with
    finished = spans.get_finished_spans()
    (request,) = [s for s in finished if s.name == "GET /scim/v2/Groups"]
    assert request.attributes["http.route"] == "/scim/v2/Groups"
    children = [s for s in finished if s.parent and s.parent.span_id == request.context.span_id]
    statements = [s.attributes.get("db.statement", "") for s in children]
    assert any("FROM groups" in statement for statement in statements), statements
    assert token not in str([dict(s.attributes) for s in finished])


def test_without_an_endpoint_nothing_is_traced(db: Any) -> None:
    app = create_app(Settings(database_url=db.url), db)
    assert "OpenTelemetry" not in type(app.wsgi_app.app).__name__


def test_statements_run_on_the_driver_are_children_too(
    db: Any, spans: Any, enterprise: Any, make_token: Any, make_user: Any
) -> None:
    """A plain GET by id reads the token and the user by one statement, which PostgreSQL runs
    on the driver (store.statements); a change appends its audit event the same way."""
    app = create_app(Settings(database_url=db.url), db, span_exporter=spans)
    token = make_token(enterprise.account, "okta")
    user = make_user(enterprise.account, "traced")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    read = client.get(f"/scim/v2/Users/{user.id}", headers=headers)
    assert read.status_code == 200
    read.close()
    changed = client.patch(
        f"/scim/v2/Users/{user.id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Traced"}],
        },
        headers=headers,
    )
    assert changed.status_code == 200
    changed.close()
    finished = spans.get_finished_spans()
    for method, table in (("GET", "FROM users"), ("PATCH", "INSERT INTO audit_events")):
        (request,) = [s for s in finished if s.name.startswith(f"{method} /scim/v2/Users/")]
        children = [s for s in finished if s.parent and s.parent.span_id == request.context.span_id]
        statements = [s.attributes.get("db.statement", "") for s in children]
        assert any(table in statement for statement in statements), (method, statements)
