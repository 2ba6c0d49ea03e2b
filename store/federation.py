"""Accounts' own OpenID providers ("Sign in with your organization", issue 21): the connection of
an account, the email domains it owns, and which connection a typed login is sent to.

Main contacts of the account and support manage a connection; a provisioning token never does
(the identity provider pushing users must not be able to redirect their sign-in). A domain belongs
to one account, so a login is never sent to another organization's provider, and only support
assigns it (`may_assign_domains`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import exists, select

from store import audit, sign_in_names
from store.actors import Actor, ActorType
from store.db import Tx
from store.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from store.models.directory import Account, User, fold
from store.models.security import FederationConnection, FederationDomain
from store.models.sign_in import OAuthClient, ProvisioningCredential
from store.validation import clean_text

CLAIMS = ("sub", "oid", "email", "preferred_username")
LINK_BY = ("externalId", "userName")
DEFAULT_SCOPES = "openid email profile"
CALLBACK_PATH = "/signin/federated/callback"  # one redirect URI for every connection

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class FederationRefused(DomainError):
    """A sign-in at an organization's provider that Rollcall does not accept; the message says
    why and what to do (the page answers 400, and nobody is signed in)."""


def may_manage(actor: Actor, account_id: uuid.UUID) -> bool:
    """Support staff and the operator manage every account's connection; a main contact only
    their own account's. A provisioning token never does."""
    if actor.privileged:
        return True
    return actor.type == ActorType.USER and actor.manages_users and actor.account_id == account_id


def _ensure_may_manage(actor: Actor, account_id: uuid.UUID) -> None:
    if not may_manage(actor, account_id):
        raise Forbidden(
            "Only main contacts of the account and support staff manage its sign-in connection."
        )


def create_connection(
    tx: Tx,
    actor: Actor,
    account_id: uuid.UUID,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    display_name: str | None = None,
    scopes: str = DEFAULT_SCOPES,
    claim: str = "sub",
    link_by: str = "externalId",
    domains: Iterable[str] = (),
    required: bool = False,
    create_users: bool = False,
) -> FederationConnection:
    """Connect the account to its organization's provider (one connection per account)."""
    account = tx.get(Account, account_id)
    if account is None:
        raise NotFound("No such account.")
    _ensure_may_manage(actor, account_id)
    if tx.scalar(select(exists().where(FederationConnection.account_id == account_id))):
        raise Conflict(f"{account.name} is connected already: change or delete that connection.")
    connection = FederationConnection(account_id=account_id, domains=[])
    values = {
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": client_secret,
        "display_name": display_name or account.name,
        "scopes": scopes,
        "claim": claim,
        "link_by": link_by,
        "required": required,
        "create_users": create_users,
    }
    _apply(tx, actor, connection, values, list(domains))
    tx.add(connection)
    tx.flush()
    _record(tx, actor, "federation.created", connection, _shown(connection))
    return connection


def update_connection(
    tx: Tx,
    actor: Actor,
    connection_id: uuid.UUID,
    *,
    domains: Iterable[str] | None = None,
    **changes: Any,
) -> FederationConnection:
    """Change a connection; a client secret left empty keeps the one stored."""
    connection = get_connection(tx, actor, connection_id)
    if not changes.get("client_secret"):
        changes.pop("client_secret", None)
    before = _shown(connection)
    _apply(tx, actor, connection, changes, None if domains is None else list(domains))
    tx.flush()
    after = _shown(connection)
    diff = {k: [before[k], v] for k, v in after.items() if before[k] != v}
    if "client_secret" in changes:
        diff["client_secret"] = "changed"
    _record(tx, actor, "federation.updated", connection, diff)
    return connection


def delete_connection(tx: Tx, actor: Actor, connection_id: uuid.UUID) -> None:
    """Disconnect: the account's people sign in with passwords again (those who have one)."""
    connection = get_connection(tx, actor, connection_id)
    _record(tx, actor, "federation.deleted", connection, _shown(connection))
    tx.delete(connection)
    tx.flush()


def get_connection(tx: Tx, actor: Actor, connection_id: uuid.UUID) -> FederationConnection:
    connection = tx.get(FederationConnection, connection_id)
    if connection is None or not may_manage(actor, connection.account_id):
        raise NotFound("No such sign-in connection.")
    return connection


