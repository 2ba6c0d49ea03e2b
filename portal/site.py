"""What every page shares: the layout and stylesheet, the signed-in user."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask
from flask_wtf.csrf import generate_csrf

from portal.forms import PASSWORD_HINT
from rollcall.web.session import current_user

bp = Blueprint(
    "portal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/portal",
)


@bp.app_context_processor
def signed_in_user() -> dict[str, Any]:
    return {"current_user": current_user()}


def init_app(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.do")
    # Forms written by hand (the sign-in page's "send the link again") carry `csrf_token()`.
    app.jinja_env.globals.update(csrf_token=generate_csrf, password_hint=PASSWORD_HINT)
    app.register_blueprint(bp)
