"""Demo data for `rollcall demo`: every account kind, every profile, the linked applications.

Loading twice changes nothing: what already exists (by name) is left as it is. The SCIM token is
printed only when it is first created.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from store import accounts, applications, clients, credentials, new_users, users
from store.actors import Actor, Door
from store.db import Tx
from store.models.directory import User, fold
from store.models.sign_in import ProvisioningCredential

PASSWORD = "community-demo-2026"
# The example linked application (examples/oidc_client) signs in as ICD-10 with these.
EXAMPLE_CLIENT_ID = "demo-icd10"
EXAMPLE_CLIENT_SECRET = "demo-icd10-secret-for-local-use-only"
EXAMPLE_URL = "http://127.0.0.1:5000"
OPERATOR = Actor.system(Door.CLI, "demo loader")

APPLICATIONS = [
    ("community", "Success Community", "everyone"),
    ("icd10", "ICD-10", "granted"),
    ("ng_share", "NG Share", "granted"),
    ("ng_store", "NG Store", "granted"),
    ("csc", "Client Support Center", "granted"),
]

ACCOUNTS: list[dict[str, Any]] = [
    {
        "name": "NextGen Healthcare",
        "kind": "enterprise",
        "entitlements": ["connected_health", "managed_cloud"],
        "legal_name": "Nextgen Healthcare",
        "practice_specialty": "Other",
        "global_customer_id": "9469",
        "sap_customer_id": "0000108388",
        "time_zone": "Eastern",
        "billing_address": "795 Horsham Road, Horsham, PA 19044, US",
        "phone": "(215) 657-7010",
        "fax": "(949) 255-2615",
        "website": "http://nextgen.com",
    },
    {"name": "Harbor Family Practice", "kind": "office"},
    {"name": "Lakeside Population Health", "kind": "optimization_only"},
    {"name": "Summit Health Partners", "kind": "reseller"},
    {"name": "Summit North Clinic", "kind": "enterprise", "parent": "Summit Health Partners"},
    {"name": "Summit South Clinic", "kind": "enterprise", "parent": "Summit Health Partners"},
]

# (account, username, given, family, profile, extra)
USERS: list[tuple[str | None, str, str, str, str | None, dict[str, Any]]] = [
    (
        "NextGen Healthcare",
        "amanda.heidemann",
        "Amanda",
        "Heidemann",
        "main",
        {
            "contact_roles": ["Default Case Contact", "Security Reviewer"],
            "applications": ["icd10", "ng_share", "ng_store", "csc"],
        },
    ),
    (
        "NextGen Healthcare",
        "andrew.penney",
        "Andrew",
        "Penney",
        "client",
        {"contact_roles": ["IT Receiver"], "applications": ["icd10", "ng_share"]},
    ),
    (
        "NextGen Healthcare",
        "chyrece.ferry",
        "Chyrece",
        "Ferry",
        "knowledge",
        {"contact_roles": ["Clinician Receiver"]},
    ),
    ("NextGen Healthcare", "lucas.jones", "Lucas", "Jones", "read_only", {}),
    ("NextGen Healthcare", "adam.baraka", "Adam", "Baraka", "client", {"deactivated": True}),
    ("Harbor Family Practice", "hana.okafor", "Hana", "Okafor", "main", {}),
    ("Harbor Family Practice", "omar.silva", "Omar", "Silva", None, {}),
    ("Lakeside Population Health", "priya.raman", "Priya", "Raman", "optimization_main", {}),
    ("Lakeside Population Health", "tom.becker", "Tom", "Becker", "optimization", {}),
    ("Summit Health Partners", "sara.lind", "Sara", "Lind", "main", {}),
    ("Summit North Clinic", "noah.north", "Noah", "Ortiz", "main", {}),
    ("Summit South Clinic", "mia.south", "Mia", "Sato", "main", {}),
    (None, "grace.guest", "Grace", "Guest", None, {}),
]


def load(tx: Tx) -> Iterator[str]:
    """Create what is missing and say what was done, line by line."""
    for key, name, access in APPLICATIONS:
        applications.ensure_application(tx, OPERATOR, key=key, name=name, access=access)
    yield f"applications: {', '.join(key for key, _, _ in APPLICATIONS)}"
    for spec in ACCOUNTS:
        if accounts.find_account(tx, spec["name"]) is None:
            accounts.create_account(tx, OPERATOR, **spec)
            yield f"account: {spec['name']} ({spec['kind']})"
    for account_name, user_name, given, family, profile, extra in USERS:
        if _user_exists(tx, user_name):
            continue
        _create_user(tx, account_name, user_name, given, family, profile, dict(extra))
        where = account_name or "no account"
        yield f"user: {user_name} ({profile or 'default profile'}) in {where}"
    if not _user_exists(tx, "support"):
        new_users.create_support_user(
            tx, OPERATOR, user_name="support", email="support@rollcall.example", password=PASSWORD
        )
        yield "user: support (support operator)"
    yield from _token(tx)
    yield from _example_client(tx)
    yield f"password of every demo user: {PASSWORD}"


def _create_user(
    tx: Tx,
    account_name: str | None,
    user_name: str,
    given: str,
    family: str,
    profile: str | None,
    extra: dict[str, Any],
) -> None:
    account = accounts.account_named(tx, account_name) if account_name else None
    deactivated = extra.pop("deactivated", False)
    created = new_users.create_user(
        tx,
        OPERATOR,
        account_id=account.id if account else None,
        user_name=user_name,
        given_name=given,
        family_name=family,
        profile=profile,
        emails=[{"value": f"{user_name}@rollcall.example", "type": "work", "primary": True}],
        password=PASSWORD,
        email_verified=True,
        send_sign_in_email=False,  # demo users know their password
        **extra,
    )
    if deactivated:
        users.deactivate(tx, OPERATOR, created.id)


def _user_exists(tx: Tx, user_name: str) -> bool:
    return tx.scalar(select(User.id).where(User.user_name_ci == fold(user_name))) is not None


def _token(tx: Tx) -> Iterator[str]:
    account = accounts.account_named(tx, "NextGen Healthcare")
    existing = tx.scalar(
        select(ProvisioningCredential.id).where(
            ProvisioningCredential.account_id == account.id,
            ProvisioningCredential.name == "demo",
        )
    )
    if existing is not None:
        yield "SCIM token: already created earlier (make another with `rollcall token create`)"
        return
    _, secret = credentials.create_credential(tx, OPERATOR, account_id=account.id, name="demo")
    yield f"SCIM token for NextGen Healthcare (shown once): {secret}"


def _example_client(tx: Tx) -> Iterator[str]:
    """ICD-10 as an OIDC client, for the example application at 127.0.0.1:5000."""
    icd10 = applications.application_by_key(tx, "icd10")
    icd10.launch_url = icd10.launch_url or f"{EXAMPLE_URL}/login"  # one click from the home page
    if clients.find_client(tx, EXAMPLE_CLIENT_ID) is None:
        clients.create_client(
            tx,
            OPERATOR,
            name="ICD-10",
            redirect_uris=[f"{EXAMPLE_URL}/callback"],
            post_logout_redirect_uris=[f"{EXAMPLE_URL}/"],
            scopes=["openid", "profile", "email", "phone", "community", "offline_access"],
            backchannel_logout_uri=f"{EXAMPLE_URL}/backchannel-logout",
            application=icd10,
            first_party=True,
            client_id=EXAMPLE_CLIENT_ID,
            secret=EXAMPLE_CLIENT_SECRET,
        )
    yield f"OIDC client for examples/oidc_client: {EXAMPLE_CLIENT_ID} (ICD-10, {EXAMPLE_URL})"
