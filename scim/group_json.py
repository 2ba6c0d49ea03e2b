"""A group's SCIM JSON built straight from its stored values, for reads without a projection.

scim2-models builds and dumps a model for each member: a group of 12,500 members took it
most of a second. The plain responses (no `attributes`/`excludedAttributes`) are written here as
dicts instead, the output being the one `mapping.group_to_scim` + `render` gives, byte for byte
(tests/scim/test_lean_reads.py compares them); requests with a projection still take the
scim2-models path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from scim.user_json import head
from store.models.directory import Group

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"


def group_json(group: Group, base: str, members: Sequence[uuid.UUID]) -> dict[str, Any]:
    """The full representation of a group with these members, as a GET answers it."""
    document = head(GROUP_URN, "Group", group, f"{base}/Groups/{group.id}")
    document["displayName"] = group.display_name
    if members:
        users = f"{base}/Users/"
        document["members"] = [
            {"value": str(m), "$ref": f"{users}{m}", "type": "User"} for m in members
        ]
    return document
