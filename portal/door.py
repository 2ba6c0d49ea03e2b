"""The pages for people, put onto an application."""

from __future__ import annotations

from flask import Flask

from portal import (
    console_federation,
    console_groups,
    console_provisioning,
    console_security,
    dev_mail,
    manage_users,
    passkeys,
    profile,
    recovery,
    registration,
    security,
    signed_in_browsers,
    site,
    support,
    support_applications,
)
from rollcall import mail
from rollcall.settings import Settings
from store import csc


def init_app(app: Flask, settings: Settings) -> None:
    site.init_app(app)
    mail.init_app(app, settings)
    app.extensions.setdefault("rollcall.csc_verifier", csc.LocalDirectory())
    for module in (
        registration,
        recovery,
        profile,
        signed_in_browsers,
        security,
        passkeys,
        manage_users,
        console_provisioning,
        console_groups,
        console_federation,
        console_security,
        support,
        support_applications,
    ):
        app.register_blueprint(module.bp)
    if settings.development:
        app.register_blueprint(dev_mail.bp)