def connection_of(tx: Tx, actor: Actor, account_id: uuid.UUID) -> FederationConnection | None:
    """The account's connection, for whoever manages it (None: not connected)."""
    _ensure_may_manage(actor, account_id)
    return tx.scalar(
        select(FederationConnection).where(FederationConnection.account_id == account_id)
    )


def list_connections(tx: Tx, actor: Actor) -> Sequence[FederationConnection]:
    """Every connection for support; a main contact's own account's."""
    query = select(FederationConnection).order_by(FederationConnection.display_name)
    if not actor.privileged:
        if actor.account_id is None or not may_manage(actor, actor.account_id):
            raise Forbidden("Only main contacts and support staff see sign-in connections.")
        query = query.where(FederationConnection.account_id == actor.account_id)
    return tx.scalars(query).all()


def connection_for_login(tx: Tx, login: str) -> FederationConnection | None:
    """The provider a typed login is sent to: that of the account of the user it names, else,
    for an address nobody holds, that of the account owning its domain; None: a password."""
    key = fold((login or "").strip())
    if not key:
        return None
    user = sign_in_names.find(tx, key)
    if user is not None:
        if user.account_id is None:
            return None
        return tx.scalar(
            select(FederationConnection).where(FederationConnection.account_id == user.account_id)
        )
    if "@" not in key:
        return None
    return connection_for_domain(tx, key.rpartition("@")[2])


def connection_for_domain(tx: Tx, domain: str) -> FederationConnection | None:
    return tx.scalar(
        select(FederationConnection)
        .join(FederationDomain, FederationDomain.connection_id == FederationConnection.id)
        .where(FederationDomain.domain == sign_in_names.ascii_domain(fold(domain)))
    )


def required_for(tx: Tx, user: User) -> FederationConnection | None:
    """The connection that signs this user in when the account allows no Rollcall password."""
    if user.account_id is None:
        return None
    return tx.scalar(
        select(FederationConnection).where(
            FederationConnection.account_id == user.account_id,
            FederationConnection.required.is_(True),
        )
    )


def where_to_sign_in(connection: FederationConnection) -> str:
    """The sentence that tells a person of a federated account where they sign in."""
    return (
        f"Your organization signs you in: enter your username or email on the Rollcall sign-in "
        f"page and you are sent to {connection.display_name} ({connection.issuer}). Rollcall "
        f"keeps no password for you; ask your IT department if you cannot sign in there."
    )


def secret_hint(connection: FederationConnection) -> str:
    """What may be shown of the client secret: its first characters, when they are few of it."""
    secret = connection.client_secret
    if not secret:
        return "(none: give it again)"
    return (secret[:4] if len(secret) >= 16 else "") + "…"


def provisions_over_scim(tx: Tx, account_id: uuid.UUID) -> bool:
    """Whether the account's users come from its identity provider: it holds a live
    provisioning token or a SCIM client of its own."""
    token = exists().where(
        ProvisioningCredential.account_id == account_id,
        ProvisioningCredential.revoked_at.is_(None),
    )
    client = exists().where(OAuthClient.account_id == account_id, OAuthClient.revoked_at.is_(None))
    return bool(tx.scalar(select(token | client)))


def _apply(
    tx: Tx,
    actor: Actor,
    connection: FederationConnection,
    values: dict[str, Any],
    domains: list[str] | None,
) -> None:
    unknown = set(values) - {
        "issuer",
        "client_id",
        "client_secret",
        "display_name",
        "scopes",
        "claim",
        "link_by",
        "required",
        "create_users",
    }
    if unknown:
        raise InvalidInput(f"Unknown setting {sorted(unknown)[0]}.")
    model = FederationConnection
    if "issuer" in values:
        connection.issuer = clean_issuer(values["issuer"])
    for field, label in (
        ("client_id", "Client ID"),
        ("client_secret", "Client secret"),
        ("display_name", "Display name"),
    ):
        if field in values:
            setattr(
                connection,
                field,
                clean_text(model, field, values[field], required=True, label=label),
            )
    if "scopes" in values:
        scopes = " ".join((values["scopes"] or DEFAULT_SCOPES).split())
        if "openid" not in scopes.split():
            raise InvalidInput("The scopes must include openid.", field="scopes")
        connection.scopes = clean_text(model, "scopes", scopes, required=True, label="Scopes")
    if "claim" in values:
        if values["claim"] not in CLAIMS:
            raise InvalidInput(f"The claim must be one of {', '.join(CLAIMS)}.", field="claim")
        connection.claim = values["claim"]
    if "link_by" in values:
        if values["link_by"] not in LINK_BY:
            raise InvalidInput("Link by externalId or userName.", field="link_by")
        connection.link_by = values["link_by"]
    if "required" in values:
        connection.required = bool(values["required"])
    if "create_users" in values:
        wanted = bool(values["create_users"])
        if (
            wanted
            and not connection.create_users
            and not actor.privileged
            and provisions_over_scim(tx, connection.account_id)
        ):
            raise Forbidden(
                "This account's users come from its identity provider over SCIM, so Rollcall "
                "does not create users at first sign-in; support staff can turn it on.",
            )
        connection.create_users = wanted
    if domains is not None:
        _set_domains(tx, actor, connection, domains)


