"""Sign in with your organization: the trip to an account's own OpenID provider and back.

`start` keeps the sign-in on the server (store.federated_sign_in) and binds it to this browser
(its `state` in the Flask session), then sends the browser to the provider. The callback, one
address for every connection, consumes the state, exchanges the code (PKCE), checks the ID token
(rollcall.upstream) and links its claim to a user of that account only. Every refusal is a page
saying why, answered 400, with nobody signed in.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request
from flask import session as flask_session

from rollcall import upstream
from rollcall.web import metrics, session
from rollcall.web.database import database
from rollcall.web.limits import SIGN_IN_PER_IP, limiter
from sso import keys, second_factor
from store import federated_sign_in
from store.federation import CALLBACK_PATH, FederationRefused
from store.models.security import FederationConnection

bp = Blueprint("federation", __name__, template_folder="templates")
bp.after_request(session.write_cookie)

STATE_KEY = "federated_state"


def redirect_uri() -> str:
    """The one redirect URI registered at every organization's provider."""
    return keys.issuer() + CALLBACK_PATH


def start(connection: FederationConnection, next_path: str, login_hint: str | None) -> Any:
    """Send the browser to the connection's provider (a refusal page when it is unusable)."""
    with database().transaction() as tx:
        pending = federated_sign_in.begin(tx, connection, next_path)
    try:  # after the commit: no transaction waits on the provider
        url = upstream.authorization_url(
            connection,
            redirect_uri(),
            state=pending.state,
            nonce=pending.nonce,
            code_verifier=pending.code_verifier,
            login_hint=login_hint,
        )
    except FederationRefused as refused:
        return refusal(refused)
    flask_session[STATE_KEY] = pending.state
    return redirect(url)


@bp.get(CALLBACK_PATH)
@limiter.limit(SIGN_IN_PER_IP)
def callback() -> Any:
    state = request.args.get("state", "")
    expected = flask_session.pop(STATE_KEY, None)
    try:
        with database().transaction() as tx:  # the state is used up even when refused below
            pending, connection = federated_sign_in.finish(tx, state)
            tx.expunge(connection)
        if expected != state:
            raise FederationRefused(
                "This sign-in was started in another browser or tab. Start again from the "
                "sign-in page."
            )
        if request.args.get("error"):
            said = request.args.get("error_description") or request.args["error"]
            raise FederationRefused(f"{connection.display_name} did not sign you in: {said[:300]}")
        code = request.args.get("code", "")
        if not code:
            raise FederationRefused(f"{connection.display_name} sent no authorization code.")
        claims = upstream.sign_in_claims(
            connection,
            redirect_uri(),
            code=code,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
        )
        with database().transaction() as tx:  # rolled back when the link is refused
            user = federated_sign_in.link(tx, connection, claims)
            tx.expunge(user)
    except FederationRefused as refused:
        metrics.sign_in("federation_refused")
        return refusal(refused)
    metrics.sign_in("federated")
    # The account's second-factor policy applies unless the provider proved two factors itself.
    return second_factor.after_password(user, pending.next_path, federated_sign_in.proof_of(claims))


def refusal(refused: FederationRefused) -> tuple[str, int]:
    return render_template("sso/federation_refused.html", message=refused.message), 400
