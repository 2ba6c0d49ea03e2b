"""Cross-origin access for applications that run in the browser (public clients, e.g. an SPA).

Discovery and the keys are public documents: any origin may read them. The token, userinfo and
revocation endpoints answer a page only of an origin some active client redirects to (what
Keycloak calls a client's web origins); no cookies cross (bearer tokens and PKCE carry the
proof), so credentials are never allowed. Introspection is for servers and stays same-origin.
"""

from __future__ import annotations

from flask import Response, request

from rollcall.web.database import database
from store import clients
from store.errors import Unavailable

PUBLIC = {"oidc.discovery", "oidc.jwks"}
FOR_CLIENTS = {"oidc.token", "oidc.userinfo", "oidc.revoke"}
MAX_AGE = "600"


def add_headers(response: Response) -> Response:
    """after_request: the CORS headers of the endpoint asked, for the Origin that asks."""
    origin = request.headers.get("Origin")
    if not origin or request.endpoint not in PUBLIC | FOR_CLIENTS:
        return response
    response.vary.add("Origin")
    if request.endpoint in PUBLIC:
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        try:
            with database().transaction(write=False) as tx:
                if not clients.redirects_to_origin(tx, origin):
                    return response
        except Unavailable:
            # The origin cannot be checked, and the answer may be of a change made (a token
            # issued): it goes out as it is, unreadable to that page, which asks again.
            return response
        response.headers["Access-Control-Allow-Origin"] = origin
    if request.method == "OPTIONS":  # a preflight
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    else:
        response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
    return response
