"""What every page shares: the layout and stylesheet, the signed-in user, security headers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app
from flask_wtf.csrf import generate_csrf

from portal.forms import PASSWORD_HINT

bp = Blueprint(
    "portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/portal",
)

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


@bp.app_context_processor
def signed_in_user() -> dict[str, Any]:
    return {"current_user": _current_user()}


def _current_user() -> Any:
    try:
        from sso.session import current_user
    except ImportError:  # the sign-in door is not there (yet)
        return None
    return current_user()


@bp.after_app_request
def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cache-Control", "no-store")
    if not current_app.config["ROLLCALL_SETTINGS"].development:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    # Forms written by hand (the sign-in page's "send the link again") carry `csrf_token()`.
    app.jinja_env.globals.update(csrf_token=generate_csrf, password_hint=PASSWORD_HINT)
    app.register_blueprint(bp)
