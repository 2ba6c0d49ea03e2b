"""/Users and /Me: each view parses with scim2-models, calls one store operation, renders."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request
from scim2_models import (
    Context,
    InvalidValueException,
    NotImplementedException,
    PatchOp,
)

from rollcall.web.database import database
from rollcall.web.dispatch import Site
from scim import mapping, plain_users, quirks, request_checks, search, user_json
from scim.context import base_url, caller, change, projected, projection, reading, remember
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
from scim.schemas import POLICY, UserResource, parametrized
from store import accounts, listing, new_users, users
from store.actors import ActorType
from store.db import Tx
from store.versions import IfMatch


def list_users() -> Response:
    if g.get("scim_plain"):
        return plain_users.look_up_user(Site.of(), request)
    user_name = search.user_name_lookup(request.args)
    if user_name is not None:
        # The lookup identity providers send before each push: one user or none, no sorting or
        # paging to do, so it is answered from plain rows (see user_json).
        with reading() as tx:
            view = listing.user_view_by_name(tx, caller().actor, user_name)
        documents = [] if view is None else [user_json.user_json(view, base_url())]
        return scim_json(user_json.list_response(documents, len(documents)))
    query = search.from_query(UserResource, request.args)
    with reading() as tx:
        return scim_json(search.search_users(tx, caller().actor, query, base_url()))


def search_users() -> Response:
    query = search.from_body(UserResource, json_body())
    with reading() as tx:
        return scim_json(search.search_users(tx, caller().actor, query, base_url()))


def get_user(resource_id: str) -> Response:
    if g.get("scim_plain"):
        return plain_users.read_user(Site.of(), request, resource_id)
    if projected():
        return _get_projected_user(resource_id)
    with reading() as tx:
        view = listing.user_view(tx, caller().actor, mapping.parse_id(resource_id))
    return read_response(user_json.user_json(view, base_url()))


def _get_projected_user(resource_id: str) -> Response:
    params = projection(UserResource)
    with reading() as tx:
        user = users.get_user(tx, caller().actor, mapping.parse_id(resource_id), related=True)
        resource = mapping.user_to_scim(user, base_url())
    if not_modified(resource.meta.version):
        return bodiless(304, resource.meta.version)
    return render(resource, Context.RESOURCE_QUERY_RESPONSE, params)


def create_user() -> Response:
    if g.get("scim_plain"):
        return plain_users.create_user(Site.of(), request)
    body = json_body()
    remember(body)
    params = projection(UserResource)  # a bad projection is refused before anything is created
    with change(201) as tx:
        user = _create(tx, body)
        remember(resource_id=user.id)
        return _respond(user, Context.RESOURCE_CREATION_RESPONSE, params, 201, location=True)


def replace_user(resource_id: str) -> Response:
    body = json_body()
    remember(body, resource_id)
    params = projection(UserResource)
    with change(200) as tx:
        user = _replace(tx, resource_id, body, if_match())
        return _respond(user, Context.RESOURCE_REPLACEMENT_RESPONSE, params)


def patch_user(resource_id: str) -> Response:
    body = json_body()
    remember(body, resource_id)
    params = projection(UserResource)
    with change(200) as tx:
        user = _patch(tx, resource_id, body, if_match())
        return _respond(user, Context.RESOURCE_PATCH_RESPONSE, params)


def delete_user(resource_id: str) -> Response:
    remember(resource_id=resource_id)
    with change(204) as tx:
        _delete(tx, resource_id, if_match())
    return bodiless(204)


def _respond(
    user: Any, context: Context, params: Any, status: int = 200, location: bool = False
) -> Response:
    """The changed user, rendered in the change's transaction (its relations are at hand)."""
    if projected():
        return render(mapping.user_to_scim(user, base_url()), context, params, status, location)
    document = user_json.user_json(listing.UserView.of(user), base_url())
    return document_response(document, status, location)


# The operations for /Bulk: each runs in its own transaction and returns the SCIM resource.


