"""The `rollcall` command: serve, migrate, load demo data, create accounts, users and tokens.

A person's mistake (a bad option, an unknown account, a taken userName, an unreachable database)
ends with one line saying why and a non-zero exit, never a stack trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.exc import (
    ArgumentError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)

from rollcall.settings import Settings, SettingsError
from store import (
    accounts,
    applications,
    clients,
    credentials,
    migrate,
    provisioning_log,
    signing_keys,
    users,
)
from store.actors import Actor
from store.db import Database, Tx
from store.errors import DomainError
from store.profiles import AccountKind, Entitlement, Profile


class Rollcall(click.Group):
    """Turns expected failures into one-line errors."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        except (OperationalError, ProgrammingError) as exc:
            raise click.ClickException(_database_problem(ctx, exc)) from None
        except SQLAlchemyError as exc:
            raise click.ClickException(f"Database error: {exc.__class__.__name__}.") from None


def _database_problem(ctx: click.Context, exc: SQLAlchemyError) -> str:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    url = ctx.obj.database_url if ctx.obj else "?"
    if "no such table" in detail or ("does not exist" in detail and "relation" in detail):
        return f"The database at {_safe(url)} is not set up: run `rollcall db upgrade`."
    return f"Cannot use the database at {_safe(url)}: {detail}"


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable URL)"


class Context:
    def __init__(self, database_url: str | None) -> None:
        self._override = database_url
        self._database: Database | None = None

    @property
    def settings(self) -> Settings:
        settings = Settings.from_env()
        if self._override:
            from dataclasses import replace

            settings = replace(settings, database_url=self._override)
        return settings

    @property
    def database_url(self) -> str:
        return self._override or Settings.from_env().database_url

    @property
    def database(self) -> Database:
        if self._database is None:
            try:
                self._database = Database(self.database_url)
            except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
                raise click.ClickException(f"Bad database URL: {exc}") from None
        return self._database

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.database.transaction() as tx:
            yield tx


pass_context = click.make_pass_decorator(Context)
OPERATOR = Actor.system()


@click.group(cls=Rollcall, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    "database_url",
    metavar="URL",
    help="Database URL (default: ROLLCALL_DATABASE_URL, else sqlite:///rollcall.db).",
)
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """Rollcall: SCIM 2.0 provisioning and OpenID Connect single sign-on."""
    ctx.obj = Context(database_url)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=0,
    type=click.IntRange(0, 64),
    help="Serve with gunicorn and this many worker processes (production). 0: development server.",
)
@pass_context
def serve(obj: Context, host: str, port: int, workers: int) -> None:
    """Serve Rollcall over HTTP."""
    from rollcall.app import create_app

    settings = obj.settings
    if not migrate.is_current(obj.database):
        raise click.ClickException(
            f"The database at {_safe(obj.database_url)} is not up to date: "
            "run `rollcall db upgrade`."
        )
    if workers:
        from rollcall.gunicorn import serve_with_gunicorn

        serve_with_gunicorn(settings, host, port, workers)
        return
    app = create_app(settings, obj.database)
    click.echo(f"Rollcall on http://{host}:{port}/ (development server; --workers for production)")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(obj: Context) -> None:
    """Create or migrate the schema to the newest revision."""
    migrate.upgrade(obj.database)
    click.echo(f"database at {_safe(obj.database_url)} is at revision {migrate.head()}")


@main.command()
@pass_context
def demo(obj: Context) -> None:
    """Load demo data (safe to run again: what exists is left as it is)."""
    from rollcall.demo import load

    with obj.transaction() as tx:
        for line in load(tx):
            click.echo(line)


@main.group()
def account() -> None:
    """Accounts (organizations)."""


