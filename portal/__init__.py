"""Pages for people: registration, recovery, profile, Manage Users and the support pages.

They call the same `store` operations as SCIM; `init_app` puts them, the shared layout, the
security headers, rate limits and mail delivery into the application.
"""

from __future__ import annotations

from flask import Flask

from rollcall.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    from portal import limits, site
    from rollcall import mail

    site.init_app(app)
    limits.init_app(app, settings.ratelimit_url)
    mail.init_app(app, settings)
