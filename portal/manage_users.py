"""My Account and Manage Users (the Main Client Community User Guide): the account's details and
hierarchy, the Active and Inactive Users tables, New User, Edit, Reset Password, Deactivate and
Activate, the quarterly review and the CSV export.

Every page calls `store`; tenancy, the main-contact rule and ownership are decided there. Support
staff use the same pages for any account.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from markupsafe import Markup, escape

from portal.console_forms import ActionForm, UserForm
from portal.forms import options as choices
from portal.forms import show_refusal
from rollcall.web.database import database
from rollcall.web.redirects import safe_next
from rollcall.web.session import current_user, login_required
from store import (
    access,
    accounts,
    exports,
    new_users,
    reviews,
    rules,
    user_mail,
    user_search,
    users,
)
from store.actors import Actor, Door
from store.applications import all_applications
from store.contact_roles import CONTACT_ROLES
from store.db import Tx, now
from store.errors import Conflict, DomainError, Forbidden, NotFound
from store.models.directory import Account, User
from store.profiles import (
    DISPLAY_NAMES,
    PERMISSIONS,
    AccountKind,
    Profile,
    allowed_profiles,
    counts_as_main_contact,
    default_profile,
)

bp = Blueprint("manage_users", __name__)

# Form field names for the store's field names, so refusals land next to the right input.
FORM_FIELDS = {"emails": "email", "phone_numbers": "phone", "contact_roles": "contact_roles"}
GUIDE_SUPPORT = (
    "To add or remove a main contact, open a support case with the category Community or call "
    "support at 855-657-4373."
)
STATUS_CODES = {NotFound: 404, Forbidden: 403, Conflict: 409}
# The guide's permission chart: each tab a profile may open, as the New User form explains it.
TABS = (
    ("my_account", "My Account: manage users, reset passwords, server info"),
    ("cases", "Cases: view, submit and manage cases"),
    ("mcs_assets", "MCS Assets: assets, channel report, purchased cases"),
    ("known_issues", "Known Issues"),
    ("knowledge", "Knowledge"),
    ("ideas", "Ideas"),
    ("training", "Training"),
    ("chatter", "Chatter"),
)
# The user lists, by their `status` parameter: people who left have a list of their own.
LISTS = {"active": "Active Users", "inactive": "Inactive Users", "left": "No Longer at Account"}


def actor() -> Actor:
    user = current_user()
    assert user is not None
    return Actor.for_user(user, Door.PORTAL)


def refused(error: DomainError) -> tuple[str, int]:
    """One place where a store refusal that is not about a form becomes a page."""
    status = next((code for kind, code in STATUS_CODES.items() if isinstance(error, kind)), 400)
    return render_template("console/refused.html", error=error, status=status), status


bp.register_error_handler(DomainError, refused)


@bp.app_template_global()
def profile_name(profile: str | None) -> str:
    if not profile:
        return ""
    try:
        return DISPLAY_NAMES[Profile(profile)]
    except (ValueError, KeyError):
        return profile


@bp.app_template_filter()
def breakable(text: str) -> Markup:
    """An address or username that may wrap before its @ and dots (and after its hyphens, as
    browsers do), never in the middle of a word."""
    escaped = str(escape(text))
    return Markup(escaped.replace("@", "<wbr>@").replace(".", "<wbr>."))


@bp.app_template_global()
def owner_name(user: User) -> str | None:
    return rules.owner_name(user)


@bp.get("/my-account")
@login_required
def my_account() -> Any:
    user = current_user()
    assert user is not None
    if user.is_support:
        return redirect(url_for("support.home"))
    if user.account_id is None:
        raise NotFound("You are not a member of an account.")
    return redirect(url_for(".account", account_id=user.account_id))


@bp.get("/accounts/<uuid:account_id>")
@login_required
def account(account_id: uuid.UUID) -> Any:
    with database().transaction(write=False) as tx:
        found = user_search.managed_account(tx, actor(), account_id)
        parent = found.parent
        children = accounts.children(tx, found)
        review = reviews.review_state(tx, actor(), account_id)
    return render_template(
        "console/account.html",
        account=found,
        parent=parent,
        children=children,
        review=review,
        form=ActionForm(),
        support=actor().privileged,
    )


@bp.get("/accounts/<uuid:account_id>/users")
@login_required
def users_page(account_id: uuid.UUID) -> Any:
    args = request.args
    status = args.get("status", "active")
    status = status if status in LISTS else "active"
    active = status == "active"
    with database().transaction(write=False) as tx:
        found = user_search.managed_account(tx, actor(), account_id)
        page = user_search.page_of_users(
            tx,
            actor(),
            account_id,
            active=active,
            left=status == "left",
            search=args.get("q", "")[:200],
            sort=args.get("sort", user_search.DEFAULT_SORT),
            descending=args.get("dir") == "desc",
            page=args.get("page", 1, type=int) or 1,
            per_page=args.get("per_page", user_search.DEFAULT_PER_PAGE, type=int) or 0,
        )
        review_due = reviews.is_due(found)
    return render_template(
        "console/users.html",
        account=found,
        new_users_refused=rules.new_users_refused(actor(), found.kind),
        page=page,
        active=active,
        status=status,
        lists=LISTS,
        search=args.get("q", ""),
        review_due=review_due,
        form=ActionForm(),
        per_page_choices=user_search.PER_PAGE_CHOICES,
        here=request.full_path.rstrip("?"),
    )


@bp.route("/accounts/<uuid:account_id>/users/new", methods=["GET", "POST"])
@login_required
def new_user(account_id: uuid.UUID) -> Any:
    form = UserForm()
    with database().transaction(write=False) as tx:
        found = user_search.managed_account(tx, actor(), account_id)
        rules.ensure_may_add_users(actor(), found.kind)
        options = _options(tx, found, None)
        matches: list[User] = []
        if form.is_submitted() and form.confirm_new.data != "1":
            matches = list(
                user_search.inactive_matches(
                    tx,
                    actor(),
                    account_id,
                    form.email.data or "",
                    given_name=form.given_name.data,
                    family_name=form.family_name.data,
                )
            )
    _choices(form, options)
    if request.method == "GET":
        form.profile.data = default_profile(AccountKind(found.kind)).value
    if form.is_submitted() and not (form.email.data or "").strip():
        form.email.errors = ["Enter the email address the sign-in email goes to."]
    elif form.validate_on_submit() and not matches:
        try:
            with database().transaction() as tx:
                user = new_users.create_user(
                    tx,
                    actor(),
                    account_id=account_id,
                    user_name=form.user_name.data or form.email.data,
                    contact_roles=form.contact_roles.data,
                    send_sign_in_email=True,
                    **_new_user_fields(form, options),
                )
        except DomainError as error:
            show_refusal(form, error, FORM_FIELDS)
        else:
            flash(
                f"{user.user_name} was added; a sign-in email went to {user.primary_email}.",
                "success",
            )
            return redirect(url_for(".users_page", account_id=account_id, q=user.user_name))
    if matches:
        form.confirm_new.data = "1"
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "console/user_form.html", account=found, form=form, user=None, matches=matches, **options
    ), status


@bp.route("/accounts/<uuid:account_id>/users/<uuid:user_id>", methods=["GET", "POST"])
@login_required
def edit_user(account_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    return _edit(account_id, user_id, activating=False)


@bp.route("/accounts/<uuid:account_id>/users/<uuid:user_id>/activate", methods=["GET", "POST"])
@login_required
def activate_user(account_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    return _edit(account_id, user_id, activating=True)


def _edit(account_id: uuid.UUID, user_id: uuid.UUID, *, activating: bool) -> Any:
    with database().transaction(write=False) as tx:
        found, user = _user_in(tx, account_id, user_id)
        options = _options(tx, found, user)
    # Activated meanwhile (the page left open): an edit, and no second sign-in email.
    activating = activating and not user.active
    form = UserForm(data=None if request.method == "POST" else _current(user))
    _choices(form, options)
    if form.validate_on_submit():
        try:
            with database().transaction() as tx:
                new_email = _save(tx, form, user, options)
                if activating:
                    users.activate(tx, actor(), user.id, new_email=new_email)
        except DomainError as error:
            show_refusal(form, error, FORM_FIELDS)
        else:
            to = f" to {new_email}" if new_email else ""
            done = f"activated; a sign-in email is on its way{to}" if activating else "saved"
            flash(f"{user.user_name} was {done}.", "success")
            if new_email:
                flash(
                    f"A confirmation link went to {new_email}; the address changes when "
                    "the user follows it.",
                    "info",
                )
            listed = "left" if form.no_longer_at_account.data else None
            return redirect(
                url_for(".users_page", account_id=account_id, q=user.user_name, status=listed)
            )
    status = 400 if form.errors or form.form_errors else 200
    return render_template(
        "console/user_form.html",
        account=found,
        form=form,
        user=user,
        matches=[],
        activating=activating,
        release_form=ActionForm(),
        **options,
    ), status


@bp.post("/accounts/<uuid:account_id>/users/<uuid:user_id>/release")
@login_required
def release_user(account_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    """Support gives a user the identity provider took over back to the console."""
    back = url_for(".edit_user", account_id=account_id, user_id=user_id)
    if not ActionForm().validate_on_submit():
        flash("The page was out of date; try again.", "error")
        return redirect(back)
    with database().transaction() as tx:
        _user_in(tx, account_id, user_id)
        user = users.release(tx, actor(), user_id)
        flash(f"{user.user_name} is managed here again.", "success")
    return redirect(back)


@bp.route("/accounts/<uuid:account_id>/users/<uuid:user_id>/deactivate", methods=["GET", "POST"])
@login_required
def deactivate_user(account_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    with database().transaction(write=False) as tx:
        found, user = _user_in(tx, account_id, user_id)
    form = ActionForm()
    error = None
    if form.validate_on_submit():
        try:
            with database().transaction() as tx:
                users.deactivate(tx, actor(), user.id)
        except DomainError as refusal:
            error = refusal
        else:
            flash(f"{user.user_name} was deactivated and moved to Inactive Users.", "success")
            return redirect(url_for(".users_page", account_id=account_id))
    stale = bool(form.csrf_token.errors)
    status = STATUS_CODES.get(type(error), 400) if error else 400 if stale else 200
    return render_template(
        "console/deactivate.html",
        account=found,
        user=user,
        form=form,
        error=error,
        # How to change main contacts, for the refusal to deactivate the last one only.
        guide_support=GUIDE_SUPPORT if counts_as_main_contact(user) else None,
    ), status


@bp.post("/accounts/<uuid:account_id>/users/<uuid:user_id>/reset-password")
@login_required
def reset_password(account_id: uuid.UUID, user_id: uuid.UUID) -> Any:
    back = safe_next(request.form.get("back") or url_for(".users_page", account_id=account_id))
    if not ActionForm().validate_on_submit():
        flash("The page was out of date; try again.", "error")
        return redirect(back)
    with database().transaction() as tx:
        _user_in(tx, account_id, user_id)
        user = user_mail.send_password_reset(tx, actor(), user_id)
        address = user.primary_email
    flash(f"A password reset link went to {user.user_name} at {address}.", "success")
    return redirect(back)


@bp.post("/accounts/<uuid:account_id>/review")
@login_required
def mark_reviewed(account_id: uuid.UUID) -> Any:
    if ActionForm().validate_on_submit():
        with database().transaction() as tx:
            user_search.managed_account(tx, actor(), account_id)
            accounts.mark_reviewed(tx, actor(), account_id)
        flash("Thank you: the review of your users is recorded.", "success")
    return redirect(
        safe_next(request.form.get("back") or url_for(".account", account_id=account_id))
    )


@bp.get("/accounts/<uuid:account_id>/users.csv")
@login_required
def export_users(account_id: uuid.UUID) -> Any:
    rows = exports.users_csv_rows(database(), actor(), account_id)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow(row)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    name = f"users-{now():%Y-%m-%d}.csv"
    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _user_in(tx: Tx, account_id: uuid.UUID, user_id: uuid.UUID) -> tuple[Account, User]:
    """The account (if the caller manages it) and its user; another account's user is NotFound."""
    found = user_search.managed_account(tx, actor(), account_id)
    user = users.get_user(tx, actor(), user_id, related=True)
    if user.account_id != found.id:
        raise NotFound("No such user.")
    return found, user


