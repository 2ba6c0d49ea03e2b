"""Who is acting, and through which door: every operation is told, and every audit event says so."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from store.models.directory import User
from store.profiles import counts_as_main_contact


class ActorType(StrEnum):
    SYSTEM = "system"  # the operator at the command line, migrations, the demo loader
    SUPPORT = "support"  # vendor staff, not members of any account
    USER = "user"  # a person acting on their own behalf or as a main contact
    CREDENTIAL = "credential"  # an identity provider holding a provisioning token or client


class Door(StrEnum):
    CLI = "cli"
    SCIM = "scim"
    PORTAL = "portal"
    SSO = "sso"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    type: ActorType
    label: str
    door: Door
    id: str | None = None
    account_id: uuid.UUID | None = None
    manages_users: bool = False
    # A credential a person minted in the console: the account's identity provider, never
    # NextGen Office (rules.speaks_for_office).
    minted_by_person: bool = False

    @property
    def privileged(self) -> bool:
        """Support staff and the operator may address every account and the main profile."""
        return self.type in (ActorType.SYSTEM, ActorType.SUPPORT)

    @property
    def is_identity_provider(self) -> bool:
        return self.type == ActorType.CREDENTIAL

    @property
    def is_provisioning_client(self) -> bool:
        """A token-holding program (an IdP, or support's own tooling), not a person at a page."""
        return self.door == Door.SCIM and self.type in (ActorType.CREDENTIAL, ActorType.SUPPORT)

    @classmethod
    def system(cls, door: Door = Door.CLI, label: str = "operator") -> Actor:
        return cls(ActorType.SYSTEM, label, door)

    @classmethod
    def for_user(cls, user: User, door: Door) -> Actor:
        """A signed-in person; support staff act with support rights, main contacts manage
        (only while they count as one: not "No Longer at Account", active)."""
        if user.is_support:
            return cls(ActorType.SUPPORT, user.user_name, door, str(user.id))
        return cls(
            ActorType.USER,
            user.user_name,
            door,
            str(user.id),
            user.account_id,
            manages_users=counts_as_main_contact(user),
        )
