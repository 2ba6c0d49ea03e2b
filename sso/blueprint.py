"""The OpenID Provider's endpoints: discovery, JWKS, authorize, token, userinfo, revoke, introspect.

Each endpoint opens one transaction and hands the request to Authlib (`sso.server`); the
authorization endpoint adds what Authlib leaves to the host: sign-in, `max_age`, access to the
application, and consent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InsecureTransportError,
    InvalidRequestError,
    scope_to_list,
)
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)
from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from rollcall.headers import bearer_token
from rollcall.web import session, unavailable
from rollcall.web.database import database
from sso import claims, cors, keys, second_factor
from sso.grants import Person
from sso.server import SCOPES, Issuer
from store import access, assurance, mfa, oauth, sso_sessions, users
from store.db import now
from store.errors import Unavailable

bp = Blueprint("oidc", __name__, template_folder="templates")
bp.after_request(cors.add_headers)  # only these endpoints answer other origins

RESPONSE_TYPES = ["code"]
RESPONSE_MODES = ("query", "fragment", "form_post")
CLAIMS = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "sid", "azp", "at_hash",
    "amr", "acr",
    "name", "given_name", "family_name", "preferred_username", "locale", "zoneinfo",
    "updated_at", "email", "email_verified", "phone_number", "phone_number_verified",
    "account", "profile", "permissions", "contact_roles", "applications",
]  # fmt: skip


def server() -> Any:
    return current_app.extensions["rollcall.oauth"]


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def discovery() -> Response:
    base = keys.issuer()
    document = {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "jwks_uri": f"{base}/oauth/jwks",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "introspection_endpoint": f"{base}/oauth/introspect",
        "end_session_endpoint": f"{base}/oauth/logout",
        "scopes_supported": SCOPES,
        "response_types_supported": RESPONSE_TYPES,
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [keys.ALGORITHM],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
        "acr_values_supported": list(assurance.ACR_VALUES),
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "prompt_values_supported": ["none", "login", "consent"],
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
        "authorization_response_iss_parameter_supported": True,
    }
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/oauth/jwks")
def jwks() -> Response:
    with database().transaction() as tx:
        keys.signing_key(tx)  # a new deployment makes its first key before publishing
        document = keys.jwks(tx)
    response = jsonify(document)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/oauth/token", methods=["POST"])
def token() -> Response:
    with database().transaction() as tx:
        g.oauth_tx = tx
        return server().create_token_response()


@bp.route("/oauth/revoke", methods=["POST"])
def revoke() -> Response:
    with database().transaction() as tx:
        g.oauth_tx = tx
        return server().create_endpoint_response("revocation")


@bp.route("/oauth/introspect", methods=["POST"])
def introspect() -> Response:
    with database().transaction() as tx:
        g.oauth_tx = tx
        return server().create_endpoint_response("introspection")


@bp.route("/oauth/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    """OIDC Core §5.3: the claims of the access token's scopes, for a live token of a live user."""
    presented = _bearer()
    if presented is None:
        return _bearer_error(401, None)
    with database().reading() as reads:  # the token and its user, in one statement
        holder = oauth.token_holder(reads, presented)
    if holder is None:
        return _bearer_error(401, "invalid_token", "The access token is not valid.")
    scopes = set(scope_to_list(holder.scope) or ())
    if "openid" not in scopes:
        return _bearer_error(403, "insufficient_scope", "The token has no openid scope.")
    found = claims.standard_claims(holder, scopes)
    if "community" in scopes:  # account, roles and applications: the whole user
        with database().transaction(write=False) as tx:
            user = users.active_user(tx, holder.id, details=True)
            found = claims.claims_for(tx, user, scopes) if user else {}
    response = jsonify(found)
    response.headers["Cache-Control"] = "no-store"
    return response


class ConsentForm(FlaskForm):
    """Only the CSRF token: the decision is the button pressed."""


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    """The authorization endpoint; its answers to the client go back in the response mode asked."""
    return _in_response_mode(_authorize())


