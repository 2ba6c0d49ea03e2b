"""/Bulk (RFC 7644 §3.7): operations run in order, each in its own transaction, with bulkId
references resolved to the ids of resources created in the same request (an operation that
refers to a later POST waits for it). Operations start only within the request's budget
(`Settings.bulk_budget`): those left when it is spent are answered as not run (503), so a large
Bulk is answered in full before the worker's timeout instead of being cut off half-way."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app
from pydantic import ValidationError
from scim2_models import (
    InvalidPathException,
    InvalidSyntaxException,
    InvalidValueException,
    PayloadTooLargeException,
    SCIMException,
)

from rollcall.web.dispatch import Site
from scim import groups, users
from scim.context import base_url, remember
from scim.responses import error_response, from_exception, json_body, scim_json, versions_named
from scim.schemas import MAX_OPERATIONS
from store.errors import Conflict, DomainError, Unavailable

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_REFERENCE = re.compile(r"^bulkId:(.+)$")
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$", re.IGNORECASE)
HANDLERS = {"users": users, "groups": groups}


def bulk() -> Response:
    """Run a BulkRequest, starting operations within the request's budget."""
    deadline = time.monotonic() + Site.of().settings.bulk_budget
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
    whole = isinstance(fail_on_errors, int) and not isinstance(fail_on_errors, bool)
    if fail_on_errors is not None and (not whole or fail_on_errors < 1):
        raise InvalidValueException(detail="failOnErrors must be a positive integer.")
    results: dict[int, dict[str, Any]] = {}
    errors = 0
    for index, result in _in_reference_order(operations, deadline):
        results[index] = result
        if int(result["status"]) >= 400:
            errors += 1
            if fail_on_errors is not None and errors >= fail_on_errors:
                break
    ran = [results[index] for index in sorted(results)]
    return scim_json({"schemas": [BULK_RESPONSE], "Operations": ran})


def _in_reference_order(
    operations: list[dict[str, Any]], deadline: float
) -> Iterator[tuple[int, Any]]:
    """Each operation's result, with its index: in request order, except that one referring to
    a resource a later POST creates waits for it and runs as soon as it is created, before the
    operations after that POST (RFC 7644 §3.7.1); operations that wait on each other in a
    circle are refused with 409; once `deadline` has passed, the operations left are not run."""
    created: dict[str, str] = {}
    first_post: dict[str, int] = {}
    for index, operation in enumerate(operations):
        if _is_post(operation) and isinstance(operation.get("bulkId"), str):
            first_post.setdefault(operation["bulkId"], index)
    posted = set(first_post)

    def ready(operation: dict[str, Any]) -> bool:
        return not _references(operation) & (posted - set(created))

    def run(operation: dict[str, Any]) -> Any:
        late = time.monotonic() >= deadline
        result = _not_run(operation) if late else _run(operation, created)
        if _is_post(operation) and int(result["status"]) >= 400:
            posted.discard(str(operation.get("bulkId")))  # nothing waits for it any longer
        return result

    waiting: list[tuple[int, dict[str, Any]]] = []
    for index, operation in enumerate(operations):
        bulk_id = operation.get("bulkId")
        if isinstance(bulk_id, str) and _is_post(operation) and first_post[bulk_id] != index:
            twice = InvalidValueException(detail=f"bulkId {bulk_id} names two operations.")
            yield index, _refused(operation, twice)
            continue
        if _bulk_id_in_a_patch_path(operation):
            unresolved = InvalidPathException(
                detail="A bulkId is resolved in values (a member's, a manager's), not in a "
                "PATCH path's filter: remove such a member in a request of its own."
            )
            yield index, _refused(operation, unresolved)
            continue
        if not ready(operation):
            waiting.append((index, operation))
            continue
        yield index, run(operation)
        while (unblocked := next((w for w in waiting if ready(w[1])), None)) is not None:
            waiting.remove(unblocked)  # the oldest that now can, before the next in order
            yield unblocked[0], run(unblocked[1])
    for index, operation in waiting:
        yield index, _circular(operation)


