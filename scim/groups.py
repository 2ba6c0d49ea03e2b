"""/Groups: contact roles and pushed groups. Member changes go straight to the store, so adding
one member to a large group never loads the others."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, request
from scim2_models import Context, InvalidValueException, PatchOp
from scim2_models.path import AttrPath, CompareOperator, Comparison, LogicalExpr, LogicalOperator
from sqlalchemy import inspect

from rollcall.web.database import database
from scim import mapping, quirks, search
from scim.context import base_url, caller, change, projected, projection, reading, remember
from scim.group_json import group_json
from scim.responses import (
    bodiless,
    document_response,
    if_match,
    json_body,
    not_modified,
    read_response,
    render,
    scim_json,
)
from scim.schemas import POLICY, Group, parametrized
from store import groups, listing, users
from store.db import Tx
from store.versions import IfMatch


def list_groups() -> Response:
    query = search.from_query(Group, request.args)
    with reading() as tx:
        return scim_json(search.search_groups(tx, caller().actor, query, base_url()))


def search_groups() -> Response:
    query = search.from_body(Group, json_body())
    with reading() as tx:
        return scim_json(search.search_groups(tx, caller().actor, query, base_url()))


def get_group(resource_id: str) -> Response:
    if projected():
        return _get_projected_group(resource_id)
    with reading() as tx:
        group = groups.get_group(tx, caller().actor, mapping.parse_id(resource_id))
        document = group_json(group, base_url(), _members(tx, group))
    return read_response(document)


def _get_projected_group(resource_id: str) -> Response:
    params = projection(Group)
    with reading() as tx:
        group = groups.get_group(tx, caller().actor, mapping.parse_id(resource_id))
        resource = _render_model(tx, group, search.wants_members(params))
    if not_modified(resource.meta.version):
        return bodiless(304, resource.meta.version)
    return render(resource, Context.RESOURCE_QUERY_RESPONSE, params)


def create_group() -> Response:
    body = json_body()
    remember(body)
    params = projection(Group)
    with change(201) as tx:
        group = _create(tx, body)
        remember(resource_id=group.id)
        return _respond(tx, group, Context.RESOURCE_CREATION_RESPONSE, params, 201, location=True)


def replace_group(resource_id: str) -> Response:
    body = json_body()
    remember(body, resource_id)
    params = projection(Group)
    with change(200) as tx:
        group = _replace(tx, resource_id, body, if_match())
        return _respond(tx, group, Context.RESOURCE_REPLACEMENT_RESPONSE, params)


def patch_group(resource_id: str) -> Response:
    """204 by default, with the new version as ETag (RFC 7644 §3.14) so that a client can
    make its next change conditional without reading the group again; 200 with the group when
    the client asks for attributes back."""
    body = json_body()
    remember(body, resource_id)
    answer = "attributes" in request.args or "excludedAttributes" in request.args
    params = projection(Group)
    with change(200 if answer else 204) as tx:
        group = _patch(tx, resource_id, body, if_match())
        patched = _render_model(tx, group, search.wants_members(params)) if answer else None
    if patched is None:
        return bodiless(204, mapping.etag(group.version))
    return render(patched, Context.RESOURCE_PATCH_RESPONSE, params)


def delete_group(resource_id: str) -> Response:
    remember(resource_id=resource_id)
    with change(204) as tx:
        _delete(tx, resource_id, if_match())
    return bodiless(204)


# The operations for /Bulk: each runs in its own transaction and returns the SCIM resource.


def create(body: dict[str, Any]) -> Group:
    with database().transaction() as tx:
        return _render_model(tx, _create(tx, body), with_members=True)


def replace(resource_id: str, body: dict[str, Any], version: IfMatch) -> Group:
    with database().transaction() as tx:
        return _render_model(tx, _replace(tx, resource_id, body, version), with_members=True)


def patch(resource_id: str, body: dict[str, Any], version: IfMatch) -> Group:
    with database().transaction() as tx:
        return _render_model(tx, _patch(tx, resource_id, body, version), with_members=False)


def delete(resource_id: str, version: IfMatch) -> None:
    with database().transaction() as tx:
        _delete(tx, resource_id, version)


# Each parses with scim2-models and runs store operations in the given transaction.


def _create(tx: Tx, body: dict[str, Any]) -> Any:
    resource = Group.model_validate(
        quirks.group(body), scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
    )
    actor = caller().actor
    member_ids = mapping.member_ids(resource)
    return groups.create_group(
        tx,
        actor,
        account_id=_account_for(tx, actor, member_ids),
        display_name=resource.display_name,
        external_id=resource.external_id,
        members=member_ids,
    )


def _replace(tx: Tx, resource_id: str, body: dict[str, Any], version: IfMatch) -> Any:
    resource = Group.model_validate(
        quirks.group(body), scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
    )
    actor = caller().actor
    group_id = mapping.parse_id(resource_id)
    groups.update_group(
        tx,
        actor,
        group_id,
        display_name=resource.display_name,
        external_id=resource.external_id or "",  # "" clears: PUT replaces everything
        if_match=version,
    )
    return groups.set_members(tx, actor, group_id, mapping.member_ids(resource))


def _patch(tx: Tx, resource_id: str, body: dict[str, Any], version: IfMatch) -> Any:
    """Apply the operations atomically; returns the stored group."""
    operations = parametrized(PatchOp, Group).model_validate(
        body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
    )
    actor = caller().actor
    group_id = mapping.parse_id(resource_id)
    group = groups.lock_for_change(tx, actor, group_id, version)  # read and checked locked
    steps = _member_steps(operations)
    if steps is None:
        _patch_whole(tx, actor, group, operations)
    else:
        for step, ids in steps:
            step(tx, actor, group_id, ids)
    return groups.get_group(tx, actor, group_id)


def _delete(tx: Tx, resource_id: str, version: IfMatch) -> None:
    groups.delete_group(tx, caller().actor, mapping.parse_id(resource_id), if_match=version)


def _respond(
    tx: Tx, group: Any, context: Context, params: Any, status: int = 200, location: bool = False
) -> Response:
    """The changed group, rendered in the change's transaction: without a projection as
    `group_json` writes it, else by scim2-models."""
    if projected():
        resource = _render_model(tx, group, search.wants_members(params))
        return render(resource, context, params, status, location)
    document = group_json(group, base_url(), _members(tx, group))
    return document_response(document, status, location)


def _render_model(tx: Tx, group: Any, with_members: bool) -> Group:
    return mapping.group_to_scim(group, base_url(), _members(tx, group) if with_members else None)


def _members(tx: Tx, group: Any) -> list[uuid.UUID]:
    """The members' ids, read; a group created without members knows it has none (store.groups
    expires `members` whenever a membership is written)."""
    known = inspect(group).attrs.members.loaded_value
    if isinstance(known, list) and not known:
        return []
    return listing.member_ids(tx, [group.id])[group.id]


def _account_for(tx: Tx, actor: Any, member_ids: list[uuid.UUID]) -> uuid.UUID:
    """A tenant token's own account; a support token's group joins its members' account."""
    if not actor.privileged:
        return actor.account_id
    if not member_ids:
        raise InvalidValueException(
            detail="A support token creates a group with at least one member, whose account "
            "the group joins."
        )
    account_id = users.get_user(tx, actor, member_ids[0]).account_id
    if account_id is None:
        raise InvalidValueException(detail="Groups belong to accounts; this member has none.")
    return account_id


