"""Optimistic concurrency: a change may name the versions of a resource it was made against
(HTTP If-Match); it goes through only if the resource is still at one of them."""

from __future__ import annotations

from collections.abc import Collection

IfMatch = int | Collection[int] | None


def is_stale(current: int, if_match: IfMatch) -> bool:
    """Whether a change made against `if_match` would overwrite a version it has not seen."""
    if if_match is None:
        return False
    wanted = {if_match} if isinstance(if_match, int) else set(if_match)
    return current not in wanted
