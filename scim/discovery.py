"""What the service says about itself (RFC 7644 §4), and the root /.search."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from scim2_models import (
    Context,
    ForbiddenException,
    ListResponse,
    Meta,
    NotFoundException,
    ResourceType,
    Schema,
    SCIMException,
)

from scim import auth, search
from scim.context import base_url, caller, reading
from scim.responses import json_body, scim_json
from scim.schemas import COMMUNITY_URN, CONFIG, PROVIDER, Group, UserResource, parametrized
from store import accounts, rules


def service_provider_config() -> Response:
    _refuse_filters()
    config = CONFIG.model_copy(deep=True)
    config.meta = _meta("ServiceProviderConfig", f"{base_url()}/ServiceProviderConfig")
    return scim_json(config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def resource_types() -> Response:
    _refuse_filters()
    items = [_resource_type(rt) for rt in PROVIDER.resource_types]
    return _list(ResourceType, items)


def resource_type(name: str) -> Response:
    for rt in PROVIDER.resource_types:
        if rt.id and rt.id.lower() == name.lower():
            return scim_json(
                _resource_type(rt).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
            )
    raise NotFoundException(detail=f"No resource type {name}.")


def schemas() -> Response:
    _refuse_filters()
    choices = _choices()
    return _list(Schema, [_schema(s, choices) for s in PROVIDER.schemas])


def schema(uri: str) -> Response:
    for item in PROVIDER.schemas:
        if item.id and item.id.lower() == uri.lower():
            payload = _schema(item, _choices()).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
            return scim_json(payload)
    raise NotFoundException(detail=f"No schema {uri}.")


def _choices() -> dict[str, list[str]]:
    """The values the caller's token may really set, when the request carries one.

    Discovery answers without a token; with one, `profile` lists the profiles that token can give
    in its account (never main: support grants it).
    """
    if "Authorization" not in request.headers:
        return {}
    try:
        actor = auth.authenticate().actor
    except SCIMException:
        return {}
    if actor.account_id is None:
        return {}  # support's tokens: users of every kind of account
    with reading() as tx:
        account = accounts.get_account(tx, actor, actor.account_id)
    return {"profile": [p.value for p in rules.profiles_offered(actor, account.kind)]}


def search_root() -> Response:
    query = search.from_body(UserResource | Group, json_body())
    with reading() as tx:
        return scim_json(search.search_everything(tx, caller().actor, query, base_url()))


def _resource_type(rt: ResourceType) -> ResourceType:
    copy = rt.model_copy(deep=True)
    copy.meta = _meta("ResourceType", f"{base_url()}/ResourceTypes/{rt.id}")
    return copy


def _schema(item: Schema, choices: dict[str, list[str]]) -> Schema:
    copy = item.model_copy(deep=True)
    copy.meta = _meta("Schema", f"{base_url()}/Schemas/{item.id}")
    if copy.id == COMMUNITY_URN:
        for attribute in copy.attributes or []:
            if attribute.name in choices:
                attribute.canonical_values = choices[attribute.name] or None
    return copy


def _meta(kind: str, location: str) -> Meta:
    return Meta(resource_type=kind, location=location)


def _list(model: Any, items: list[Any]) -> Response:
    response = parametrized(ListResponse, model)(
        total_results=len(items), start_index=1, items_per_page=len(items), resources=items
    )
    return scim_json(response.model_dump(scim_ctx=Context.SEARCH_RESPONSE))


def _refuse_filters() -> None:
    if "filter" in request.args:
        raise ForbiddenException(detail="Discovery endpoints take no filter (RFC 7644 §4).")
