"""The profile page: "Edit Basic Information", password change, email change (FAQ 6), and the
applications that stay signed in (offline access), each of which the person can end."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from portal.forms import BasicInformationForm, EmailChangeForm, PasswordChangeForm, show_refusal
from portal.links import link_page
from rollcall.web.database import database
from rollcall.web.limits import limiter
from rollcall.web.session import (
    current_session,
    current_user,
    login_required,
    sign_in,
    write_cookie,
)
from store import csc, links, oauth, rules, self_service, sso_sessions, users
from store.actors import Actor, Door
from store.assurance import Proof
from store.errors import DomainError
from store.models.directory import User
from store.profiles import DISPLAY_NAMES, Profile

bp = Blueprint("profile", __name__)
bp.after_request(write_cookie)  # sets or clears the SSO cookie

PASSWORD_CHANGES = "10 per hour"
FIELDS = {"phone_numbers": "phone", "emails": "new_email"}


def _me() -> User:
    signed_in = current_user()
    assert signed_in is not None
    with database().transaction(write=False) as tx:
        return users.get_user(tx, _self_actor(signed_in), signed_in.id, related=True)


def _proof_so_far() -> Proof:
    """How this browser's person signed in (a second factor is not lost to a password change)."""
    current = current_session()
    return sso_sessions.proof_of(current) if current is not None else Proof.password()


def _self_actor(user: User) -> Actor:
    return Actor.for_user(user, Door.PORTAL)


def _page(user: User, status: int = 200, **forms: FlaskForm) -> tuple[str, int]:
    basic = forms.get("basic") or BasicInformationForm(
        prefix="basic",
        data={
            "given_name": user.given_name,
            "family_name": user.family_name,
            "phone": user.phone_numbers[0].value if user.phone_numbers else "",
            "preferred_contact_method": user.preferred_contact_method,
        },
    )
    password = forms.get("password") or PasswordChangeForm(prefix="password")
    email = forms.get("email") or EmailChangeForm(prefix="email")
    with database().transaction(write=False) as tx:
        csc_access = csc.standing(tx, user)
        offline = oauth.offline_grants(tx, user.id)
    profile_name = DISPLAY_NAMES.get(Profile(user.profile), user.profile) if user.profile else ""
    return (
        render_template(
            "profile.html",
            user=user,
            profile_name=profile_name,
            owner=rules.owner_name(user),
            csc_access=csc_access,
            basic=basic,
            password=password,
            email=email,
            offline=offline,
            end_form=forms.get("end") or FlaskForm(prefix="end"),
        ),
        status,
    )


@bp.get("/profile")
@login_required
def show() -> Any:
    return _page(_me())


@bp.post("/profile")
@login_required
def update_basic() -> Any:
    user = _me()
    form = BasicInformationForm(prefix="basic")
    if form.validate_on_submit():
        try:
            with database().transaction() as tx:
                self_service.update_basic_information(
                    tx,
                    user.id,
                    given_name=form.given_name.data,
                    family_name=form.family_name.data,
                    phone=form.phone.data,
                    preferred_contact_method=form.preferred_contact_method.data,
                )
        except DomainError as error:
            show_refusal(form, error, FIELDS)
        else:
            flash("Your basic information is saved.", "success")
            return redirect("/profile")
    return _page(user, 400, basic=form)


@bp.post("/profile/password")
@login_required
@limiter.limit(PASSWORD_CHANGES)
def change_password() -> Any:
    user = _me()
    form = PasswordChangeForm(prefix="password")
    if form.validate_on_submit():
        try:
            with database().transaction() as tx:
                changed = self_service.change_password(
                    tx, user.id, form.current_password.data, form.password.data
                )
                has_csc = csc.has_access(tx, changed)
        except DomainError as error:
            show_refusal(form, error)
        else:
            # every session ended with the change; this browser stays in, as strongly as before
            sign_in(changed, _proof_so_far())
            flash(
                "Your password is changed. Other browsers signed in to your account were "
                "signed out."
                + (" Your Client Support Center password did not change." if has_csc else ""),
                "success",
            )
            return redirect("/profile")
    return _page(user, 400, password=form)


@bp.post("/profile/email")
@login_required
@limiter.limit(PASSWORD_CHANGES)
def change_email() -> Any:
    user = _me()
    form = EmailChangeForm(prefix="email")
    if form.validate_on_submit():
        try:
            with database().transaction() as tx:
                new_email = self_service.request_email_change(
                    tx, user.id, form.new_email.data, form.current_password.data
                )
        except DomainError as error:
            show_refusal(form, error, FIELDS)
        else:
            flash(
                f"We sent a confirmation link to {new_email}. Your address changes when you "
                "follow it; until then mail goes to your current address.",
                "success",
            )
            return redirect("/profile")
    return _page(user, 400, email=form)


@bp.post("/profile/offline-access/<client_id>")
@login_required
def end_offline_access(client_id: str) -> Any:
    """Take an application's offline access back: it must sign the person in again."""
    user = _me()
    form = FlaskForm(prefix="end")
    if not form.validate_on_submit():
        return _page(user, 400, end=form)
    with database().transaction() as tx:
        ended = oauth.end_offline_access(tx, user, client_id)
    if ended:
        flash("That application no longer stays signed in; it will ask you to sign in.", "success")
    if request.form.get("back") == "/profile/sessions":
        return redirect("/profile/sessions")
    return redirect("/profile#applications")


@bp.route("/profile/email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> Any:
    def done(address: str) -> Response:
        flash(f"Your email address is now {address}.", "success")
        return redirect("/profile")

    return link_page(
        token,
        links.CHANGE_EMAIL,
        template="confirm_email.html",
        use=lambda tx: self_service.confirm_email_change(tx, token).primary_email,
        done=done,
        context=lambda _tx, link: {"new_email": link.payload.get("email", "")},
    )