def _member_steps(patch: PatchOp[Group]) -> list[tuple[Any, list[uuid.UUID]]] | None:
    """The operations as member additions and removals, or None when one is about more."""
    steps = []
    for operation in patch.operations or []:
        path = operation.path
        op = operation.op.value
        if path is None:
            return None
        ast = path.ast
        if isinstance(ast, AttrPath) and str(ast).lower() == "members":
            ids = [_member_id(m) for m in _listed(operation.value)]
            if op == "add":
                steps.append((groups.add_members, ids))
            elif op == "replace":
                steps.append((groups.set_members, ids))
            elif operation.value:
                steps.append((groups.remove_members, ids))
            else:
                steps.append((groups.set_members, []))
            continue
        selected = _selected_members(ast) if op == "remove" else None
        if selected is None:
            return None
        steps.append((groups.remove_members, selected))
    return steps


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidValueException(detail='members takes a list of {"value": id} objects.')
    return value


def _member_id(member: Any) -> uuid.UUID:
    value = member.get("value") if isinstance(member, dict) else getattr(member, "value", None)
    if not isinstance(value, str):
        raise InvalidValueException(detail="Each member is an object with a string value.")
    return mapping.member_id(value)


def _selected_members(ast: Any) -> list[uuid.UUID] | None:
    """`members[value eq "id"]` (or several joined by or) as the ids it selects."""
    attr = getattr(ast, "attr_path", None)
    if attr is None or str(attr).lower() != "members" or getattr(ast, "sub_attr", None):
        return None
    terms = ast.val_filter
    terms = (
        terms.terms
        if isinstance(terms, LogicalExpr) and terms.op == LogicalOperator.or_
        else (terms,)
    )
    ids = []
    for term in terms:
        if not (
            isinstance(term, Comparison)
            and term.op == CompareOperator.eq
            and str(term.attr_path).lower() == "value"
        ):
            return None
        ids.append(mapping.parse_id(term.value))
    return ids


def _patch_whole(tx: Tx, actor: Any, group: Any, patch: PatchOp[Group]) -> None:
    """Any other PATCH: apply it to the whole group, then store what changed."""
    before = _render_model(tx, group, with_members=True)
    after = before.model_copy(deep=True)
    with POLICY:
        patch.patch(after)
    if after.display_name != before.display_name or after.external_id != before.external_id:
        groups.update_group(
            tx,
            actor,
            group.id,
            display_name=after.display_name,
            external_id=after.external_id or "",
        )
    wanted = mapping.member_ids(after)
    if set(wanted) != set(mapping.member_ids(before)):
        groups.set_members(tx, actor, group.id, wanted)
