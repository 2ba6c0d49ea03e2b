"""What is kept of a secret Rollcall issues (a token, a code, a link, a client secret): its SHA-256.

They are long and random, so a slow password hash would add nothing; a fast one lets each request
find its token by an index on the digest.
"""

from __future__ import annotations

import hashlib


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