def _options(tx: Tx, account: Account, user: User | None) -> dict[str, Any]:
    """What the form offers: profiles the account kind allows (main ones only to support),
    applications in enterprise accounts, and whether the user's own fields are read-only."""
    kind = AccountKind(account.kind)
    profiles = [(p.value, DISPLAY_NAMES[p]) for p in rules.profiles_offered(actor(), kind)]
    enterprise = kind == AccountKind.ENTERPRISE
    offered = access.grantable(actor(), all_applications(tx)) if enterprise else []
    applications = [(a.key, a.name) for a in offered]
    names = {a.key: a.name for a in all_applications(tx)} if enterprise else {}
    sources = access.sources_of(tx, user) if user is not None else []
    return {
        "profiles": profiles,
        "profile_locked": user is not None and not rules.may_change_profile(actor(), user.profile),
        "applications_offered": enterprise,
        "application_choices": applications,
        "application_names": names,
        "managed": user is not None and user.externally_managed,
        "owner": rules.owner_name(user) if user is not None else None,
        "may_release": user is not None
        and user.managed_by == "identity_provider"
        and actor().privileged,
        # Where each of the user's applications came from, beside its checkbox or below.
        "grant_labels": {s.key: s.label for s in sources if s.group is None},
        "group_grants": [s for s in sources if s.group is not None],
        "kept_applications": sorted(
            {a.key for a in user.applications} - {key for key, _ in applications}
        )
        if user is not None
        else [],
        "role_descriptions": CONTACT_ROLES,
        "profile_chart": _profile_chart(kind),
        "mcs_entitled": bool(account.entitlements),
        "guide_support": GUIDE_SUPPORT,
    }


