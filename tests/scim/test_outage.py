"""A database outage answers every SCIM request with a SCIM error 503 and `Retry-After`, with the
dispatcher and without (`app_via_proxy`), whatever path the request takes; a change committed
just before the database went is answered as made. On PostgreSQL: the tests cut a proxy."""

from __future__ import annotations

from typing import Any

import pytest

import store.engine
from rollcall.web.database import database_of
from store.models.directory import User
from tests.conftest import ScimClient

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture
def scim_down(app_via_proxy: Any, enterprise: Any, make_token: Any) -> ScimClient:
    """The enterprise account's identity provider, talking to the app behind the proxy."""
    return ScimClient(app_via_proxy.test_client(), make_token(enterprise.account))


def requests(user_id: str) -> list[tuple[str, str, Any]]:
    """One request of each path: the plain ones (the dispatcher's) and Flask's."""
    deactivate = {"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]}
    search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    return [
        ("GET", f"/Users/{user_id}", None),
        ("GET", '/Users?filter=userName eq "main.contact"', None),
        ("POST", "/Users", {"schemas": [USER], "userName": "new.user"}),
        ("GET", f"/Users/{user_id}?attributes=userName", None),
        ("GET", '/Users?filter=name.familyName eq "Main"', None),
        ("GET", "/Groups", None),
        ("PATCH", f"/Users/{user_id}", deactivate),
        ("DELETE", f"/Users/{user_id}", None),
        ("POST", "/.search", search),
        ("POST", "/Users?attributes=userName", {"schemas": [USER], "userName": "other.user"}),
    ]


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    assert response.headers["Retry-After"] == "5"
    error = response.get_json()
    assert error["schemas"] == [ERROR] and error["status"] == "503"
    assert "cannot reach its database" in error["detail"]


def test_a_database_out_of_reach_answers_each_request_with_a_scim_503(
    scim_down: ScimClient, enterprise: Any, proxy: Any
) -> None:
    user_id = str(enterprise.main.id)
    proxy.cut()
    for method, path, body in requests(user_id):
        assert_unavailable(scim_down.request(method, path, body))
    proxy.restore()
    assert answered(scim_down, "GET", f"/Users/{user_id}")


def test_a_dropped_connection_answers_a_scim_503_and_the_next_request_is_answered(
    scim_down: ScimClient, enterprise: Any, proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection the database dropped (a restart) fails the request that meets it
    with a SCIM 503, and the pool's next connection is a new one. Flask's reads close their read
    session after the answer is made: its lost connection must not fail the request again."""
    monkeypatch.setattr(store.engine, "PING_AFTER_IDLE", 3600.0)  # reused as within seconds
    user_id = str(enterprise.main.id)
    reads = [(m, p, b) for m, p, b in requests(user_id) if m == "GET"]
    for method, path, body in reads:
        assert answered(scim_down, method, path, body)  # every connection it uses is pooled
        proxy.drop()
        assert_unavailable(scim_down.request(method, path, body))
        assert answered(scim_down, method, path, body)


def answered(client: ScimClient, method: str, path: str, body: Any = None) -> Any:
    """The request's answer within a few tries, or None (each of the pool's connections the
    database dropped fails one request: not checked first, it is found dead in use)."""
    for _ in range(4):
        response = client.request(method, path, body)
        if response.status_code == 200:
            return response
        assert_unavailable(response)
    return None


@pytest.mark.parametrize("path", ["/Users", "/Users?attributes=userName"], ids=["plain", "flask"])
def test_a_create_committed_as_the_database_goes_answers_201(
    scim_down: ScimClient, app_via_proxy: Any, proxy: Any, enterprise: Any, path: str
) -> None:
    """Once the user is committed the answer never says otherwise: not a 503, and not the
    failure of closing the request's read session on the connection that went (Flask's path).
    (The plain create of a user with a manager commits a transaction, as Flask's does.)"""
    scim_down.get("/Groups")  # the token's use is recorded: nothing is written but the user
    database_of(app_via_proxy).after_commit(lambda _tx: proxy.cut())
    manager = {"value": str(enterprise.main.id)}
    body = {"schemas": [USER, ENTERPRISE], "userName": "u1", ENTERPRISE: {"manager": manager}}
    response = scim_down.post(path, body)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["userName"] == "u1"
    proxy.restore()
    found = answered(scim_down, "GET", '/Users?filter=userName eq "u1"')
    assert found.get_json()["totalResults"] == 1


def test_a_commit_whose_reply_is_lost_is_not_answered_as_failed(
    db: Any, scim_down: ScimClient, enterprise: Any, proxy: Any
) -> None:
    """PostgreSQL committed the change, then the connection dropped before its reply was read:
    the client is not told the change failed (a 500) but that whether it was made cannot be told,
    in SCIM's format; and the change is there."""
    user_id = str(enterprise.main.id)
    title = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": "Dr"}]}
    assert scim_down.get(f"/Users/{user_id}").status_code == 200  # the token's first use noted
    proxy.cut_on_reply(b"COMMIT\x00")
    response = scim_down.patch(f"/Users/{user_id}", title)
    assert proxy.cuts_on_reply == 1
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/scim+json"
    assert "whether it was cannot be told" in response.get_json()["detail"]
    with db.transaction(write=False) as tx:
        assert tx.get(User, enterprise.main.id).title == "Dr"
