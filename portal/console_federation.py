"""Sign in with your organization, in the console (issue 21): the account's connection to its
own OpenID provider, which main contacts of the account and support create, see, test and delete.
The client secret is write-only: the page shows its first characters, and an empty field keeps it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from portal.console_forms import ActionForm
from portal.forms import options, show_refusal
from portal.manage_users import actor, refused
from rollcall import upstream
from rollcall.web.database import database
from rollcall.web.session import login_required
from store import federation, user_search
from store.errors import DomainError
from store.models.security import FederationConnection

bp = Blueprint("console_federation", __name__)
bp.register_error_handler(DomainError, refused)


class ConnectionForm(FlaskForm):
    display_name = StringField(
        "Display name",
        validators=[Optional(), Length(max=255)],
        description="What people are told they sign in with, e.g. Acme Okta.",
    )
    issuer = StringField(
        "Issuer",
        validators=[DataRequired(), Length(max=1024)],
        description="Okta: https://acme.okta.com; Entra ID: "
        "https://login.microsoftonline.com/{tenant}/v2.0",
    )
    client_id = StringField("Client ID", validators=[DataRequired(), Length(max=255)])
    client_secret = PasswordField(
        "Client secret",
        validators=[Optional(), Length(max=1024)],
        description="Write-only: leave empty to keep the stored secret.",
        render_kw={"autocomplete": "off"},
    )
    scopes = StringField(
        "Scopes", default=federation.DEFAULT_SCOPES, validators=[Optional(), Length(max=255)]
    )
    claim = SelectField(
        "Claim that identifies the person",
        choices=options((c, c) for c in federation.CLAIMS),
        default="sub",
        description="sub for Okta, oid for Entra ID.",
    )
    link_by = SelectField(
        "Link to the user by",
        choices=options((v, v) for v in federation.LINK_BY),
        default="externalId",
        description="externalId when your provider pushes that claim as externalId over SCIM.",
    )
    domains = StringField(
        "Email domains",
        validators=[Optional(), Length(max=2000)],
        description="Separated by commas; an address in them is sent to your provider.",
    )
    required = BooleanField("Required: the account's users have no Rollcall password")
    create_users = BooleanField("Create users at their first sign-in")


@bp.route("/accounts/<uuid:account_id>/sign-in", methods=["GET", "POST"])
@login_required
def connection_page(account_id: uuid.UUID) -> Any:
    with database().transaction(write=False) as tx:
        account = user_search.managed_account(tx, actor(), account_id)
        connection = federation.connection_of(tx, actor(), account_id)
        if connection is not None:
            _ = connection.domains
    form = ConnectionForm(obj=_values(connection)) if connection else ConnectionForm()
    if form.validate_on_submit():
        values = {
            "display_name": form.display_name.data or account.name,
            "issuer": form.issuer.data,
            "client_id": form.client_id.data,
            "client_secret": form.client_secret.data or "",
            "scopes": form.scopes.data or federation.DEFAULT_SCOPES,
            "claim": form.claim.data,
            "link_by": form.link_by.data,
            "required": form.required.data,
            "create_users": form.create_users.data,
        }
        if federation.may_assign_domains(actor()):
            values["domains"] = [form.domains.data or ""]
        try:
            with database().transaction() as tx:
                if connection is None:
                    federation.create_connection(tx, actor(), account_id, **values)
                else:
                    federation.update_connection(tx, actor(), connection.id, **values)
        except DomainError as error:
            show_refusal(form, error)
        else:
            flash("The sign-in connection was saved.", "success")
            return redirect(url_for(".connection_page", account_id=account_id))
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "console/federation.html",
        account=account,
        connection=connection,
        secret_hint=federation.secret_hint(connection) if connection else None,
        form=form,
        action=ActionForm(),
        redirect_uri=_redirect_uri(),
        assigns_domains=federation.may_assign_domains(actor()),
    ), status


@bp.post("/accounts/<uuid:account_id>/sign-in/test")
@login_required
def test_connection(account_id: uuid.UUID) -> Any:
    if ActionForm().validate_on_submit():
        with database().transaction(write=False) as tx:
            connection = federation.connection_of(tx, actor(), account_id)
            issuer = connection.issuer if connection else None
        if issuer is not None:
            line = upstream.check(issuer)
            flash(line, "success" if line.startswith("ok ") else "error")
    return redirect(url_for(".connection_page", account_id=account_id))


@bp.post("/accounts/<uuid:account_id>/sign-in/delete")
@login_required
def delete_connection(account_id: uuid.UUID) -> Any:
    if ActionForm().validate_on_submit():
        with database().transaction() as tx:
            connection = federation.connection_of(tx, actor(), account_id)
            if connection is not None:
                federation.delete_connection(tx, actor(), connection.id)
                flash("The sign-in connection was deleted.", "success")
    return redirect(url_for(".connection_page", account_id=account_id))


def _values(connection: FederationConnection) -> Any:
    """The form's view of a stored connection: domains as one line, never the secret."""

    class Values:
        display_name = connection.display_name
        issuer = connection.issuer
        client_id = connection.client_id
        client_secret = ""
        scopes = connection.scopes
        claim = connection.claim
        link_by = connection.link_by
        domains = ", ".join(d.domain for d in connection.domains)
        required = connection.required
        create_users = connection.create_users

    return Values()


def _redirect_uri() -> str:
    """The redirect URI to register at the provider (the issuer's, as sso.keys computes it)."""
    configured = current_app.config["ROLLCALL_SETTINGS"].issuer
    return (configured or request.host_url).rstrip("/") + federation.CALLBACK_PATH
