"""`rollcall account|user|token|csc`: the directory from the command line."""

from __future__ import annotations

from typing import Any

import click

from rollcall.cli.context import OPERATOR, Context, pass_context
from store import accounts, credentials, new_users, provisioning_log
from store import csc as csc_store
from store.db import now
from store.profiles import AccountKind, Entitlement, Profile


@click.group()
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


@click.group()
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
            created = new_users.create_support_user(
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
            created = new_users.create_user(
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


@click.group()
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
@click.option("--account", "account_name", metavar="NAME", help="The account's tokens.")
@click.option("--support", is_flag=True, help="Support's tokens, which address every account.")
@pass_context
def token_list(obj: Context, account_name: str | None, support: bool) -> None:
    """List an account's tokens, or support's (never their secrets)."""
    if bool(account_name) == support:
        raise click.UsageError("Give either --account NAME or --support.")
    with obj.transaction() as tx:
        found = accounts.account_named(tx, account_name) if account_name else None
        for c in credentials.credentials_of(tx, OPERATOR, found.id if found else None):
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


@click.group()
def csc() -> None:
    """The Client Support Center directory and access requests."""


@csc.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@pass_context
def csc_import(obj: Context, file: Any) -> None:
    """Load CSC logins from a CSV (username, password or password_hash, email)."""
    try:
        with obj.transaction() as tx:
            added, updated = csc_store.import_csv(tx, OPERATOR, file)
    except UnicodeDecodeError as exc:  # read as it is imported: nothing was kept
        raise click.ClickException(
            f"{file.name} is not UTF-8 text (byte {exc.start}): save the CSV as UTF-8."
        ) from None
    click.echo(f"csc directory: {added} added, {updated} updated")


@csc.command("overdue")
@pass_context
def csc_overdue(obj: Context) -> None:
    """Access requests still undecided after 72 hours (exit status 1 when there are any)."""
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