def _authorize() -> Any:
    current = session.current_session()
    user = session.current_user()  # read with the session, in this request
    person = (
        Person(user, current.id, current.auth_time, sso_sessions.proof_of(current))
        if current and user
        else None
    )
    with database().transaction() as tx:
        g.oauth_tx = tx
        try:
            grant = server().get_consent_grant(end_user=person)
        except OAuth2Error as error:
            # Refused once the redirect URI is trusted (prompt=none without a session, a scope
            # the client may not ask): the answer goes back in the response mode asked, too.
            if getattr(error, "redirect_uri", None):
                _answer_in_mode(error.redirect_uri)
            return _authorization_error(error)
        redirect_uri = grant.redirect_uri
        params = request.values
        if not _answer_in_mode(redirect_uri):
            unknown = InvalidRequestError("This response_mode is not supported.")
            unknown.redirect_uri = redirect_uri
            return _authorization_error(unknown)
        if params.get("request"):  # OIDC Core §6: request objects are not supported here
            return _authorization_error(RequestNotSupportedError(redirect_uri=redirect_uri))
        if params.get("request_uri"):
            return _authorization_error(RequestURINotSupportedError(redirect_uri=redirect_uri))
        prompts = set((params.get("prompt") or "").split())
        hint = params.get("id_token_hint")
        hinted = keys.id_token_claims(tx, hint)
        if hint and hinted is None:
            return _authorization_error(
                InvalidRequestError(
                    "The id_token_hint is not an ID token this server issued.",
                    redirect_uri=redirect_uri,
                )
            )
        # OIDC Core §3.1.2.1: the request is for the person the hint names, not someone else.
        other = (
            person is not None and hinted is not None and hinted.get("sub") != str(person.user.id)
        )
        again = "login" in prompts or other or _too_old(current, params.get("max_age"))
        if person is None or again:
            if "none" in prompts:
                return _authorization_error(LoginRequiredError(redirect_uri=redirect_uri))
            return _to_sign_in(again=again)
        client_row = grant.client.row
        if not access.may_open(tx, person.user, client_row):
            denied = _authorization_error(
                AccessDeniedError(
                    "The user has no access to this application.", redirect_uri=redirect_uri
                )
            )
            if "none" in prompts:
                return denied
            return render_template(
                "sso/denied.html",
                client=client_row,
                back=denied.headers["Location"],
                by_support=access.granted_by_support(tx, client_row),
            ), 403
        proof = person.proof or _PASSWORD
        if mfa.step_up_needed(tx, client_row, params.get("acr_values"), proof, person.user):
            if "none" in prompts:
                return _authorization_error(InteractionRequiredError(redirect_uri=redirect_uri))
            enrolled = bool(mfa.methods_of(tx, person.user))
            return redirect(second_factor.step_up_url(_back_here(), enrolled=enrolled))
        scopes = scope_to_list(grant.request.scope) or []
        if not client_row.first_party and (
            "consent" in prompts
            or not oauth.consented(tx, person.user.id, client_row.client_id, scopes)
        ):
            if "none" in prompts:
                return _authorization_error(ConsentRequiredError(redirect_uri=redirect_uri))
            form = ConsentForm()
            decision = request.form.get("decision") if request.method == "POST" else None
            if decision is None or not form.validate_on_submit():
                return render_template(
                    "sso/consent.html", client=client_row, scopes=scopes, form=form
                )
            if decision != "allow":
                return server().create_authorization_response(grant=grant, grant_user=None)
            oauth.record_consent(tx, person.user.id, client_row.client_id, scopes)
        sso_sessions.add_client(tx, person.session_id, client_row.client_id)
        return server().create_authorization_response(grant=grant, grant_user=person)


def _answer_in_mode(redirect_uri: str) -> bool:
    """Answer the client at this (trusted) redirect URI in the response mode the request asks;
    False, and the default (query), when it asks for one this server does not support."""
    mode = request.values.get("response_mode") or "query"
    if mode not in RESPONSE_MODES:
        return False
    g.response_mode, g.client_redirect = mode, redirect_uri
    return True


def _in_response_mode(response: Any) -> Any:
    """A redirect to the client carries its parameters in the query (the default), in the
    fragment, or in a form posted from the browser (OAuth 2.0 Form Post Response Mode)."""
    mode, target = g.get("response_mode", "query"), g.get("client_redirect")
    location = getattr(response, "location", None) or ""
    if mode == "query" or not target or not location.startswith(target):
        return response
    fields = parse_qsl(location[len(target) :].lstrip("?&"), keep_blank_values=True)
    if mode == "fragment":
        response.location = f"{target}#{urlencode(fields)}"
        return response
    page = make_response(render_template("sso/form_post.html", action=target, fields=fields))
    page.headers["Cache-Control"] = "no-store"
    return page


# The OAuth endpoints machines call: unknown methods there answer in OAuth's JSON.
API_PATHS = (
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/introspect",
    "/oauth/userinfo",
    "/oauth/jwks",
    "/.well-known/",
)


