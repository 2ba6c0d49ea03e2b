"""What the ID token and userinfo say about a person, scope by scope (README: Claims).

| scope       | claims                                                                        |
|-------------|-------------------------------------------------------------------------------|
| openid      | sub (the user's id: stable, opaque)                                           |
| profile     | name, given_name, family_name, preferred_username, locale, zoneinfo, updated_at |
| email       | email, email_verified                                                         |
| phone       | phone_number, phone_number_verified                                           |
| community   | account, profile, permissions, contact_roles, applications                    |
"""

from __future__ import annotations

from typing import Any

from store import access, sign_in_names
from store.db import Tx
from store.models.directory import Account, User
from store.profiles import Profile, permissions_of


def claims_for(tx: Tx, user: User, scopes: set[str]) -> dict[str, Any]:
    """The claims these scopes release about the user."""
    claims = standard_claims(user, scopes)
    if "email_verified" in claims:  # the address is theirs (userinfo reads it in its statement)
        claims["email_verified"] = sign_in_names.vouches_for(tx, user)
    if "community" in scopes:
        claims |= {k: v for k, v in _community(tx, user).items() if v is not None}
    return claims


def standard_claims(person: Any, scopes: set[str]) -> dict[str, Any]:
    """The claims of every scope but community, from a User or a row with the same names
    (`store.oauth.token_holder`'s, which userinfo reads in one statement)."""
    claims: dict[str, Any] = {"sub": str(person.id)}
    if "profile" in scopes:
        claims |= _profile(person)
    if "email" in scopes and person.primary_email:
        claims |= {"email": person.primary_email, "email_verified": bool(person.email_verified)}
    if "phone" in scopes and person.phone_number:
        claims |= {"phone_number": person.phone_number, "phone_number_verified": False}
    return {k: v for k, v in claims.items() if v is not None}


def _profile(user: Any) -> dict[str, Any]:
    name = user.display_name or " ".join(p for p in (user.given_name, user.family_name) if p)
    return {
        "name": name or None,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "preferred_username": user.user_name,
        "locale": user.locale,
        "zoneinfo": user.timezone,
        "updated_at": int(user.modified_at.timestamp()) if user.modified_at else None,
    }


def _community(tx: Tx, user: User) -> dict[str, Any]:
    account: Account | None = user.account
    profile = Profile(user.profile) if user.profile else None
    entitlements = set(account.entitlements) if account else set()
    roles = [g.display_name for g in user.groups if g.is_contact_role]
    return {
        "account": {"id": str(account.id), "name": account.name} if account else None,
        "profile": profile.value if profile else None,
        "permissions": permissions_of(user, entitlements),
        "contact_roles": sorted(roles),
        "applications": [a.key for a in access.applications_for(tx, user)],
    }
