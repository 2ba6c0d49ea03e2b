"""`rollcall client|keys`: applications that sign people in, and the keys that sign tokens."""

from __future__ import annotations

from datetime import timedelta

import click

from rollcall.cli.context import OPERATOR, Context, pass_context
from store import accounts, applications, clients, signing_keys


@click.group()
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
@click.option(
    "--launch-url",
    metavar="URL",
    help="Where the home page's link to its application goes (https).",
)
@click.option("--first-party", is_flag=True, help="One of ours: no consent screen.")
@click.option(
    "--resource-server",
    is_flag=True,
    help="An API that may introspect every client's access tokens (needs no redirect URI).",
)
@click.option(
    "--require-mfa",
    is_flag=True,
    help="Signing in to it needs a second factor (password-only sessions step up).",
)
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
    launch_url: str | None,
    first_party: bool,
    resource_server: bool,
    require_mfa: bool,
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
            resource_server=resource_server,
            launch_url=launch_url,
            require_mfa=require_mfa,
        )
        click.echo(f"client_id: {created.client_id}")
        if secret is not None:
            click.echo(f"client_secret: {secret}")


@client.command("secret")
@click.argument("client_id")
@pass_context
def client_secret(obj: Context, client_id: str) -> None:
    """Give a confidential client a new secret (printed once); the old one stops working."""
    with obj.transaction() as tx:
        click.echo(f"client_secret: {clients.new_secret(tx, OPERATOR, client_id)}")


@client.command("list")
@pass_context
def client_list(obj: Context) -> None:
    """List the registered clients (never their secrets)."""
    with obj.transaction() as tx:
        for c in clients.all_clients(tx):
            kind = "public" if c.public else "confidential"
            if c.resource_server:
                kind += ", resource server"
            if c.require_mfa:
                kind += ", requires MFA"
            click.echo(f"{c.client_id}  {c.name}  {kind}  {' '.join(c.scopes)}")


@client.command("update")
@click.argument("client_id")
@click.option(
    "--require-mfa/--no-require-mfa",
    default=None,
    help="Whether signing in to it needs a second factor.",
)
@pass_context
def client_update(obj: Context, client_id: str, require_mfa: bool | None) -> None:
    """Change how the client CLIENT_ID signs people in."""
    if require_mfa is None:
        raise click.UsageError("Say what to change: --require-mfa or --no-require-mfa.")
    with obj.transaction() as tx:
        changed = clients.set_require_mfa(tx, OPERATOR, client_id, require_mfa)
        required = "requires" if changed.require_mfa else "does not require"
        click.echo(f"{changed.client_id}: {required} a second factor")


@click.group()
def application() -> None:
    """The linked applications users are granted, and their launch addresses."""


@application.command("list")
@pass_context
def application_list(obj: Context) -> None:
    """Every application: key, who may open it, name and launch address."""
    with obj.transaction() as tx:
        for a in applications.all_applications(tx):
            click.echo(f"{a.key}  {a.access}  {a.name}  {a.launch_url or '(no launch address)'}")


@application.command("launch")
@click.argument("key")
@click.argument("url", required=False, default="")
@pass_context
def application_launch(obj: Context, key: str, url: str) -> None:
    """Set where the home page links the application KEY (no URL: no link)."""
    with obj.transaction() as tx:
        changed = applications.set_launch_url(tx, OPERATOR, key, url)
        click.echo(f"{changed.key}: {changed.launch_url or '(no launch address)'}")


@click.group()
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