@account.command("create")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in AccountKind]),
    default="enterprise",
    show_default=True,
)
@click.option(
    "--entitlement",
    "entitlements",
    multiple=True,
    type=click.Choice([e.value for e in Entitlement]),
    help="Repeat for several.",
)
@click.option("--parent", metavar="NAME", help="Parent account (resellers' child accounts).")
@click.option("--legal-name")
@pass_context
def account_create(
    obj: Context,
    name: str,
    kind: str,
    entitlements: tuple[str, ...],
    parent: str | None,
    legal_name: str | None,
) -> None:
    """Create an account with its twelve contact roles."""
    with obj.transaction() as tx:
        created = accounts.create_account(
            tx,
            OPERATOR,
            name=name,
            kind=kind,
            entitlements=entitlements,
            parent=parent,
            legal_name=legal_name,
        )
        click.echo(f"account: {created.id} {created.name} ({created.kind})")


@main.group()
def user() -> None:
    """Users."""


@user.command("create")
@click.option(
    "--account",
    "account_name",
    metavar="NAME",
    help="The user's account; without it, a guest (or --support).",
)
@click.option("--username", required=True)
@click.option("--email", required=True)
@click.option("--given-name")
@click.option("--family-name")
@click.option("--profile", type=click.Choice([p.value for p in Profile]))
@click.option("--password", help="At least 12 characters; without it the user cannot sign in yet.")
@click.option("--verified", is_flag=True, help="Mark the email address as verified.")
@click.option("--support", is_flag=True, help="A support operator (no account).")
@click.option("--contact-role", "roles", multiple=True, help="Repeat for several.")
@click.option("--application", "applications", multiple=True, help="Application key; repeatable.")
@pass_context
def user_create(
    obj: Context,
    account_name: str | None,
    username: str,
    email: str,
    given_name: str | None,
    family_name: str | None,
    profile: str | None,
    password: str | None,
    verified: bool,
    support: bool,
    roles: tuple[str, ...],
    applications: tuple[str, ...],
) -> None:
    """Create a user (or, with --support, a support operator)."""
    with obj.transaction() as tx:
        if support:
            if account_name or profile:
                raise click.UsageError("--support takes no --account or --profile.")
            created = users.create_support_user(
                tx, OPERATOR, user_name=username, email=email, password=password
            )
        else:
            found = accounts.account_named(tx, account_name) if account_name else None
            fields: dict[str, Any] = {
                "given_name": given_name,
                "family_name": family_name,
                "emails": [{"value": email, "type": "work", "primary": True}],
                "profile": profile,
            }
            if password is not None:
                fields["password"] = password
            if applications:
                fields["applications"] = list(applications)
            created = users.create_user(
                tx,
                OPERATOR,
                account_id=found.id if found else None,
                user_name=username,
                email_verified=verified,
                contact_roles=roles,
                **fields,
            )
        click.echo(
            f"user: {created.id} {created.user_name} "
            f"({'support' if created.is_support else created.profile})"
        )


@main.group()
def token() -> None:
    """SCIM provisioning tokens."""


@token.command("create")
@click.option("--account", "account_name", metavar="NAME", help="The account the token serves.")
@click.option("--support", is_flag=True, help="A support token that may address every account.")
@click.option("--name", default="scim", show_default=True, help="A label, e.g. okta or entra.")
@pass_context
def token_create(obj: Context, account_name: str | None, support: bool, name: str) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    if bool(account_name) == support:
        raise click.UsageError("Give either --account NAME or --support.")
    with obj.transaction() as tx:
        found = accounts.account_named(tx, account_name) if account_name else None
        credential, secret = credentials.create_credential(
            tx, OPERATOR, account_id=found.id if found else None, name=name
        )
        click.echo(f"id: {credential.id}")
        click.echo(f"token: {secret}")


@token.command("list")
@click.option("--account", "account_name", metavar="NAME", required=True)
@pass_context
def token_list(obj: Context, account_name: str) -> None:
    """List an account's tokens (never their secrets)."""
    with obj.transaction() as tx:
        found = accounts.account_named(tx, account_name)
        for c in credentials.credentials_of(tx, OPERATOR, found.id):
            state = f"revoked {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "active"
            used = f"{c.last_used_at:%Y-%m-%d %H:%M}" if c.last_used_at else "never"
            click.echo(f"{c.id}  {c.name}  {c.token_hint}…  {state}  last used {used}")


