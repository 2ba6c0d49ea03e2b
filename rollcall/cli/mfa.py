"""`rollcall mfa`: who must sign in with a second factor, and resetting a person's factors (the
operator's way in when support itself has lost its phone)."""

from __future__ import annotations

import click

from rollcall.cli.context import OPERATOR, Context, pass_context
from store import accounts, mfa_policy, sign_in_names
from store import mfa as factors
from store.errors import NotFound


@click.group()
def mfa() -> None:
    """Second factors (authenticator apps, recovery codes)."""


@mfa.command("policy")
@click.argument("account_name", metavar="ACCOUNT")
@click.argument("policy", type=click.Choice(list(mfa_policy.POLICIES)))
@pass_context
def policy(obj: Context, account_name: str, policy: str) -> None:
    """Set who in ACCOUNT must sign in with a second factor."""
    with obj.transaction() as tx:
        account = accounts.account_named(tx, account_name)
        mfa_policy.set_policy(tx, OPERATOR, account.id, policy)
        click.echo(f"{account.name}: {mfa_policy.POLICIES[policy]}")


@mfa.command("everywhere")
@click.argument("state", type=click.Choice(["on", "off"]))
@pass_context
def everywhere(obj: Context, state: str) -> None:
    """Require a second factor of every person in the deployment (on), or not (off)."""
    with obj.transaction() as tx:
        mfa_policy.require_everywhere(tx, OPERATOR, state == "on")
    click.echo(
        "A second factor is required of everyone."
        if state == "on"
        else "Each account's policy applies."
    )


@mfa.command("reset")
@click.argument("login")
@pass_context
def reset(obj: Context, login: str) -> None:
    """Remove every second factor of the person LOGIN names (username or email); they are
    mailed, and sign in with their password."""
    with obj.transaction() as tx:
        user = sign_in_names.find(tx, login)
        if user is None:
            raise NotFound(f"No user signs in as {login!r}.")
        factors.reset(tx, OPERATOR, user.id)
        click.echo(f"{user.user_name}: second factors reset")
