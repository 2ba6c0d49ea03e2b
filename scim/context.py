"""What every SCIM view needs from the request: the caller, the base URL, the projection."""

from __future__ import annotations

from typing import Any

from flask import g, request
from scim2_models import ResponseParameters

from scim.auth import Caller
from scim.schemas import parametrized


def caller() -> Caller:
    return g.caller


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