@token.command("revoke")
@click.argument("token_id", type=click.UUID)
@pass_context
def token_revoke(obj: Context, token_id: Any) -> None:
    """Revoke a token at once."""
    with obj.transaction() as tx:
        revoked = credentials.revoke_credential(tx, OPERATOR, token_id)
        click.echo(f"revoked: {revoked.id} {revoked.name}")


@token.command("log")
@click.option("--account", "account_name", metavar="NAME", required=True)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@pass_context
def token_log(obj: Context, account_name: str, limit: int) -> None:
    """What the account's identity provider pushed (last 30 days, newest first)."""
    with obj.transaction() as tx:
        found = accounts.account_named(tx, account_name)
        for e in provisioning_log.entries(tx, OPERATOR, found.id, limit=limit):
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.method:6} {e.path}  {e.status}  {e.outcome}")


@main.group()
def client() -> None:
    """OAuth / OpenID Connect clients (the linked applications)."""


@client.command("create")
@click.option("--name", required=True)
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact; repeatable.")
@click.option("--post-logout-redirect-uri", "logout_uris", multiple=True, help="Repeatable.")
@click.option("--public/--confidential", default=False, help="Public clients have no secret.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(clients.SCOPES),
    help="Repeatable (default: openid profile email).",
)
@click.option("--backchannel-logout-uri")
@click.option(
    "--access",
    type=click.Choice(["granted", "everyone"]),
    default="granted",
    show_default=True,
    help="Who may sign in: users granted the application, or all.",
)
@click.option(
    "--account",
    "account_name",
    metavar="NAME",
    help="Bind to an account (needed for the scim scope).",
)
@click.option(
    "--application",
    "application_key",
    metavar="KEY",
    help="The linked application this client is (e.g. icd10).",
)
@click.option("--first-party", is_flag=True, help="One of ours: no consent screen.")
@pass_context
def client_create(
    obj: Context,
    name: str,
    redirect_uris: tuple[str, ...],
    logout_uris: tuple[str, ...],
    public: bool,
    scopes: tuple[str, ...],
    backchannel_logout_uri: str | None,
    access: str,
    account_name: str | None,
    application_key: str | None,
    first_party: bool,
) -> None:
    """Register a client; its secret is printed once."""
    with obj.transaction() as tx:
        created, secret = clients.create_client(
            tx,
            OPERATOR,
            name=name,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=logout_uris,
            public=public,
            scopes=scopes or ("openid", "profile", "email"),
            backchannel_logout_uri=backchannel_logout_uri,
            access=access,
            account=accounts.account_named(tx, account_name) if account_name else None,
            application=applications.application_by_key(tx, application_key)
            if application_key
            else None,
            first_party=first_party,
        )
        click.echo(f"client_id: {created.client_id}")
        if secret is not None:
            click.echo(f"client_secret: {secret}")


@client.command("list")
@pass_context
def client_list(obj: Context) -> None:
    """List the registered clients (never their secrets)."""
    with obj.transaction() as tx:
        for c in clients.all_clients(tx):
            kind = "public" if c.public else "confidential"
            click.echo(f"{c.client_id}  {c.name}  {kind}  {' '.join(c.scopes)}")


@main.group()
def keys() -> None:
    """Token signing keys."""


@keys.command("rotate")
@click.option(
    "--delay-minutes",
    default=60,
    show_default=True,
    type=click.IntRange(0, 10080),
    help="How long the new key is published before it signs.",
)
@pass_context
def keys_rotate(obj: Context, delay_minutes: int) -> None:
    """Add a new signing key; the current one retires when the new one starts signing."""
    from datetime import timedelta

    with obj.transaction() as tx:
        key = signing_keys.rotate(tx, OPERATOR, delay=timedelta(minutes=delay_minutes))
        click.echo(f"new key {key.kid} signs from {key.signs_from:%Y-%m-%d %H:%M:%S} UTC")


