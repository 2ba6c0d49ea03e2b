"""The floor of a SCIM create on this machine, beside the bare endpoint, as scim_bench measures.

Why: #3 asks creates to reach 25% of the bare endpoint's requests per second. This app does the
least any create meeting #3's other demands must do, and nothing else: Flask under gunicorn,
the bearer token looked up, the body validated by scim2-models as a creation request, the user,
its email, the audit event and the provisioning log entry inserted by one statement that commits
and waits for the disk (`Database.insert_together`, as Rollcall's create writes them), the
resource serialized by scim2-models. No rules of SPEC.md, no normalization, no defaults.
Whatever it reaches is more than Rollcall's create can.

    .venv/bin/python bench/create_floor.py [--users-large 5000] [--requests 2000]

It runs scim_bench's create measurement (same clients, servers, database) with this app served
in Rollcall's place. Nothing is asserted; it prints the same table and ratio.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask import Flask, Response, request
from scim2_models import Context

from scim import quirks
from scim.schemas import POLICY, UserResource
from store import credentials
from store.db import Database
from store.models.directory import User, UserEmail
from store.models.logs import AuditEvent, ProvisioningLogEntry

app = Flask("create_floor")
DEFAULTS = {"profile": "client", "noLongerAtAccount": False, "preferredContactMethod": "email"}


@cache
def database() -> Database:
    return Database(os.environ["ROLLCALL_DATABASE_URL"])


@app.get("/healthz")
def healthz() -> Response:
    return Response("{}", mimetype="application/json")


@app.post("/scim/v2/Users")
def create() -> Response:
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    with database().reading() as reads:
        credential = credentials.find_live(reads, token)
    if credential is None:
        return Response(status=401)
    body = json.loads(request.get_data())
    wanted = quirks.with_defaults(dict(body), True, DEFAULTS)  # the always-present extension
    user = UserResource.model_validate(
        wanted, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
    )
    user.id, moment = str(uuid.uuid4()), datetime.now(UTC)
    rows = [
        (User, _user_row(user, credential.account_id, moment)),
        *((UserEmail, _email_row(user.id, n, email)) for n, email in enumerate(user.emails or [])),
        (AuditEvent, _event_row(user, credential, moment, body)),
        (ProvisioningLogEntry, _log_row(user, credential, moment, body)),
    ]
    database().insert_together(rows)
    document = user.model_dump(scim_ctx=Context.RESOURCE_CREATION_RESPONSE)
    location = f"{request.host_url}scim/v2/Users/{user.id}"
    document["meta"] = {
        "resourceType": "User",
        "created": moment.isoformat(),
        "lastModified": moment.isoformat(),
        "version": 'W/"1"',
        "location": location,
    }
    headers = {"Location": location, "ETag": 'W/"1"'}
    return Response(json.dumps(document), 201, headers, mimetype="application/scim+json")


def _user_row(user: Any, account_id: uuid.UUID, moment: datetime) -> dict[str, Any]:
    name = user.name
    emails = user.emails or []
    return {
        "id": uuid.UUID(user.id),
        "account_id": account_id,
        "user_name": user.user_name,
        "user_name_ci": user.user_name.casefold(),
        "given_name": name.given_name if name else None,
        "family_name": name.family_name if name else None,
        "given_name_ci": (name.given_name or "").casefold() if name else "",
        "family_name_ci": (name.family_name or "").casefold() if name else "",
        "primary_email_ci": emails[0].value.casefold() if emails else "",
        "addresses": [],
        "other_attributes": {},
        "active": True,
        "profile": DEFAULTS["profile"],
        "is_support": False,
        "no_longer_at_account": False,
        "preferred_contact_method": "email",
        "managed_by": "scim",
        "email_verified": True,
        "failed_logins": 0,
        "version": 1,
        "created_at": moment,
        "modified_at": moment,
    }


def _email_row(user_id: str, position: int, email: Any) -> dict[str, Any]:
    return {
        "user_id": uuid.UUID(user_id),
        "position": position,
        "value": email.value,
        "value_ci": email.value.casefold(),
        "type": email.type,
        "primary": bool(email.primary),
    }


def _event_row(user: Any, credential: Any, moment: datetime, body: Any) -> dict[str, Any]:
    return {
        "at": moment,
        "actor_type": "credential",
        "actor_id": str(credential.id),
        "actor_label": credential.name,
        "door": "scim",
        "action": "user.created",
        "account_id": credential.account_id,
        "target_type": "user",
        "target_id": user.id,
        "changes": body,
    }


def _log_row(user: Any, credential: Any, moment: datetime, body: Any) -> dict[str, Any]:
    return {
        "at": moment,
        "credential_id": credential.id,
        "account_id": credential.account_id,
        "method": "POST",
        "path": request.path,
        "status": 201,
        "request": body,
        "outcome": "created",
        "resource_id": user.id,
    }


def main() -> None:
    import scim_bench  # beside this file; imported here so gunicorn's import of the app is light

    measured = scim_bench.serve

    def serve_floor(stack: Any, db: Any, _app: str, clients: int) -> Any:
        return measured(stack, db, "create_floor:app", clients)

    scim_bench.serve = serve_floor
    sys.argv += ["--only", "create"]
    scim_bench.main()


if __name__ == "__main__":
    main()