def create(body: dict[str, Any]) -> Any:
    with database().transaction() as tx:
        return mapping.user_to_scim(_create(tx, body), base_url())


def replace(resource_id: str, body: dict[str, Any], version: IfMatch) -> Any:
    with database().transaction() as tx:
        return mapping.user_to_scim(_replace(tx, resource_id, body, version), base_url())


def patch(resource_id: str, body: dict[str, Any], version: IfMatch) -> Any:
    with database().transaction() as tx:
        return mapping.user_to_scim(_patch(tx, resource_id, body, version), base_url())


def delete(resource_id: str, version: IfMatch) -> None:
    with database().transaction() as tx:
        _delete(tx, resource_id, version)


# Each parses with scim2-models and runs one store operation in the given transaction.


def _create(tx: Tx, body: dict[str, Any]) -> Any:
    actor = caller().actor
    account = accounts.get_account(tx, actor, _account_for(actor))
    return new_users.create_user(
        tx,
        actor,
        account_id=account.id,
        **plain_users.creation_fields(body, account.kind),
    )


def _replace(tx: Tx, resource_id: str, body: dict[str, Any], version: IfMatch) -> Any:
    actor = caller().actor
    user_id = mapping.parse_id(resource_id)
    current = users.lock_for_change(tx, actor, user_id, may_leave=_may_leave(body))
    defaults = {
        "profile": current.profile,
        "noLongerAtAccount": current.no_longer_at_account,
        "preferredContactMethod": current.preferred_contact_method,
        "applications": [a.key for a in current.applications],
    }
    resource = UserResource.model_validate(
        quirks.with_defaults(quirks.resource(body), current.active, defaults),
        scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST,
        scim_policy=POLICY,
    )
    fields = mapping.user_fields(resource)
    return users.replace_user(tx, actor, user_id, fields, if_match=version)


def _patch(tx: Tx, resource_id: str, body: dict[str, Any], version: IfMatch) -> Any:
    """All operations applied to the user as SCIM sees it, then stored as one change."""
    operations = parametrized(PatchOp, UserResource).model_validate(
        quirks.patch(body), scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
    )
    actor = caller().actor
    user_id = mapping.parse_id(resource_id)
    user = users.lock_for_change(tx, actor, user_id, may_leave=_may_leave(body))
    resource = mapping.user_to_scim(user, base_url())
    before = mapping.user_fields(resource)  # fresh values: the patch below cannot touch them
    with POLICY:
        request_checks.patch_copy(operations, resource)
    changes = _changed(before, mapping.user_fields(resource))
    return users.update_user(tx, actor, user_id, changes, if_match=version)


def _delete(tx: Tx, resource_id: str, version: IfMatch) -> None:
    users.delete_user(tx, caller().actor, mapping.parse_id(resource_id), if_match=version)


def me() -> Response:
    """The caller's own user; provisioning tokens belong to no user."""
    actor = caller().actor
    if actor.type != ActorType.USER or actor.id is None:
        raise NotImplementedException(
            detail="/Me answers for a user's own access token; a provisioning token is no user."
        )
    views = {"GET": get_user, "PUT": replace_user, "PATCH": patch_user, "DELETE": delete_user}
    return views[request.method](actor.id)


def _account_for(actor: Any) -> Any:
    """A new user joins the account of the token that creates it."""
    if actor.account_id is None:
        raise InvalidValueException(
            detail="Users are created with a token of their account "
            "(rollcall token create --account NAME); support tokens change existing users."
        )
    return actor.account_id


def _may_leave(body: Any) -> bool:
    """Whether a request names "No Longer at Account" anywhere (a key, a PATCH path): only
    such a change can take the contact roles away, whose locks come before the user's."""
    if isinstance(body, dict):
        return any(_may_leave(key) or _may_leave(value) for key, value in body.items())
    if isinstance(body, list):
        return any(_may_leave(item) for item in body)
    return isinstance(body, str) and "nolongerataccount" in body.lower()


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    missing = object()
    return {key: value for key, value in after.items() if before.get(key, missing) != value}
