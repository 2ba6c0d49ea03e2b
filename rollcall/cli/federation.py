"""`rollcall federation`: connect an account to its organization's OpenID provider for sign-in."""

from __future__ import annotations

import click

from rollcall import upstream
from rollcall.cli.context import OPERATOR, Context, pass_context
from store import accounts, federation
from store.db import Tx
from store.models.security import FederationConnection


@click.group("federation")
def federation_group() -> None:
    """Sign in with your organization: accounts' own OpenID providers (Okta, Entra ID, ...)."""


@federation_group.command("create")
@click.option("--account", "account_name", metavar="NAME", required=True)
@click.option("--issuer", required=True, help="e.g. https://acme.okta.com")
@click.option("--client-id", required=True)
@click.option(
    "--client-secret",
    prompt=True,
    hide_input=True,
    help="Asked for when not given (then it stays out of the shell's history).",
)
@click.option("--scopes", default=federation.DEFAULT_SCOPES, show_default=True)
@click.option(
    "--claim",
    type=click.Choice(federation.CLAIMS),
    default="sub",
    show_default=True,
    help="The ID token claim that names the person (oid for Entra ID).",
)
@click.option(
    "--link-by",
    type=click.Choice(federation.LINK_BY),
    default="externalId",
    show_default=True,
    help="The user attribute the claim is compared with.",
)
@click.option("--domain", "domains", multiple=True, help="An email domain of the organization.")
@click.option("--required", is_flag=True, help="The account's users have no Rollcall password.")
@click.option("--create-users", is_flag=True, help="Create unknown users at first sign-in.")
@click.option("--display-name", help="What people are told they sign in with (default: account).")
@pass_context
def federation_create(
    obj: Context,
    account_name: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    scopes: str,
    claim: str,
    link_by: str,
    domains: tuple[str, ...],
    required: bool,
    create_users: bool,
    display_name: str | None,
) -> None:
    """Connect ACCOUNT to its provider; prints the redirect URI to register there."""
    with obj.transaction() as tx:
        account = accounts.account_named(tx, account_name)
        created = federation.create_connection(
            tx,
            OPERATOR,
            account.id,
            issuer=issuer,
            client_id=client_id,
            client_secret=client_secret,
            scopes=scopes,
            claim=claim,
            link_by=link_by,
            domains=domains,
            required=required,
            create_users=create_users,
            display_name=display_name,
        )
        click.echo(f"connection: {created.id} {account.name} -> {created.issuer}")
    click.echo(f"redirect URI to register at the provider: {_redirect_uri(obj)}")


@federation_group.command("list")
@pass_context
def federation_list(obj: Context) -> None:
    """Every connection (the secret only by its first characters)."""
    with obj.transaction() as tx:
        for c in federation.list_connections(tx, OPERATOR):
            account = accounts.get_account(tx, OPERATOR, c.account_id)
            flags = [
                f for f, on in (("required", c.required), ("creates users", c.create_users)) if on
            ]
            click.echo(
                f"{account.name}  {c.display_name}  {c.issuer}  client {c.client_id} "
                f"secret {federation.secret_hint(c)}  {c.claim} -> {c.link_by}  "
                f"domains {','.join(d.domain for d in c.domains) or '-'}"
                + (f"  {', '.join(flags)}" if flags else "")
            )


@federation_group.command("test")
@click.option("--account", "account_name", metavar="NAME", required=True)
@pass_context
def federation_test(obj: Context, account_name: str) -> None:
    """Fetch the provider's discovery document and keys; one line: ok, or what is wrong."""
    with obj.transaction() as tx:
        connection = _connection(tx, account_name)
        issuer = connection.issuer
    line = upstream.check(issuer)
    if not line.startswith("ok "):
        raise click.ClickException(line)
    click.echo(line)


@federation_group.command("delete")
@click.option("--account", "account_name", metavar="NAME", required=True)
@pass_context
def federation_delete(obj: Context, account_name: str) -> None:
    """Disconnect ACCOUNT: its people sign in with Rollcall passwords again."""
    with obj.transaction() as tx:
        connection = _connection(tx, account_name)
        federation.delete_connection(tx, OPERATOR, connection.id)
        click.echo(f"deleted: the connection of {account_name}")


def _connection(tx: Tx, account_name: str) -> FederationConnection:
    account = accounts.account_named(tx, account_name)
    connection = federation.connection_of(tx, OPERATOR, account.id)
    if connection is None:
        raise click.ClickException(f"{account.name} has no sign-in connection.")
    return connection


def _redirect_uri(obj: Context) -> str:
    issuer = obj.settings.issuer or obj.settings.base_url or "<the address of Rollcall>"
    return issuer + federation.CALLBACK_PATH