@keys.command("list")
@pass_context
def keys_list(obj: Context) -> None:
    """The published keys and when each signs."""
    with obj.transaction() as tx:
        for key in signing_keys.published(tx):
            until = f"until {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else "onwards"
            click.echo(
                f"{key.kid}  {key.algorithm}  signs from {key.signs_from:%Y-%m-%d %H:%M} {until}"
            )


@main.group()
def mail() -> None:
    """Mail in the outbox."""


@mail.command("send")
@click.option("--once", is_flag=True, help="Send what is due and stop (default: keep running).")
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.5, 3600),
    help="Seconds between looks at the outbox.",
)
@pass_context
def mail_send(obj: Context, once: bool, interval: float) -> None:
    """Deliver queued mails over SMTP (ROLLCALL_SMTP_URL); failures are retried later."""
    from rollcall.mail import deliver_pending

    settings = obj.settings
    if not settings.smtp_url and not settings.development:
        raise click.ClickException("ROLLCALL_SMTP_URL is not set: there is no server to send to.")
    if not settings.base_url and not settings.development:
        raise click.ClickException("ROLLCALL_BASE_URL is not set: mails could not link back.")
    _keep_sending(
        lambda: deliver_pending(obj.database, settings), "sent {} mail(s)", once, interval
    )


@main.group()
def logout() -> None:
    """Back-channel logout notices to the linked applications."""


@logout.command("send")
@click.option("--once", is_flag=True, help="Send what is due and stop (default: keep running).")
@click.option(
    "--interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.5, 3600),
    help="Seconds between looks at the outbox.",
)
@pass_context
def logout_send(obj: Context, once: bool, interval: float) -> None:
    """Post the logout tokens still due (the server sends them itself; this retries failures)."""
    from sso.backchannel import deliver_pending

    settings = obj.settings
    issuer = settings.issuer or settings.base_url.rstrip("/")
    if not issuer:
        if not settings.development:
            raise click.ClickException("ROLLCALL_ISSUER is not set: logout tokens need it.")
        issuer = "http://127.0.0.1:8000"
    report = "delivered {} logout notice(s)"
    _keep_sending(lambda: deliver_pending(obj.database, issuer), report, once, interval)


def _keep_sending(send: Callable[[], int], report: str, once: bool, interval: float) -> None:
    """A worker loop: send what is due, say how many went, and look again after `interval`."""
    while True:
        sent = send()
        if sent or once:
            click.echo(report.format(sent))
        if once:
            return
        time.sleep(interval)


@main.group()
def csc() -> None:
    """The Client Support Center directory and access requests."""


@csc.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@pass_context
def csc_import(obj: Context, file: Any) -> None:
    """Load CSC logins from a CSV (username, password or password_hash, email)."""
    from store import csc as csc_store

    with obj.transaction() as tx:
        added, updated = csc_store.import_csv(tx, OPERATOR, file)
    click.echo(f"csc directory: {added} added, {updated} updated")


@csc.command("overdue")
@pass_context
def csc_overdue(obj: Context) -> None:
    """Access requests still undecided after 72 hours (exit status 1 when there are any)."""
    from store import csc as csc_store
    from store.db import now

    with obj.transaction() as tx:
        late = csc_store.overdue(tx)
        for request, user in late:
            hours = int((now() - request.created_at).total_seconds() // 3600)
            click.echo(
                f"{request.id}  {user.user_name}  {user.primary_email or '-'}  "
                f"requested {request.created_at:%Y-%m-%d %H:%M} UTC ({hours} h ago)"
            )
    if not late:
        click.echo("no overdue requests")
    else:
        raise SystemExit(1)