def may_assign_domains(actor: Actor) -> bool:
    """Support staff and the operator assign an account's email domains; a main contact asks
    them. A domain sends every address in it that Rollcall does not know to the account's
    provider, so whoever assigns one must have checked that the organization owns it (Okta
    and Entra ID ask for proof too): else any account could claim gmail.com, or a neighbour's
    domain, and collect its people's sign-ins."""
    return actor.privileged


def clean_issuer(value: Any) -> str:
    """An issuer is an https URL without query or fragment (plain http only on this machine)."""
    text = (value or "").strip().rstrip("/") if isinstance(value, str) else ""
    parts = urlsplit(text)
    local = parts.hostname in _LOCAL_HOSTS
    if (
        not parts.hostname
        or parts.scheme not in ("https", "http")
        or (parts.scheme == "http" and not local)
        or "?" in text
        or "#" in text
    ):
        raise InvalidInput(
            "The issuer must be an https URL, for example https://acme.okta.com.", field="issuer"
        )
    if len(text) > FederationConnection.__table__.c.issuer.type.length:
        raise InvalidInput("The issuer is too long.", field="issuer")
    segments = [s.lower() for s in parts.path.split("/") if s]
    if segments and segments[0] in _SHARED_TENANTS:
        # Their discovery names an issuer with {tenantid} in it: ID tokens from any tenant of
        # Microsoft's would be taken as this organization's.
        raise InvalidInput(
            f"'{segments[0]}' is shared by every Microsoft Entra tenant: use your tenant's own "
            "issuer, https://login.microsoftonline.com/{tenant-id}/v2.0.",
            field="issuer",
        )
    return text


_SHARED_TENANTS = frozenset({"common", "organizations", "consumers"})


def _set_domains(
    tx: Tx, actor: Actor, connection: FederationConnection, domains: list[str]
) -> None:
    wanted: list[str] = []
    for raw in domains:
        for part in str(raw).replace(",", " ").split():
            domain = sign_in_names.ascii_domain(fold(part.strip().lstrip("@")))
            if not _DOMAIN.match(domain):
                raise InvalidInput(f"{part} is not an email domain.", field="domains")
            if domain not in wanted:
                wanted.append(domain)
    if set(wanted) != {d.domain for d in connection.domains} and not may_assign_domains(actor):
        raise Forbidden(
            "Email domains are assigned by support staff, who check that your organization "
            "owns them: open a support case (category Community) naming the domains.",
            field="domains",
        )
    taken = tx.scalars(
        select(FederationDomain.domain).where(
            FederationDomain.domain.in_(wanted),
            FederationDomain.connection_id != connection.id,
        )
    ).first()
    if taken is not None:
        raise Conflict(f"The domain {taken} belongs to another account.", field="domains")
    kept = [d for d in connection.domains if d.domain in wanted]
    new = [FederationDomain(domain=d) for d in wanted if d not in {k.domain for k in kept}]
    connection.domains = kept + new


def _shown(connection: FederationConnection) -> dict[str, Any]:
    """A connection as audit events and lists show it: never its secret."""
    return {
        "display_name": connection.display_name,
        "issuer": connection.issuer,
        "client_id": connection.client_id,
        "scopes": connection.scopes,
        "claim": connection.claim,
        "link_by": connection.link_by,
        "domains": [d.domain for d in connection.domains],
        "required": connection.required,
        "create_users": connection.create_users,
    }


def _record(
    tx: Tx, actor: Actor, action: str, connection: FederationConnection, changes: dict[str, Any]
) -> None:
    audit.record(
        tx,
        actor,
        action,
        target_type="federation",
        target_id=connection.id,
        account_id=connection.account_id,
        changes=changes,
    )
