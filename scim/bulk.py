"""/Bulk (RFC 7644 §3.7): operations run in order, each in its own transaction, with bulkId
references resolved to the ids of resources created earlier in the same request."""

from __future__ import annotations

import re
from typing import Any

from flask import Response
from pydantic import ValidationError
from scim2_models import (
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    SCIMException,
)

from scim import groups, users
from scim.context import base_url, remember
from scim.responses import from_exception, json_body, scim_json, versions_named
from scim.schemas import MAX_OPERATIONS
from store.errors import DomainError

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_REFERENCE = re.compile(r"^bulkId:(.+)$")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$", re.IGNORECASE)
HANDLERS = {"users": users, "groups": groups}


def bulk() -> Response:
    body = json_body()
    remember(body)
    operations = body.get("Operations")
    if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
        raise InvalidSyntaxException(detail="A BulkRequest needs a list of Operations.")
    if len(operations) > MAX_OPERATIONS:
        raise PayloadTooLargeException(
            detail=f"At most {MAX_OPERATIONS} operations per bulk request."
        )
    fail_on_errors = body.get("failOnErrors")
    if fail_on_errors is not None and (not isinstance(fail_on_errors, int) or fail_on_errors < 1):
        raise InvalidValueException(detail="failOnErrors must be a positive integer.")
    created: dict[str, str] = {}
    results = []
    errors = 0
    for operation in operations:
        result = _run(operation, created)
        results.append(result)
        if int(result["status"]) >= 400:
            errors += 1
            if fail_on_errors is not None and errors >= fail_on_errors:
                break
    return scim_json({"schemas": [BULK_RESPONSE], "Operations": results})


def _run(operation: dict[str, Any], created: dict[str, str]) -> dict[str, Any]:
    method = str(operation.get("method", "")).upper()
    bulk_id = operation.get("bulkId")
    result: dict[str, Any] = {"method": method}
    if bulk_id is not None:
        result["bulkId"] = bulk_id
    try:
        path = _resolve(operation.get("path"), created)
        if method != "POST" and (location := _location(path)):
            # RFC 7644 §3.7.3: location is required in every response but a failed POST's.
            result["location"] = location
        data = _resolve(operation.get("data"), created)
        resource = _dispatch(method, path, data, operation.get("version"), bulk_id)
    except (SCIMException, ValidationError, DomainError) as exc:
        error = from_exception(exc)
        result["status"] = str(error.status_code)
        result["response"] = error.get_json(force=True)
        return result
    if resource is None:
        result["status"] = "204"
        return result
    if bulk_id is not None and method == "POST":
        created[str(bulk_id)] = resource.id
    result["location"] = resource.meta.location
    result["version"] = resource.meta.version
    result["status"] = "201" if method == "POST" else "200"
    return result


def _dispatch(method: str, path: Any, data: Any, version: Any, bulk_id: Any) -> Any:
    match = _PATH.match(str(path or ""))
    if match is None:
        raise InvalidValueException(
            detail=f"Bulk operations address /Users or /Groups, not {path}."
        )
    handler = HANDLERS[match.group(1).lower()]
    resource_id = match.group(2)
    if_match = versions_named(version) if isinstance(version, str) else None
    if method == "POST" and resource_id is None:
        if bulk_id is None:
            raise InvalidValueException(detail="A POST bulk operation needs a bulkId.")
        return handler.create(_object(data))
    if resource_id is None or method not in ("PUT", "PATCH", "DELETE"):
        raise InvalidValueException(detail=f"{method} {path} is not a bulk operation.")
    if method == "PUT":
        return handler.replace(resource_id, _object(data), if_match)
    if method == "PATCH":
        if handler is groups:
            return groups.patch(resource_id, _object(data), if_match, with_members=False)
        return users.patch(resource_id, _object(data), if_match)
    handler.delete(resource_id, if_match)
    return None


def _location(path: Any) -> str | None:
    """The URL of the resource an operation's path names, if it names one."""
    match = _PATH.match(str(path or ""))
    if match is None or match.group(2) is None:
        return None
    return f"{base_url()}/{match.group(1).capitalize()}/{match.group(2)}"


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidSyntaxException(detail="Bulk operation data must be a JSON object.")
    return data


def _resolve(value: Any, created: dict[str, str]) -> Any:
    """Replace `bulkId:x` (whole values and path segments) by the id created for x."""
    if isinstance(value, str):
        if value.startswith("/"):
            head, _, tail = value.rpartition("/")
            return f"{head}/{_resolve(tail, created)}" if tail.startswith("bulkId:") else value
        match = _REFERENCE.match(value)
        if match is None:
            return value
        if match.group(1) not in created:
            raise InvalidValueException(
                detail=f"bulkId {match.group(1)} names no resource created before this operation."
            )
        return created[match.group(1)]
    if isinstance(value, list):
        return [_resolve(item, created) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, created) for key, item in value.items()}
    return value
