"""The forms of the Manage Users console and the support pages (each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms import options
from store.contact_roles import CONTACT_ROLES


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes: the guide's Available/Chosen lists, usable with a keyboard."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: FlaskForm) -> None:
        """Unknown values are left for the store to refuse, with its own sentence."""


class UserForm(FlaskForm):
    """New User and Edit: the fields of the guide's form."""

    given_name = StringField(
        "First Name", validators=[Length(max=255)], render_kw={"autocomplete": "off"}
    )
    family_name = StringField(
        "Last Name",
        validators=[Length(max=255)],
        render_kw={"autocomplete": "off"},
    )
    # Required of new users (New User checks it); read-only on users owned elsewhere.
    email = EmailField("Email", validators=[Length(max=320)], render_kw={"autocomplete": "off"})
    user_name = StringField(
        "Username",
        validators=[Optional(), Length(max=255)],
        render_kw={"autocomplete": "off"},
    )
    phone = TelField("Phone", validators=[Length(max=64)], render_kw={"autocomplete": "off"})
    no_longer_at_account = BooleanField("No Longer at Account")
    profile = SelectField("Profile Permission", validate_choice=False)
    applications = CheckboxesField("Access to Applications")
    preferred_contact_method = SelectField(
        "Preferred Method of Contact",
        choices=options([("email", "Email"), ("phone", "Phone")]),
        validate_choice=False,  # the store says what is wrong with a value
    )
    contact_roles = CheckboxesField(
        "Contact's Roles", choices=options((name, name) for name in CONTACT_ROLES)
    )
    version = HiddenField()
    confirm_new = HiddenField()


class ActionForm(FlaskForm):
    """A button that changes something (Reset Password, Deactivate, Activate, Mark reviewed)."""


class TokenForm(FlaskForm):
    name = StringField(
        "Token name",
        validators=[DataRequired(), Length(max=255)],
        description="For example the identity provider it is for: Okta, Entra ID.",
    )


class AttachForm(FlaskForm):
    account = StringField(
        "Attach to account",
        validators=[DataRequired(), Length(max=255)],
        description="The account's name; the person gets its kind's default profile.",
    )


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[DataRequired()])
    note = TextAreaField("Note to the person (optional)", validators=[Length(max=2000)])
    account = StringField("Attach to account (optional)", validators=[Length(max=255)])
