"""The security headers every response carries, whichever door answered it, and the bearer token
a request carries, whichever door reads it."""

from __future__ import annotations

from functools import lru_cache

from werkzeug.wrappers import Response

# No inline script or style anywhere, so the policy can forbid both.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"


@lru_cache(maxsize=16)
def security_headers(mimetype: str, development: bool) -> tuple[tuple[str, str], ...]:
    """Pages get the full set; every response is nosniff, and HTTPS-only outside development."""
    headers = [("X-Content-Type-Options", "nosniff")]
    if mimetype == "text/html":
        headers += [
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
        ]
    if not development:
        headers.append(("Strict-Transport-Security", HSTS))
    return tuple(headers)


def add_security_headers(response: Response, development: bool) -> Response:
    """after_request: a view that set one of these itself (a page with its own policy) keeps its
    own."""
    for name, value in security_headers(response.mimetype, development):
        response.headers.setdefault(name, value)
    return response


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme in any case), or None."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
