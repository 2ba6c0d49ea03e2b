"""The registered clients as Authlib sees them: a thin read-only view of `OAuthClient` rows."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list

from store import clients
from store.models.sign_in import OAuthClient

SECRET_METHODS = ("client_secret_basic", "client_secret_post")


class Client(ClientMixin):
    """A linked application. Redirect URIs match exactly; scopes outside its list are dropped.

    `row` is its `OAuthClient`, or for a client-credentials grant answered before Flask the plain
    row of `store.clients.client_row`.
    """

    def __init__(self, row: OAuthClient | Any) -> None:
        self.row = row
        self.client_id = row.client_id

    @property
    def public(self) -> bool:
        return self.row.public

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # OpenID Connect requires redirect_uri on every request

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.row.scopes)
        asked = dict.fromkeys(scope_to_list(scope))  # each once, in the order asked
        return list_to_scope([s for s in asked if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.row.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return clients.check_secret(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in SECRET_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.row.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.row.grant_types
