"""The `provider` fixture: Rollcall served over HTTP with people, applications and clients."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from store import applications, clients, users
from store.actors import Actor
from store.db import Database
from store.models.directory import Account, User
from tests.live import live
from tests.oidc import PASSWORD, RelyingParty


@dataclass
class Provider:
    base: str
    db: Database
    account: Account
    ada: User  # main contact, granted ICD-10, IT Receiver
    bob: User  # client profile, granted nothing
    first_party: RelyingParty  # ICD-10: confidential, first party, access granted
    community: RelyingParty  # the community site: public, third party, access everyone
    machine: RelyingParty  # client credentials with scope scim, bound to the account

    def client_row(self, rp: RelyingParty) -> Any:
        with self.db.transaction(write=False) as tx:
            return clients.client_named(tx, rp.client_id)


@pytest.fixture
def provider(
    app: Any, db: Database, operator: Actor, enterprise: Any, make_user: Any
) -> Iterator[Provider]:
    with live(app) as base:
        with db.transaction() as tx:
            icd10 = applications.ensure_application(tx, operator, key="icd10", name="ICD-10")
            site = applications.ensure_application(
                tx, operator, key="community", name="Success Community", access="everyone"
            )
        ada = make_user(
            enterprise.account,
            "ada",
            profile="main",
            given_name="Ada",
            family_name="Lovelace",
            email_verified=True,
            password=PASSWORD,
            emails=[{"value": "ada@example.com", "primary": True}],
            contact_roles=["IT Receiver"],
        )
        bob = make_user(enterprise.account, "bob", email_verified=True, password=PASSWORD)
        with db.transaction() as tx:
            users.grant_application(tx, operator, ada.id, "icd10")
            first, first_secret = clients.create_client(
                tx,
                operator,
                name="ICD-10",
                redirect_uris=[f"{base}/cb/icd10"],
                post_logout_redirect_uris=[f"{base}/bye/icd10"],
                scopes=["openid", "profile", "email", "phone", "community", "offline_access"],
                application=icd10,
                first_party=True,
            )
            community, _ = clients.create_client(
                tx,
                operator,
                name="Community site",
                redirect_uris=[f"{base}/cb/community"],
                public=True,
                scopes=["openid", "profile", "email", "offline_access"],
                access="everyone",
                application=site,
            )
            machine, machine_secret = clients.create_client(
                tx,
                operator,
                name="Acme provisioning",
                scopes=["scim"],
                account=enterprise.account,
            )
        yield Provider(
            base=base,
            db=db,
            account=enterprise.account,
            ada=ada,
            bob=bob,
            first_party=RelyingParty(base, first.client_id, first_secret, f"{base}/cb/icd10"),
            community=RelyingParty(base, community.client_id, None, f"{base}/cb/community"),
            machine=RelyingParty(base, machine.client_id, machine_secret, ""),
        )
