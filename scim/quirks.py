"""Identity-provider habits that scim2-models does not already accept, straightened out before
validation. Each is a shape some real client sends; none changes what a correct request means."""

from __future__ import annotations

import re
from typing import Any

from scim2_models import InvalidValueException

from scim.schemas import COMMUNITY_URN, ENTERPRISE_URN

_MANAGER_PATH = f"{ENTERPRISE_URN}:manager".lower()
# A schema of Entra ID's own that defines no attributes, listed in the groups it pushes.
_ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def resource(body: dict[str, Any]) -> dict[str, Any]:
    """Entra ID sends the enterprise `manager` as a bare id string."""
    for key, value in body.items():
        if key.lower() == ENTERPRISE_URN.lower() and isinstance(value, dict):
            body[key] = _wrap_manager(value)
    return body


def group(body: dict[str, Any]) -> dict[str, Any]:
    """Entra ID lists its attribute-less group schema among the `schemas` of a group."""
    schemas = body.get("schemas")
    if isinstance(schemas, list):
        body["schemas"] = [
            s
            for s in schemas
            if not (isinstance(s, str) and s.lower() == _ENTRA_GROUP_SCHEMA.lower())
        ]
    return body


def patch(body: dict[str, Any]) -> dict[str, Any]:
    """The same `manager` habit in PATCH operations, with a path or inside a no-path value, and
    a manager removal that names the manager removed."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        path = str(operation.get("path") or "").lower()
        value = operation.get("value")
        if path in _APPLICATIONS_PATHS and _removes_keys(operation):
            # The keys a remove names, as the value filter RFC 7644 §3.5.2.2 reads.
            chosen = " or ".join(f'value eq "{key}"' for key in value)
            operation["path"] = f"{operation['path']}[{chosen}]"
            operation.pop("value")
        elif path in (_MANAGER_PATH, "manager") and str(operation.get("op")).lower() == "remove":
            operation.pop("value", None)  # Entra ID names the manager it removes; there is one
        elif path in (_MANAGER_PATH, "manager") and isinstance(value, str):
            operation["value"] = {"value": value}
        elif not path and isinstance(value, dict):
            for key in list(value):
                if key.lower() in (_MANAGER_PATH, "manager") and isinstance(value[key], str):
                    value[key] = {"value": value[key]}
            resource(value)
    return body


_APPLICATIONS_PATHS = (f"{COMMUNITY_URN.lower()}:applications",)
_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _removes_keys(operation: dict[str, Any]) -> bool:
    """A remove naming the applications it takes by their keys (a list of plain keys)."""
    value = operation.get("value")
    return (
        str(operation.get("op")).lower() == "remove"
        and isinstance(value, list)
        and bool(value)
        and all(isinstance(key, str) and _KEY.fullmatch(key) for key in value)
    )


def _wrap_manager(extension: dict[str, Any]) -> dict[str, Any]:
    for key, value in extension.items():
        if key.lower() == "manager" and isinstance(value, str):
            extension[key] = {"value": value}
    return extension


def with_defaults(body: dict[str, Any], active: bool, community: dict[str, Any]) -> dict[str, Any]:
    """Fill what a creation or replacement leaves out of the always-present attributes.

    `active` and the community state are required in Rollcall's schema because every user has
    them; a client that does not send them keeps the current value (or gets the default). An
    `active` of null is not sent (RFC 7643 §2.5: null and unassigned are the same).
    """
    sent = [key for key in body if key.lower() == "active"]
    if all(body[key] is None for key in sent):
        for key in sent:
            del body[key]
        body["active"] = active
    if not any(key.lower() == COMMUNITY_URN.lower() for key in body):
        body[COMMUNITY_URN] = {}
    for key, value in body.items():
        if key.lower() == COMMUNITY_URN.lower() and isinstance(value, dict):
            present = {name.lower() for name in value}
            for name, default in community.items():
                if name.lower() not in present:
                    value[name] = default
    return body


def search_parameters(payload: dict[str, Any]) -> dict[str, Any]:
    """`sortOrder` in any case ("DESCENDING" as some clients write it); and `attributes` with
    `excludedAttributes`, which scim2-models refuses in its own words, refused in ours."""
    order = payload.get("sortOrder")
    if isinstance(order, str):
        payload["sortOrder"] = order.lower()
    if payload.get("attributes") and payload.get("excludedAttributes"):
        raise InvalidValueException(
            detail="Send attributes or excludedAttributes, not both: the one names what to "
            "return, the other what to leave out."
        )
    return payload
