"""What every SCIM view needs from the request: the caller, the base URL, the projection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import g, request
from scim2_models import ResponseParameters

from rollcall.app import database
from scim.schemas import parametrized
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
    session = g.pop("scim_reader", None)
    if session is not None:
        session.close()


def base_url() -> str:
    return request.host_url.rstrip("/") + "/scim/v2"


def projection(model: Any) -> ResponseParameters[Any]:
    """`attributes` / `excludedAttributes` of the query string, for any response."""
    args = {
        key: request.args[key]
        for key in ("attributes", "excludedAttributes")
        if key in request.args
    }
    return parametrized(ResponseParameters, model).model_validate(args)


def remember(body: Any = None, resource_id: Any = None) -> None:
    """Keep the request body and the resource for the provisioning log."""
    if body is not None:
        g.scim_body = body
    if resource_id is not None:
        g.scim_resource_id = str(resource_id)
