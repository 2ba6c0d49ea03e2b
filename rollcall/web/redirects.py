"""Where a page may send people next."""

from __future__ import annotations

from urllib.parse import urlsplit


def safe_next(value: str | None) -> str:
    """Only paths on this site: never an open redirect."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        return "/"  # control characters (CR LF) would break the Location header
    return value