def _profile_chart(kind: AccountKind) -> dict[str, Any]:
    """The permission chart of the profiles this account kind uses: per tab, per profile,
    "Yes", "View only" or ""."""
    profiles = allowed_profiles(kind)
    rows = []
    for tab, label in TABS:
        marks = []
        for profile in profiles:
            granted = PERMISSIONS[profile]
            marks.append(
                "Yes" if tab in granted else "View only" if f"{tab}:view" in granted else ""
            )
        rows.append((label, marks))
    return {"profiles": [DISPLAY_NAMES[p] for p in profiles], "rows": rows}


def _choices(form: UserForm, options: dict[str, Any]) -> None:
    form.profile.choices = choices(options["profiles"])
    form.applications.choices = choices(options["application_choices"])


def _current(user: User) -> dict[str, Any]:
    return {
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.primary_email,
        "user_name": user.user_name,
        "phone": user.phone_numbers[0].value if user.phone_numbers else "",
        "no_longer_at_account": user.no_longer_at_account,
        "profile": user.profile,
        "applications": [a.key for a in user.applications],
        "preferred_contact_method": user.preferred_contact_method,
        "contact_roles": users.contact_roles_of(user),
        "version": str(user.version),
    }


def _new_user_fields(form: UserForm, options: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "given_name": form.given_name.data or None,
        "family_name": form.family_name.data or None,
        "emails": [{"value": form.email.data, "type": "work", "primary": True}],
        "phone_numbers": _phones(form.phone.data),
        "preferred_contact_method": form.preferred_contact_method.data,
        "no_longer_at_account": form.no_longer_at_account.data,
        "profile": form.profile.data or None,
    }
    if options["applications_offered"] or form.applications.data:
        fields["applications"] = form.applications.data  # the store refuses them elsewhere
    return fields


