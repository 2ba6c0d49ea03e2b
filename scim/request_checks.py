"""scim2-models' checks of a request against its context, over only the attributes they concern.

scim2-models checks every attribute of a request for mutability, required values and one
primary (RFC 7643 §7, §2.4), though few attributes have any of these. `RequestChecks` runs
scim2-models' own check, in the same order, on just the attributes that have one (found once per
class), so the outcome is the library's; responses are checked by scim2-models itself. It calls
private methods of scim2-models: the version is pinned (pyproject.toml), and if they are missing
the mixin stands aside. `patch_copy` applies a PATCH with scim2-models' own operations the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from inspect import isclass
from typing import Any

from pydantic import BaseModel as PydanticModel
from pydantic import ValidationInfo, model_validator
from scim2_models import BaseModel as ScimModel
from scim2_models import Context, Mutability, PatchOp, Required
from scim2_models.messages import patch_op

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


def patch_copy(operations: PatchOp[Any], resource: Any) -> None:
    """Apply the operations to a resource made for the purpose, as `PatchOp.patch` does but
    without the deep copy it first takes to restore the resource when an operation fails (most
    of its own cost on a user): a failed PATCH drops this resource whole."""
    apply = getattr(patch_op, "_apply_operation", None)
    effective = getattr(patch_op, "_effective_policy", None)
    if apply is None or effective is None:
        operations.patch(resource)
        return
    policy = effective()  # the ambient one: the caller's `with POLICY`
    for operation in operations.operations or []:
        apply(resource, operation, policy)