def outside_routes(exc: HTTPException) -> Any:
    """A wrong method, an unknown path or a request unreadable before any endpoint ran (a
    misshapen body, a Host naming no host) among the OAuth endpoints: an OAuth error, not a
    page."""
    if isinstance(exc, MethodNotAllowed):
        methods = sorted(exc.valid_methods or ())
        named = " or ".join(m for m in methods if m not in ("HEAD", "OPTIONS"))
        response = jsonify(error="invalid_request", error_description=f"Use {named} here.")
        response.headers["Allow"] = ", ".join(methods)
    elif isinstance(exc, NotFound):
        response = jsonify(error="not_found", error_description="No such endpoint.")
    else:
        response = jsonify(error="invalid_request", error_description=exc.description)
    response.status_code = exc.code or 404
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(ValueError)
def _unreadable(exc: ValueError) -> Any:
    """A request Authlib cannot even describe (bytes that are not UTF-8 in HTTP Basic, characters
    an error description may not echo) is still an OAuth error, never a server fault."""
    current_app.logger.warning("unreadable OAuth request to %s: %r", request.path, exc)
    error = InvalidRequestError("The request contains characters that cannot be read.")
    if request.endpoint == "oidc.authorize":
        return render_template("sso/error.html", error=error), 400
    if request.endpoint == "oidc.userinfo":
        return _bearer_error(400, "invalid_request", error.description)
    response = jsonify(error="invalid_request", error_description=error.description)
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(Unavailable)
def _unavailable(exc: Unavailable) -> Any:
    """The database out of reach: OAuth's `temporarily_unavailable` with 503 and `Retry-After`,
    for the client to ask again; a person at the authorization endpoint sees the site's page."""
    if request.endpoint == "oidc.authorize":
        return unavailable.page(exc)
    current_app.logger.warning("%s not answered: %s", request.path, exc)
    response = jsonify(error="temporarily_unavailable", error_description=exc.message)
    response.status_code = 503
    response.headers["Retry-After"] = str(exc.retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(InsecureTransportError)
def _over_http(error: InsecureTransportError) -> Any:
    """A request that reached OAuth over plain http from elsewhere than this machine (Authlib
    refuses it, RFC 6749 §3.1): most often a proxy that ends TLS and is not trusted to say so
    (ROLLCALL_TRUSTED_PROXIES). An OAuth error, or at the authorization endpoint a page."""
    error.description = (
        "OAuth needs https: this request came over plain http. Behind a proxy that ends TLS, "
        "set ROLLCALL_TRUSTED_PROXIES so that its X-Forwarded-Proto is believed."
    )
    current_app.logger.warning("%s refused: %s", request.path, error.description)
    if request.endpoint == "oidc.authorize":
        return render_template("sso/error.html", error=error), 400
    response = jsonify(error="invalid_request", error_description=error.description)
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


def _authorization_error(error: OAuth2Error) -> Any:
    """Errors before the redirect URI is trusted are shown here; later ones go to the client."""
    error.state = getattr(error, "state", None) or request.values.get("state")
    if getattr(error, "redirect_uri", None):
        response = server().handle_error_response(None, error)
        Issuer().add_issuer_parameter(server(), response)
        return response
    return render_template("sso/error.html", error=error), error.status_code or 400


def _too_old(current: Any, max_age: str | None) -> bool:
    if current is None or max_age in (None, ""):
        return False
    try:
        limit = int(max_age)
    except ValueError:
        return False
    return (now() - current.auth_time).total_seconds() > limit


_PASSWORD = assurance.Proof.password()


def _to_sign_in(*, again: bool) -> Response:
    """Sign in first, then come back without the parameters that asked for a fresh sign-in (the
    person who signs in is the one the request is for, whoever a hint named)."""
    hint = request.values.get("login_hint", "")
    return redirect(session.signin_url(_back_here(), login_hint=hint, fresh="1" if again else ""))


def _back_here() -> str:
    """This authorization request, to come back to after signing in (or giving a second
    factor), without what asked for the sign-in and the consent form's fields."""
    kept = [
        (k, v)
        for k, v in request.values.items(multi=True)
        if k not in ("max_age", "prompt", "decision", "csrf_token", "id_token_hint")
    ]
    prompt = " ".join(p for p in (request.values.get("prompt") or "").split() if p != "login")
    if prompt:
        kept.append(("prompt", prompt))
    return f"{request.path}?{urlencode(kept)}"


def _bearer() -> str | None:
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is not None:
        return token
    if request.method == "POST" and request.form.get("access_token"):
        return request.form["access_token"]
    return None


def _bearer_error(status: int, code: str | None, description: str | None = None) -> Response:
    """RFC 6750 §3: the error in WWW-Authenticate and in a JSON body."""
    challenge = 'Bearer realm="rollcall"'
    if code:
        challenge += f', error="{code}"'
        if description:
            challenge += f', error_description="{description}"'
    body = {"error": code, "error_description": description} if code else {}
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = challenge
    return response