def _phones(phone: str | None) -> list[dict[str, Any]]:
    phone = (phone or "").strip()
    return [{"value": phone, "type": "work", "primary": True}] if phone else []


def _save(tx: Tx, form: UserForm, user: User, options: dict[str, Any]) -> str | None:
    """Write what the form changed. Inputs the page showed read-only are not sent, so only
    what was sent is passed on; the store refuses what this caller may not change."""
    sent = request.form
    changes: dict[str, Any] = {}
    for name in ("given_name", "family_name"):
        if name in sent:
            changes[name] = getattr(form, name).data or None
    if "preferred_contact_method" in sent:
        changes["preferred_contact_method"] = form.preferred_contact_method.data
    if "phone" in sent:
        current = user.phone_numbers[0].value if user.phone_numbers else ""
        if (form.phone.data or "").strip() != current:
            changes["phone_numbers"] = _phones(form.phone.data)
    if not options["managed"] or "no_longer_at_account" in sent:
        changes["no_longer_at_account"] = form.no_longer_at_account.data
    if "profile" in sent:
        changes["profile"] = form.profile.data
    if options["applications_offered"] or "applications" in sent:
        # Grants this caller has no checkbox for (the CSC, vetted by support) stay as they are.
        changes["applications"] = form.applications.data + options["kept_applications"]
    version = int(form.version.data) if (form.version.data or "").isdigit() else None
    # Roles first: they lock the account's contact roles before the user (as group changes do),
    # and check the version the form was made from; the user stays locked for the rest.
    users.set_contact_roles(tx, actor(), user.id, form.contact_roles.data, if_match=version)
    users.update_user(tx, actor(), user.id, changes)
    if "email" not in sent:
        return None
    return user_mail.request_email_change(tx, actor(), user.id, form.email.data or "")
