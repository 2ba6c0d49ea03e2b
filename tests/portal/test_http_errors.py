"""Unknown addresses and wrong methods get the site's styled pages; SCIM paths keep their SCIM
errors and the OAuth endpoints their JSON (issue #20)."""

from __future__ import annotations

STYLESHEET = "/static/portal/rollcall.css"


def test_an_unknown_address_is_the_sites_own_page(app):
    response = app.test_client().get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in response.text and STYLESHEET in response.text
    assert "Not Found</h1>" not in response.text  # Flask's plain page


def test_a_wrong_method_is_the_sites_own_page_naming_what_is_allowed(app):
    response = app.test_client().delete("/signin")
    assert response.status_code == 405
    assert "That cannot be done here" in response.text and STYLESHEET in response.text
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_scim_paths_keep_their_scim_errors(app):
    response = app.test_client().get("/scim/v2/Widgets")
    assert response.status_code == 404
    assert "urn:ietf:params:scim:api:messages:2.0:Error" in response.json["schemas"]


def test_oauth_endpoints_answer_wrong_methods_in_json(app):
    for path in ("/oauth/token", "/oauth/introspect", "/oauth/revoke"):
        response = app.test_client().get(path)
        assert response.status_code == 405, path
        assert response.json["error"] == "invalid_request"
        assert "POST" in response.headers["Allow"].split(", ")
        assert response.json["error_description"] == "Use POST here."
    missing = app.test_client().get("/.well-known/nothing-here")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
