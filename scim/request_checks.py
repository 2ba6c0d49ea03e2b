"""scim2-models' checks of a request against its context, over only the attributes they concern.

Why: in a request, scim2-models checks every attribute of every model against the operation
(RFC 7643 §7 mutability, required attributes, RFC 7643 §2.4 one primary value) by asking each
attribute for its properties, about a tenth of a millisecond of every user creation, nearly all
of it spent on attributes that have none of them. `RequestChecks` visits, in the same order, only
the attributes that have one, found once per class from scim2-models' own annotations, and runs
scim2-models' own check on each, so the outcome is the same, errors and their order included
(tests/scim/test_request_checks.py compares the two on many requests). Responses are checked by
scim2-models itself. Should a release of scim2-models no longer have the checks this relies on,
the mixin stands aside and scim2-models checks everything as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from inspect import isclass
from typing import Any

from pydantic import BaseModel as PydanticModel
from pydantic import ValidationInfo, model_validator
from scim2_models import BaseModel as ScimModel
from scim2_models import Context, Mutability, Required

_CREATE_OR_REPLACE = frozenset(
    {
        Context.RESOURCE_CREATION_REQUEST,
        Context.RESOURCE_REPLACEMENT_REQUEST,
        Context.BULK_REQUEST,
    }
)
_USED = (
    "_enforce_scim_context",
    "_check_mutability",
    "_check_necessity",
    "_check_primary_uniqueness",
    "_is_unresolved_bulk_reference",
)
_SUPPORTED = all(callable(getattr(ScimModel, name, None)) for name in _USED)


@dataclass(frozen=True, slots=True)
class _Concern:
    """An attribute some check of a request acts on, and which checks those are."""

    name: str
    mutability: bool  # read-only or write-only: what the mutability check acts on
    required: bool
    primary: bool  # several values, of entries that may be primary


def concerns(model: type[ScimModel]) -> tuple[_Concern, ...]:
    """The attributes of `model` a request check acts on, in the model's order."""
    found: tuple[_Concern, ...] | None = model.__dict__.get("__rollcall_concerns__")
    if found is not None:
        return found
    found = tuple(
        concern
        for name in model.model_fields
        if (concern := _concern(model, name)).mutability or concern.required or concern.primary
    )
    if model.__pydantic_complete__:  # a class still to be rebuilt may change its fields
        model.__rollcall_concerns__ = found  # type: ignore[attr-defined]
    return found


def _concern(model: type[ScimModel], name: str) -> _Concern:
    entry = model.get_field_root_type(name)
    return _Concern(
        name,
        mutability=model.get_field_annotation(name, Mutability)
        in (Mutability.read_only, Mutability.write_only),
        required=model.get_field_annotation(name, Required) == Required.true,
        primary=model.get_field_multiplicity(name)
        and isclass(entry)
        and issubclass(entry, PydanticModel)
        and "primary" in entry.model_fields,
    )


class RequestChecks(ScimModel):
    """Mixed into Rollcall's SCIM models ahead of scim2-models' classes."""

    if _SUPPORTED:

        @model_validator(mode="after")
        def _enforce_scim_context(self, info: ValidationInfo) -> Any:
            context = info.context.get("scim") if info.context else None
            if not context or context == Context.DEFAULT:
                return self
            if not Context.is_request(context):
                return ScimModel._enforce_scim_context(self, info)
            create_or_replace = context in _CREATE_OR_REPLACE
            in_bulk = bool(info.context.get("scim_bulk")) if info.context else False
            fields_set = self.model_fields_set
            for concern in concerns(type(self)):
                name = concern.name
                value = getattr(self, name)  # before a read-only value is dropped, as upstream
                if concern.mutability and name in fields_set:
                    self._check_mutability(name, context)
                if (
                    concern.required
                    and create_or_replace
                    and not self._is_unresolved_bulk_reference(name, in_bulk)
                ):
                    self._check_necessity(name, value)
                if concern.primary and value is not None:
                    self._check_primary_uniqueness(name, value)
            return self
