"""SECURITY.md says what people rely on: the enumeration and lockout stance (why a taken username
is said), what is hashed or redacted, key rotation, the token policy, and how to report a flaw."""

from __future__ import annotations

from pathlib import Path

SECURITY = Path(__file__).resolve().parents[2] / "SECURITY.md"

SECTIONS = [
    "## Enumeration and lockout",
    "## What is hashed, redacted or erased",
    "## Keys and their rotation",
    "## Tokens: introspection and refresh",
    "## Reporting a flaw",
]


def test_security_policy_has_its_sections() -> None:
    text = SECURITY.read_text("utf-8")
    missing = [section for section in SECTIONS if section not in text]
    assert not missing, f"SECURITY.md lacks {missing}"
    assert "A taken username is said" in text  # issue #19 item 8: the reasons are written down
