"""What this SCIM service provider serves and announces: resources, extensions, limits.

The Rollcall extension carries the community fields of SPEC §1 Users under a project-owned URN.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    ComplexAttribute,
    EnterpriseUser,
    ETag,
    Extension,
    Filter,
    GroupMember,
    Mutability,
    Pagination,
    Patch,
    Reference,
    Required,
    ResourceType,
    Returned,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
)
from scim2_models import Email as ScimEmail
from scim2_models import Group as ScimGroup
from scim2_models import Manager as ScimManager
from scim2_models import Name as ScimName
from scim2_models import User as ScimUser

from scim.request_checks import RequestChecks
from store.profiles import Profile

COMMUNITY_URN = "urn:rollcall:scim:schemas:extension:community:2.0:User"
ENTERPRISE_URN = str(EnterpriseUser.__schema__)

MAX_RESULTS = 1000  # the largest page, and what `count` is clamped to
DEFAULT_PAGE_SIZE = 100
MAX_OPERATIONS = 1000  # per Bulk request
MAX_PAYLOAD_SIZE = 1_048_576  # bytes, for every request body
MAX_FILTER_TERMS = 50  # comparisons in one filter (beyond: tooMany)


UserReference = Reference["User"]  # a reference to a User resource (RFC 7643 §2.3.7)


class Member(RequestChecks, GroupMember):
    """A group member: users only (no nested groups); its display name is the server's."""

    ref: Annotated[UserReference | None, Mutability.immutable] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the member: a User resource."""

    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User"])
    """The type of the member: 'User'."""

    display: Annotated[str | None, Mutability.read_only] = None
    """The member's display name, as the server has it."""


class Group(RequestChecks, ScimGroup):
    """The core Group, with members as Rollcall keeps them; a display name is unique within
    its account (case aside)."""

    display_name: Annotated[str | None, Required.true, Uniqueness.server] = None
    """A human-readable name for the Group."""

    members: list[Member] | None = None
    """A list of members of the Group."""

    Members: ClassVar[type[ComplexAttribute]] = Member


class Email(RequestChecks, ScimEmail):
    """An email address, checked by the store (store.validation.clean_email) like at every other
    door, so an address the directory holds always renders back (e.g. at a reserved domain)."""

    value: str | None = None
    """Email addresses for the user."""


class Name(RequestChecks, ScimName):
    """The core User's name, checked in a request as the other attributes are."""


class User(RequestChecks, ScimUser[Any]):
    """The core User. Every Rollcall user is active or not, so `active` is always there: it is
    published as required, and a request that leaves it out gets true (see quirks)."""

    active: Annotated[bool | None, Required.true] = None
    """A Boolean value indicating the User's administrative status."""

    name: Name | None = None
    """The components of the user's real name."""

    Name: ClassVar[type[ComplexAttribute]] = Name

    emails: list[Email] | None = None
    """Email addresses for the user."""

    Emails: ClassVar[type[ComplexAttribute]] = Email


class Manager(RequestChecks, ScimManager):
    """A user's manager, named by id: the server adds `$ref`. RFC 7643 §4.3 calls `$ref`
    RECOMMENDED and §8.7.1 publishes it with required false; Okta and Entra ID send the id only."""

    ref: Annotated[Reference[User] | None, Required.false] = Field(
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the SCIM resource representing the User's manager."""


class Enterprise(RequestChecks, EnterpriseUser):
    """The Enterprise User extension (RFC 7643 §4.3), with `manager` as clients send it."""

    manager: Manager | None = None
    """The User's manager: another User of the account, named by its id."""


class Community(RequestChecks, Extension):
    """The community fields of a user (SPEC §1 Users, Profiles, Applications).

    A user always has a profile, a "No Longer at Account" flag and a contact method, so they are
    required when the extension is sent; what a request leaves out keeps its current value.
    """

    __schema__ = URN(COMMUNITY_URN)

    account: Annotated[str | None, Mutability.read_only, Returned.request] = None
    """The name of the user's account, the account of the token that created the user.
    Returned when asked for (`attributes`): a token's users are all of its own account."""

    profile: Annotated[str | None, Required.true] = Field(None, examples=[p.value for p in Profile])
    """The community profile; main profiles are granted by support only, and each account kind
    allows its own profiles (SPEC §1 Profiles)."""

    applications: list[str] | None = Field(None, examples=["icd10", "ng_share", "ng_store"])
    """Keys of the linked applications granted to the user directly (enterprise accounts only):
    by the account's main contacts and support in the console, or by the identity provider here
    (add, remove, replace). One list: the last writer's stands. Applications the user has
    through a group mapped to them are not in it. A replacement that leaves it out keeps it."""

    no_longer_at_account: Annotated[bool | None, Required.true] = None
    """The person has left the organization."""

    preferred_contact_method: Annotated[str | None, Required.true] = Field(
        None, examples=["email", "phone"]
    )
    """How the person prefers to be contacted."""

    last_login: Annotated[datetime | None, Mutability.read_only] = None
    """When the user last signed in."""


POLICY = ScimPolicy(
    # Entra ID sends removals as {"op": "Remove", "path": "members", "value": [...]}.
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Entra ID adds emails[type eq "work"].value to users that have no work email yet.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    documentation_uri=None,
    patch=Patch(supported=True),
    bulk=Bulk(supported=True, max_operations=MAX_OPERATIONS, max_payload_size=MAX_PAYLOAD_SIZE),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=True),
    sort=Sort(supported=True),
    etag=ETag(supported=True),
    pagination=Pagination(
        cursor=True,
        index=True,
        default_pagination_method=Pagination.DefaultPaginationMethod.index,
        default_page_size=DEFAULT_PAGE_SIZE,
        max_page_size=MAX_RESULTS,
    ),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="Bearer token",
            description="A provisioning token (`rollcall token create`) or an OAuth 2.0 access "
            "token with the scim scope, sent as Authorization: Bearer.",
            spec_uri="https://www.rfc-editor.org/rfc/rfc6750",
            primary=True,
        )
    ],
)


def _user_resource_type() -> ResourceType:
    """Users carry the enterprise extension if the client likes, and always the community one:
    every user has a profile. A request without it gets the defaults (see quirks)."""
    resource_type = ResourceType.from_resource(User[Enterprise | Community])
    for extension in resource_type.schema_extensions or []:
        extension.required = extension.schema_ == COMMUNITY_URN
    return resource_type


PROVIDER = ScimProvider(
    models=[User, Enterprise, Community, Group],
    resource_types=[_user_resource_type(), ResourceType.from_resource(Group)],
    config=CONFIG,
    policy=POLICY,
)

UserResource: Any = PROVIDER.model_for("User")


@cache
def parametrized(generic: Any, model: Any) -> Any:
    """`generic[model]` (ListResponse[User], PatchOp[Group], ...), built once per process.

    pydantic keeps such classes only weakly, so without this each request could rebuild them
    (milliseconds each, measured in bench/scim_bench.py).
    """
    return generic[model]
