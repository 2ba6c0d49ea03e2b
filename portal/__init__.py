"""Pages for people: registration, recovery, profile, Manage Users and the support pages.

They call the same `store` operations as SCIM; `init_app` puts them, the shared layout, the
security headers, rate limits and mail delivery into the application.
"""

from __future__ import annotations

from flask import Flask

from rollcall.settings import Settings


def init_app(app: Flask, settings: Settings) -> None:
    from portal import dev_mail, limits, profile, recovery, registration, site
    from rollcall import mail
    from store import csc

    site.init_app(app)
    limits.init_app(app, settings.ratelimit_url)
    mail.init_app(app, settings)
    app.extensions.setdefault("rollcall.csc_verifier", csc.LocalDirectory())
    for module in (registration, recovery, profile):
        app.register_blueprint(module.bp)
    if settings.development:
        app.register_blueprint(dev_mail.bp)
    from portal import console_provisioning, manage_users, support

    for console in (manage_users, console_provisioning, support):
        app.register_blueprint(console.bp)
