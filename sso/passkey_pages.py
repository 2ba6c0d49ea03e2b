"""Signing in with a passkey or security key: as a second factor after the password, and on its
own (passwordless, with a discoverable key that verifies the person).

`prove_with_passkey` is the second factor's core; the views use it for the person the
second-factor step is for (`second_factor.current_candidate`: a pending sign-in after the
password, or a signed-in person stepping up) and finish as that step does.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request

from rollcall.web import metrics, session
from rollcall.web.database import database
from rollcall.web.limits import SIGN_IN_PER_IP, limiter
from rollcall.web.passkeys import json_refusal, posted_json, relying_party
from rollcall.web.redirects import safe_next
from sso import second_factor
from store import passkey_signin, passkeys
from store.assurance import Proof
from store.errors import DomainError, Forbidden
from store.models.directory import User

bp = Blueprint("passkey_signin", __name__, template_folder="templates")
bp.after_request(session.write_cookie)  # the renewed or new SSO session's cookie


def prove_with_passkey(user: User, credential: Any) -> tuple[str, ...]:
    """The methods (`hwk` or `swk`) the person earns by the browser's answer to the options of
    `/signin/passkey/options`; raises the store's refusal otherwise, after committing it (a
    failed answer counts toward the lockout as a wrong password does)."""
    refusal: DomainError | None = None
    with database().transaction() as tx:
        try:
            methods = passkey_signin.authenticate(tx, relying_party(), user, credential)
        except DomainError as error:
            refusal = error
    if refusal is not None:
        metrics.sign_in("second_factor_refused")
        raise refusal
    metrics.sign_in("second_factor")
    return methods


@bp.get("/signin/passkey")
def second_factor_page() -> Any:
    """Confirm with a passkey or security key that it is you (after the password)."""
    candidate = second_factor.current_candidate()
    if candidate is None:
        return redirect(session.signin_url(request.full_path))
    with database().transaction(write=False) as tx:
        has_keys = passkeys.has_any(tx, candidate.user)
    next_path = safe_next(request.args.get("next"))
    return render_template("sso/passkey.html", next=next_path, has_keys=has_keys)


@bp.post("/signin/passkey/options")
@limiter.limit(SIGN_IN_PER_IP)
def second_factor_options() -> Any:
    candidate = _candidate()
    posted_json()
    with database().transaction() as tx:
        options = passkey_signin.begin_authentication(tx, relying_party(), candidate.user)
    return jsonify(options)


@bp.post("/signin/passkey")
@limiter.limit(SIGN_IN_PER_IP)
def give_passkey() -> Any:
    """{"credential": ..., "next": ...}: signed in, or the session goes on, with the key's
    method added to what the person proved."""
    candidate = _candidate()
    body = posted_json()
    methods = prove_with_passkey(candidate.user, body.get("credential"))
    second_factor.finish(candidate, methods)
    return jsonify(redirect=safe_next(body.get("next")))


@bp.post("/signin/passkey/passwordless/options")
@limiter.limit(SIGN_IN_PER_IP)
def passwordless_options() -> Any:
    posted_json()
    with database().transaction() as tx:
        return jsonify(passkey_signin.begin_passwordless(tx, relying_party()))


@bp.post("/signin/passkey/passwordless")
@limiter.limit(SIGN_IN_PER_IP)
def passwordless() -> Any:
    """{"credential": ..., "next": ...}: a new session proven by the key and the person's
    verification on the device (amr `hwk`/`swk`, `user`, `mfa`)."""
    body = posted_json()
    refusal: DomainError | None = None
    with database().transaction() as tx:  # committed on refusal too: it counts
        try:
            user, methods = passkey_signin.sign_in_passwordless(
                tx, relying_party(), body.get("credential")
            )
            tx.expunge(user)
        except DomainError as error:
            refusal = error
    if refusal is not None:
        metrics.sign_in("passkey_refused")
        raise refusal
    metrics.sign_in("passkey")
    session.sign_in(user, Proof.of(methods))
    return jsonify(redirect=safe_next(body.get("next")))


def _candidate() -> second_factor.Candidate:
    candidate = second_factor.current_candidate()
    if candidate is None:
        raise Forbidden("Your sign-in has ended. Sign in again.")
    return candidate


@bp.errorhandler(DomainError)
def refused(error: DomainError) -> Any:
    return json_refusal(error)
