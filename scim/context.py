"""What every SCIM view needs from the request: the caller, the base URL, the projection, and the
transaction a change runs in (with its provisioning log entry)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import current_app, g, request
from scim2_models import ResponseParameters

from rollcall.web.database import database
from scim import quirks
from scim.schemas import parametrized
from store import outages, provisioning_log
from store.db import Tx


def caller() -> Any:
    """The authenticated caller (scim.auth.Caller) of this request."""
    return g.caller


@contextmanager
def reading() -> Iterator[Tx]:
    """The request's read session: the caller is authenticated and the resources read on one
    connection, closed when the request ends (see blueprint)."""
    session = g.get("scim_reader")
    if session is None:
        session = g.scim_reader = database().session(write=False)
    yield session


def close_reading() -> None:
    """At the request's end, when its answer is made: a connection lost meanwhile fails nothing."""
    session = g.pop("scim_reader", None)
    if session is not None:
        outages.close(session)


def base_url() -> str:
    return located_under(current_app.config["ROLLCALL_SETTINGS"].base_url, request.host_url)


def located_under(configured: str, host_url: str) -> str:
    """Where resources are located (`meta.location`): under ROLLCALL_BASE_URL when it is set, so
    that a Host header cannot choose it, else under the URL the request came to."""
    return (configured.rstrip("/") or host_url.rstrip("/")) + "/scim/v2"


def projected() -> bool:
    """Whether the query string narrows the response (`attributes` / `excludedAttributes`)."""
    return "attributes" in request.args or "excludedAttributes" in request.args


def projection(model: Any) -> ResponseParameters[Any]:
    """`attributes` / `excludedAttributes` of the query string, for any response."""
    args = {
        key: request.args[key]
        for key in ("attributes", "excludedAttributes")
        if key in request.args
    }
    return parametrized(ResponseParameters, model).model_validate(quirks.search_parameters(args))


def remember(body: Any = None, resource_id: Any = None) -> None:
    """Keep the request body and the resource for the provisioning log."""
    if body is not None:
        g.scim_body = body
    if resource_id is not None:
        g.scim_resource_id = str(resource_id)


@contextmanager
def change(logged_status: int) -> Iterator[Tx]:
    """The transaction of a single-resource change, with the request's provisioning log entry
    written in it: the change and its entry commit together, in one round of the database.

    `logged_status` is what the response will say if the change goes through; a refused or failed
    change rolls back with its entry, and the blueprint logs the refusal afterwards instead.
    """
    with database().transaction() as tx:
        yield tx
        log_request(tx, logged_status)
    g.scim_logged = True


def log_request(tx: Tx, status: int, error: str | None = None) -> None:
    """The provisioning log entry of this request (SPEC: kept 30 days)."""
    caller = g.caller
    provisioning_log.record(
        tx,
        credential_id=caller.credential_id,
        account_id=caller.actor.account_id,
        method=request.method,
        path=request.path,
        status=status,
        request=g.get("scim_body"),
        outcome=error or _OUTCOMES.get(status, "done"),
        resource_id=g.get("scim_resource_id"),
    )


_OUTCOMES = {201: "created", 204: "done", 304: "not modified"}
