"""Pages for support staff: search accounts and users across the deployment, open any person
(guests and self-registered people included) to reset, deactivate, activate or attach them to an
account, decide Client Support Center access requests (flagged after 72 hours), and read the
audit log. Granting or
removing the main profile and managing a child account's users happen in the account's own Manage
Users pages, which support may open for any account."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from portal.console_forms import ActionForm, AttachForm, DecisionForm
from portal.manage_users import actor, refused
from rollcall.web.database import database
from rollcall.web.passkeys import status_of
from rollcall.web.session import login_required
from store import accounts, audit, csc, membership, mfa, user_mail, user_search, users
from store.actors import Actor
from store.audit_log import lines as audit_lines
from store.errors import DomainError, Forbidden

bp = Blueprint("support", __name__, url_prefix="/support")
bp.register_error_handler(DomainError, refused)

AUDIT_PAGE = 50


def support_actor() -> Actor:
    acting = actor()
    if not acting.privileged:
        raise Forbidden("These pages are for support staff.")
    return acting


@bp.get("")
@login_required
def home() -> Any:
    acting = support_actor()
    search = request.args.get("q", "")[:200]
    with database().transaction(write=False) as tx:
        found_accounts = accounts.search_accounts(tx, acting, search) if search else []
        found_users = user_search.find_users(tx, acting, search) if search else []
        requests = csc.open_requests(tx)
        overdue = sum(1 for r, _ in requests if csc.is_overdue(r))
    return render_template(
        "console/support.html",
        search=search,
        accounts=found_accounts,
        users=found_users,
        open_requests=len(requests),
        overdue=overdue,
    )


@bp.get("/users/<uuid:user_id>")
@login_required
def person(user_id: uuid.UUID) -> Any:
    acting = support_actor()
    with database().transaction(write=False) as tx:
        user = users.get_user(tx, acting, user_id, related=True)
        standing = csc.standing(tx, user)
        second_factors = sorted(mfa.methods_of(tx, user))
        history = audit_lines(tx, list(reversed(audit.events_for(tx, "user", user.id)))[:20])
    return render_template(
        "console/person.html",
        user=user,
        csc_standing=standing,
        second_factors=second_factors,
        history=history,
        form=ActionForm(),
        attach=AttachForm(),
    )


@bp.post("/users/<uuid:user_id>/<any('reset-password', deactivate, activate):act>")
@login_required
def act_on_person(user_id: uuid.UUID, act: str) -> Any:
    acting = support_actor()
    if not ActionForm().validate_on_submit():
        flash("The page was out of date; try again.", "error")
        return redirect(url_for(".person", user_id=user_id))
    with database().transaction() as tx:
        if act == "reset-password":
            user = user_mail.send_password_reset(tx, acting, user_id)
            done = f"A password reset link went to {user.user_name} at {user.primary_email}."
        elif act == "deactivate":
            user = users.deactivate(tx, acting, user_id)
            done = f"{user.user_name} was deactivated: signed out everywhere, record kept."
        else:
            user = users.activate(tx, acting, user_id)
            done = f"{user.user_name} was activated; a sign-in email is on its way."
    flash(done, "success")
    return redirect(url_for(".person", user_id=user_id))


@bp.post("/users/<uuid:user_id>/attach")
@login_required
def attach(user_id: uuid.UUID) -> Any:
    acting = support_actor()
    form = AttachForm()
    if form.validate_on_submit():
        with database().transaction() as tx:
            account = accounts.account_named(tx, form.account.data)
            user = membership.attach_to_account(tx, acting, user_id, account.id)
            flash(f"{user.user_name} is now a user of {account.name} ({user.profile}).", "success")
    else:
        flash("Name the account to attach the person to.", "error")
    return redirect(url_for(".person", user_id=user_id))


@bp.get("/csc-requests")
@login_required
def csc_requests() -> Any:
    return _requests_page(support_actor())


def _requests_page(
    acting: Actor, refusal: tuple[uuid.UUID, DomainError] | None = None, form: Any = None
) -> Any:
    """The open requests; a `refusal` of one request's decision is shown at it, with what was
    typed there (`form`), so that support corrects it in place."""
    with database().transaction(write=False) as tx:
        requests = [(r, u, csc.is_overdue(r)) for r, u in csc.open_requests(tx)]
        suggested = {}
        for request_, user, _ in requests:
            _ = (user.emails, user.account)
            if request_.organization and user.account is None:
                found = accounts.search_accounts(tx, acting, request_.organization, limit=10)
                suggested[request_.id] = [a.name for a in found]
    status = status_of(refusal[1]) if refusal is not None else 200
    return render_template(
        "console/csc_requests.html",
        requests=requests,
        suggested=suggested,
        form=form or DecisionForm(),
        refused_id=refusal[0] if refusal else None,
        refusal=refusal[1] if refusal else None,
        due_hours=int(csc.DECISION_DUE.total_seconds() // 3600),
    ), status


@bp.post("/csc-requests/<uuid:request_id>")
@login_required
def decide(request_id: uuid.UUID) -> Any:
    acting = support_actor()
    form = DecisionForm()
    if not form.validate_on_submit() or form.decision.data not in ("approve", "reject"):
        flash("The page was out of date; try again.", "error")
        return redirect(url_for(".csc_requests"))
    approve = form.decision.data == "approve"
    named = (form.account.data or "").strip()
    try:
        with database().transaction() as tx:
            account_id = accounts.account_named(tx, named).id if named else None
            csc.decide(
                tx,
                acting,
                request_id,
                approve=approve,
                note=form.note.data or None,
                account_id=account_id,
            )
    except DomainError as refusal:
        return _requests_page(acting, (request_id, refusal), form)
    attached = f" and attached to {named}" if approve and named else ""
    flash(
        f"The request was {'approved' if approve else 'rejected'}{attached}; the person is "
        "emailed the decision.",
        "success",
    )
    return redirect(url_for(".csc_requests"))


@bp.get("/audit")
@login_required
def audit_log() -> Any:
    acting = support_actor()
    account_id = _uuid(request.args.get("account"))
    before = request.args.get("before", type=int)
    action = request.args.get("action", "")[:64]
    with database().transaction(write=False) as tx:
        events = audit.recent(
            tx,
            acting,
            account_id=account_id,
            action=action or None,
            before_id=before,
            limit=AUDIT_PAGE,
        )
        account = tx.get(accounts.Account, account_id) if account_id else None
        lines = audit_lines(tx, events)
    older = events[-1].id if len(events) == AUDIT_PAGE else None
    return render_template(
        "console/audit.html",
        lines=lines,
        account=account,
        action=action,
        older=older,
        paged=before is not None,
    )


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