def _result(operation: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {"method": str(operation.get("method", "")).upper()}
    if operation.get("bulkId") is not None:
        result["bulkId"] = operation["bulkId"]
    return result


def _failed(result: dict[str, Any], exc: Exception) -> dict[str, Any]:
    return _answered(result, from_exception(exc))


def _answered(result: dict[str, Any], error: Response) -> dict[str, Any]:
    result["status"] = str(error.status_code)
    result["response"] = error.get_json(force=True)
    return result


def _run(operation: dict[str, Any], created: dict[str, str]) -> dict[str, Any]:
    result = _result(operation)
    method, bulk_id = result["method"], operation.get("bulkId")
    try:
        path = _resolve_path(operation.get("path"), created)
        if method != "POST" and (location := _location(path)):
            # RFC 7644 §3.7.3: location is required in every response but a failed POST's.
            result["location"] = location
        data = _resolve(operation.get("data"), created)
        resource = _dispatch(method, path, data, operation.get("version"), bulk_id)
    except (SCIMException, ValidationError, DomainError, Unavailable) as exc:
        return _failed(result, exc)
    except Exception:  # a fault of ours fails this operation, not the ones around it
        current_app.logger.exception("SCIM bulk operation failed: %s", operation.get("path"))
        return _answered(result, error_response(500, "The server failed to run this operation."))
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
    if version is not None and not isinstance(version, str):
        raise InvalidValueException(detail="A bulk operation's version is an ETag (a string).")
    if_match = versions_named(version) if version is not None else None
    if method == "POST" and resource_id is None:
        if not isinstance(bulk_id, str) or not bulk_id:
            raise InvalidValueException(detail="A POST bulk operation needs a bulkId (text).")
        return handler.create(_object(data))
    if resource_id is None or method not in ("PUT", "PATCH", "DELETE"):
        raise InvalidValueException(detail=f"{method} {path} is not a bulk operation.")
    if method == "PUT":
        return handler.replace(resource_id, _object(data), if_match)
    if method == "PATCH":
        return handler.patch(resource_id, _object(data), if_match)
    handler.delete(resource_id, if_match)
    return None


def _is_post(operation: dict[str, Any]) -> bool:
    return str(operation.get("method", "")).upper() == "POST"


def _bulk_id_in_a_patch_path(operation: dict[str, Any]) -> bool:
    """Whether a PATCH operation's path names a bulkId (`members[value eq "bulkId:x"]`), which
    would otherwise match nothing and answer 200 having done nothing."""
    data = operation.get("data")
    steps = data.get("Operations") if isinstance(data, dict) else None
    return isinstance(steps, list) and any(
        isinstance(step, dict) and "bulkid:" in str(step.get("path", "")).lower() for step in steps
    )


def _references(operation: dict[str, Any]) -> set[str]:
    """The bulkIds an operation's path and data refer to as `bulkId:x`."""
    path = operation.get("path")
    named = {_path_reference(path)} if isinstance(path, str) else set()
    return (named | _referenced(operation.get("data"))) - {None}


def _path_reference(path: str) -> str | None:
    match = _REFERENCE.match(path.rpartition("/")[2]) if path.startswith("/") else None
    return match.group(1) if match else None


def _referenced(value: Any, reference: bool = False) -> set[str]:
    """The bulkIds named by the references in `value`: strings that are a `value` (of a
    member, of a manager, of a PATCH operation), as RFC 7644 §3.7.2 uses them; other text that
    happens to start with "bulkId:" (a displayName) is data."""
    if isinstance(value, str):
        match = _REFERENCE.match(value) if reference else None
        return {match.group(1)} if match else set()
    if isinstance(value, dict):
        return set().union(*(_referenced(v, k == "value") for k, v in value.items()))
    if isinstance(value, list):
        return set().union(*(_referenced(item, reference) for item in value))
    return set()


def _not_run(operation: dict[str, Any]) -> dict[str, Any]:
    late = Unavailable(
        "Not run: the request's time ran out before this operation; send it again "
        "(the operations answered otherwise were run)."
    )
    return _refused(operation, late)


def _circular(operation: dict[str, Any]) -> dict[str, Any]:
    circle = Conflict("The operation refers in a circle to resources this request creates.")
    return _refused(operation, circle)


def _refused(operation: dict[str, Any], exc: Exception) -> dict[str, Any]:
    return _failed(_result(operation), exc)


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


def _resolve_path(path: Any, created: dict[str, str]) -> Any:
    """A path's last segment `bulkId:x` replaced by the id created for x."""
    if not isinstance(path, str) or _path_reference(path) is None:
        return path
    head, _, tail = path.rpartition("/")
    return f"{head}/{_created(tail, created)}"


def _resolve(value: Any, created: dict[str, str], reference: bool = False) -> Any:
    """The references `bulkId:x` in data (those `_referenced` finds) replaced by the id
    created for x."""
    if isinstance(value, str):
        return _created(value, created) if reference and _REFERENCE.match(value) else value
    if isinstance(value, list):
        return [_resolve(item, created, reference) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, created, key == "value") for key, item in value.items()}
    return value


def _created(reference: str, created: dict[str, str]) -> str:
    bulk_id = reference.removeprefix("bulkId:")
    if bulk_id not in created:
        raise InvalidValueException(
            detail=f"bulkId {bulk_id} names no resource created before this operation."
        )
    return created[bulk_id]
