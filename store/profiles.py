"""Profiles, the permissions they grant, and which account kinds may use them (SPEC §1 Profiles)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class AccountKind(StrEnum):
    ENTERPRISE = "enterprise"
    OFFICE = "office"
    OPTIMIZATION_ONLY = "optimization_only"
    RESELLER = "reseller"


class Entitlement(StrEnum):
    CONNECTED_HEALTH = "connected_health"
    MANAGED_CLOUD = "managed_cloud"


class Profile(StrEnum):
    MAIN = "main"
    CLIENT = "client"
    KNOWLEDGE = "knowledge"
    READ_ONLY = "read_only"
    OPTIMIZATION_MAIN = "optimization_main"
    OPTIMIZATION = "optimization"
    GUEST = "guest"


DISPLAY_NAMES: dict[Profile, str] = {
    Profile.MAIN: "Main Client Community User",
    Profile.CLIENT: "Client Community User",
    Profile.KNOWLEDGE: "Knowledge Community User",
    Profile.READ_ONLY: "Read-Only Community User",
    Profile.OPTIMIZATION_MAIN: "Optimization Only Main Community User",
    Profile.OPTIMIZATION: "Optimization Only Community User",
    Profile.GUEST: "Guest Community User",
}

MAIN_PROFILES = frozenset({Profile.MAIN, Profile.OPTIMIZATION_MAIN})

_COMMUNITY = ("known_issues", "knowledge", "ideas", "training", "chatter")

# The guide's table; `mcs_assets` is further gated by the account's entitlements.
PERMISSIONS: dict[Profile, tuple[str, ...]] = {
    Profile.MAIN: ("my_account", "cases", "mcs_assets", *_COMMUNITY),
    Profile.CLIENT: ("cases", "mcs_assets", *_COMMUNITY),
    Profile.KNOWLEDGE: ("mcs_assets", *_COMMUNITY),
    Profile.READ_ONLY: ("cases:view", "mcs_assets", *_COMMUNITY),
    Profile.OPTIMIZATION_MAIN: ("my_account", "cases", "mcs_assets", *_COMMUNITY),
    Profile.OPTIMIZATION: ("cases", "mcs_assets", *_COMMUNITY),
    Profile.GUEST: ("knowledge", "ideas", "training", "chatter", "webinars", "demos"),
}

_OPTIMIZATION = (Profile.OPTIMIZATION_MAIN, Profile.OPTIMIZATION)
_STANDARD = (Profile.MAIN, Profile.CLIENT, Profile.KNOWLEDGE, Profile.READ_ONLY)


def allowed_profiles(kind: AccountKind | None) -> tuple[Profile, ...]:
    """Profiles a user may hold in an account of this kind; no account means a guest."""
    if kind is None:
        return (Profile.GUEST,)
    if kind == AccountKind.OPTIMIZATION_ONLY:
        return _OPTIMIZATION
    return _STANDARD


def default_profile(kind: AccountKind | None) -> Profile:
    """What a user created without a profile gets (an IdP push, the Office product)."""
    if kind is None:
        return Profile.GUEST
    return Profile.OPTIMIZATION if kind == AccountKind.OPTIMIZATION_ONLY else Profile.CLIENT


def permissions(profile: Profile, entitlements: frozenset[str] | set[str]) -> list[str]:
    """The tabs a profile opens in an account with these entitlements."""
    granted = PERMISSIONS[profile]
    if not entitlements & {e.value for e in Entitlement}:
        granted = tuple(p for p in granted if p != "mcs_assets")
    return list(granted)


def counts_as_main_contact(user: Any) -> bool:
    """Whether the user is a main contact (SPEC §1 Main contacts): an active user of an account
    holding a main profile, and not "No Longer at Account". Whoever is not manages no users,
    through any door (store.actors, the `my_account` permission)."""
    return bool(
        user.active
        and user.profile in MAIN_PROFILES
        and not user.no_longer_at_account
        and user.account_id is not None
    )


def permissions_of(user: Any, entitlements: frozenset[str] | set[str]) -> list[str]:
    """`permissions` of the user's profile; `my_account` only while they count as a main
    contact (a main profile "No Longer at Account" keeps its name, not its rights)."""
    if not user.profile:
        return []
    granted = permissions(Profile(user.profile), entitlements)
    if not counts_as_main_contact(user):
        granted = [p for p in granted if p != "my_account"]
    return granted
