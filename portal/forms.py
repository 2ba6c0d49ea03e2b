"""The forms of the pages (Flask-WTF: each carries its CSRF token) and how store refusals land
on them."""

from __future__ import annotations

from collections.abc import Iterable

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from store.errors import DomainError

PASSWORD_HINT = (
    "At least 12 characters. Not a common password, and not containing your username. "
    "A few unrelated words make a good one."
)


def show_refusal(form: FlaskForm, error: DomainError, fields: dict[str, str] | None = None) -> None:
    """Put a store refusal next to the field it is about (`error.field`, or through `fields`
    when the form names it differently), else at the top of the form."""
    name = (fields or {}).get(error.field or "", error.field)
    target = getattr(form, name, None) if name else None
    if target is not None and hasattr(target, "errors") and name != "csrf_token":
        target.errors = [*target.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _password(label: str = "Password") -> PasswordField:
    return PasswordField(
        label,
        validators=[InputRequired(), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """(value, label) pairs as the choices of a select, radio or checkbox field."""
    return [SelectChoice(value, label) for value, label in pairs]


CHOICES = [
    (
        "csc_member",
        "I use NextGen software and have access to the Client Support Center",
    ),
    (
        "csc_request",
        "I use NextGen software and would like access to the Client Support Center",
    ),
    ("guest", "I do not use NextGen software"),
]


class RegisterForm(FlaskForm):
    choice = RadioField(
        "How do you use NextGen software?", choices=options(CHOICES), default="guest"
    )
    csc_user_name = StringField(
        "Client Support Center username",
        validators=[Optional(), Length(max=255)],
        render_kw={"autocomplete": "off"},
    )
    csc_password = PasswordField(
        "Client Support Center password",
        validators=[Optional(), Length(max=1024)],
        render_kw={"autocomplete": "off"},
    )
    organization = StringField(
        "Organization",
        validators=[Optional(), Length(max=255)],
        render_kw={"autocomplete": "organization"},
    )
    customer_number = StringField(
        "Customer number",
        validators=[Optional(), Length(max=64)],
        render_kw={"autocomplete": "off"},
    )
    given_name = StringField(
        "First name",
        validators=[DataRequired(), Length(max=255)],
        render_kw={"autocomplete": "given-name"},
    )
    family_name = StringField(
        "Last name",
        validators=[DataRequired(), Length(max=255)],
        render_kw={"autocomplete": "family-name"},
    )
    email = EmailField(
        "Email address",
        validators=[DataRequired(), Length(max=320)],
        render_kw={"autocomplete": "email"},
    )
    user_name = StringField(
        "Username",
        validators=[Optional(), Length(min=3, max=255)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[Optional(), Length(max=1024)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Password again",
        validators=[EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Register")

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        ok = super().validate(extra_validators)
        if self.choice.data == "csc_member":
            for f in (self.csc_user_name, self.csc_password):
                if not f.data:
                    f.errors = [*f.errors, "Enter your Client Support Center login."]
                    ok = False
        else:
            for f in (self.user_name, self.password):
                if not f.data:
                    f.errors = [*f.errors, "This field is required."]
                    ok = False
        if self.choice.data == "csc_request" and not (self.organization.data or "").strip():
            self.organization.errors = [
                *self.organization.errors,
                "Name your organization: support checks your request against it.",
            ]
            ok = False
        return ok


class LoginForm(FlaskForm):
    """One field naming an account: a username or an email address."""

    login = StringField(
        "Username or email address",
        validators=[DataRequired(), Length(max=320)],
        render_kw={"autocomplete": "username"},
    )
    submit = SubmitField("Send")


class EmailForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired(), Length(max=320)],
        render_kw={"autocomplete": "email"},
    )
    submit = SubmitField("Email me my username")


class ResetForm(FlaskForm):
    password = _password("New password")
    confirm = PasswordField(
        "New password again",
        validators=[EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Set my new password")


class BasicInformationForm(FlaskForm):
    given_name = StringField(
        "First name", validators=[Length(max=255)], render_kw={"autocomplete": "given-name"}
    )
    family_name = StringField(
        "Last name", validators=[Length(max=255)], render_kw={"autocomplete": "family-name"}
    )
    phone = TelField("Phone", validators=[Length(max=64)], render_kw={"autocomplete": "tel"})
    preferred_contact_method = SelectField(
        "Preferred method of contact", choices=options([("email", "Email"), ("phone", "Phone")])
    )
    submit = SubmitField("Save")


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[InputRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    password = _password("New password")
    confirm = PasswordField(
        "New password again",
        validators=[EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Change password")


class EmailChangeForm(FlaskForm):
    new_email = EmailField(
        "New email address",
        validators=[DataRequired(), Length(max=320)],
        render_kw={"autocomplete": "email"},
    )
    current_password = PasswordField(
        "Current password",
        validators=[InputRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField("Send confirmation link")
