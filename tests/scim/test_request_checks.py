"""scim.request_checks checks a request as scim2-models does: for every model instance of many
requests, in every context, its checks and scim2-models' own end the same way (the same error,
or the same values left), and a request validated through Rollcall's models fails or passes as
scim2-models' checks would have it."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError
from scim2_models import BaseModel as ScimModel
from scim2_models import Context

from scim.request_checks import RequestChecks
from scim.schemas import COMMUNITY_URN, ENTERPRISE_URN, POLICY, Group, UserResource
from tests.scim.resources import USER

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
CONTEXTS = [context for context in Context if context != Context.DEFAULT]
BULK = Context.BULK_REQUEST
LIBRARY_CHECKS = ScimModel.__dict__["_enforce_scim_context"]


def user_body(rng: random.Random) -> dict[str, Any]:
    """A user request with, at random, what each check acts on: read-only and write-only
    attributes, required ones left out or empty, several primary values, extensions."""
    body: dict[str, Any] = {"schemas": [USER]}
    maybe = rng.random
    if maybe() < 0.8:
        body["userName"] = rng.choice(["ada@example.com", "", "Ada"])
    if maybe() < 0.3:
        body["id"] = "2819c223-7f76-453a-919d-413861904646"
    if maybe() < 0.2:
        body["meta"] = {"resourceType": "User", "version": 'W/"1"'}
    if maybe() < 0.2:
        body["groups"] = [{"value": "g1", "display": "Main Contact"}]
    if maybe() < 0.3:
        body["password"] = "correct horse battery staple"
    if maybe() < 0.7:
        body["active"] = rng.choice([True, False, None])
    if maybe() < 0.6:
        body["name"] = {"givenName": "Ada", "familyName": "Lovelace"}
    for attribute in ("emails", "phoneNumbers", "ims", "roles"):
        if maybe() < 0.5:
            body[attribute] = [
                {"value": f"{attribute}{n}@example.com", "primary": rng.choice([True, False])}
                for n in range(rng.randint(0, 3))
            ]
    if maybe() < 0.6:
        body["schemas"].append(COMMUNITY_URN)
        body[COMMUNITY_URN] = {
            key: value
            for key, value in {
                "profile": "client",
                "noLongerAtAccount": rng.choice([False, None]),
                "preferredContactMethod": "email",
                "account": "Acme",
                "applications": ["icd10"],
                "lastLogin": "2026-01-01T00:00:00Z",
            }.items()
            if maybe() < 0.6
        }
    if maybe() < 0.3:
        manager = rng.choice(["m1", "bulkId:qwerty"])  # an id, or a Bulk operation's user
        body["schemas"].append(ENTERPRISE_URN)
        body[ENTERPRISE_URN] = {"employeeNumber": "7", "manager": {"value": manager}}
    return body


def group_body(rng: random.Random) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP]}
    if rng.random() < 0.7:
        body["displayName"] = rng.choice(["Main Contact", ""])
    if rng.random() < 0.3:
        body["id"] = "g1"
    if rng.random() < 0.6:
        body["members"] = [{"value": "u1", "display": "Ada", "type": "User"}]
    return body


def instances(model: Any) -> list[ScimModel]:
    """The model and every SCIM model inside it."""
    found = [model]
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, ScimModel):
                found += instances(item)
    return found


def outcome(check: Any, model: ScimModel, context: Context, in_bulk: bool = False) -> Any:
    """What a check does to a model: the error it raises, or the values it leaves. `in_bulk`:
    the model is the data of a Bulk operation (where bulkId references are not yet resolved)."""
    info = SimpleNamespace(context={"scim": context, "scim_policy": POLICY, "scim_bulk": in_bulk})
    model = model.model_copy(deep=True)
    try:
        check(model, info)
    except (ValidationError, ValueError) as exc:
        return type(exc).__name__, str(exc)
    return model.model_dump()


@pytest.mark.slow  # many generated requests, each checked twice
@pytest.mark.parametrize(("resource", "make"), [(UserResource, user_body), (Group, group_body)])
def test_each_model_is_checked_as_scim2_models_checks_it(resource: Any, make: Any) -> None:
    rng = random.Random(7)
    compared = refused = 0
    for _ in range(400):
        model = resource.model_validate(make(rng))  # no context: nothing checked yet
        for part in instances(model):
            if not isinstance(part, RequestChecks):
                continue
            for context, in_bulk in [(c, False) for c in CONTEXTS] + [(BULK, True)]:
                mine = outcome(type(part)._enforce_scim_context, part, context, in_bulk)
                upstream = outcome(LIBRARY_CHECKS, part, context, in_bulk)
                assert mine == upstream, (type(part).__name__, context, part)
                compared += 1
                refused += isinstance(mine, tuple)
    assert refused > 100 and compared - refused > 100  # both outcomes were exercised


def test_a_request_is_refused_as_scim2_models_refuses_it() -> None:
    """Through validation itself: what the library's checks refuse is refused, and what they
    accept comes out with the same values (read-only ones dropped)."""
    rng = random.Random(11)
    refused = 0
    for _ in range(300):
        body = user_body(rng)
        if rng.random() < 0.6:
            complete(body)
        context = rng.choice(
            [Context.RESOURCE_CREATION_REQUEST, Context.RESOURCE_REPLACEMENT_REQUEST]
        )
        try:
            validated = UserResource.model_validate(body, scim_ctx=context, scim_policy=POLICY)
        except ValidationError as exc:
            refused += 1
            expected = [
                outcome(LIBRARY_CHECKS, part, context)
                for part in instances(UserResource.model_validate(body))
            ]
            assert any(isinstance(result, tuple) for result in expected), exc
            continue
        unchecked = UserResource.model_validate(body)
        for part in instances(unchecked):
            assert not isinstance(outcome(LIBRARY_CHECKS, part, context), tuple)
        assert validated.model_dump() == _library_dump(unchecked, context)
    assert 30 < refused < 270


def complete(body: dict[str, Any]) -> None:
    """What a request must have: a userName, `active` and the community attributes."""
    body["userName"] = body.get("userName") or "ada@example.com"
    body["active"] = True if body.get("active") is None else body["active"]
    body.setdefault(COMMUNITY_URN, {}).update(
        profile="client", noLongerAtAccount=False, preferredContactMethod="email"
    )
    if COMMUNITY_URN not in body["schemas"]:
        body["schemas"].append(COMMUNITY_URN)


def _library_dump(model: ScimModel, context: Context) -> dict[str, Any]:
    """The values scim2-models' checks leave, applied to every part from the inside out."""
    model = model.model_copy(deep=True)
    for part in reversed(instances(model)):
        LIBRARY_CHECKS(part, SimpleNamespace(context={"scim": context, "scim_policy": POLICY}))
    return model.model_dump()
