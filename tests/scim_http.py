"""A SCIM client over a Flask test client: what the tests of every door use to speak /scim/v2."""

from __future__ import annotations

import json
from typing import Any

SCIM_MEDIA_TYPE = "application/scim+json"


class ScimClient:
    """Requests to /scim/v2 with a bearer token, bodies sent as application/scim+json."""

    BASE = "/scim/v2"

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = SCIM_MEDIA_TYPE
        return self.client.open(self.BASE + path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def create_user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        """POST a user (with a work email unless given) and return the created resource."""
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "emails": [{"value": f"{user_name}@example.com", "type": "work", "primary": True}],
            **attributes,
        }
        response = self.post("/Users", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def create_group(self, display_name: str, members: Any = ()) -> dict[str, Any]:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": display_name,
            "members": [{"value": member} for member in members],
        }
        response = self.post("/Groups", body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()
