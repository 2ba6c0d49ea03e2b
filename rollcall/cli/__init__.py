"""The `rollcall` command: serve, migrate, load demo data, create accounts, users and tokens.

A person's mistake (a bad option, an unknown account, a taken userName, an unreachable database)
ends with one line saying why and a non-zero exit, never a stack trace. The commands live with
what they work on: `server` (serve, db, demo), `directory` (account, user, token, csc), `sso`
(client, keys) and `workers` (mail send, logout send).
"""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from rollcall import upstream
from rollcall.cli import backup, directory, federation, mfa, server, sso, workers
from rollcall.cli.context import Context, safe
from rollcall.settings import SettingsError, password_hashing, private_providers
from store import passwords
from store.errors import DomainError, Unavailable


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
        except Unavailable as exc:
            raise click.ClickException(_database_problem(ctx, exc.__cause__ or exc)) from None
        except SQLAlchemyError as exc:
            raise click.ClickException(f"Database error: {exc.__class__.__name__}.") from None


def _database_problem(ctx: click.Context, exc: BaseException) -> str:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    url = ctx.obj.database_url if ctx.obj else "?"
    if "no such table" in detail or ("does not exist" in detail and "relation" in detail):
        return f"The database at {safe(url)} is not set up: run `rollcall db upgrade`."
    return f"Cannot use the database at {safe(url)}: {detail}"


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
    if database_url is not None and not database_url.strip():
        # `--database "$UNSET"` must not fall back to the default database and act on it.
        raise click.UsageError("--database needs a URL; leave it out for the default.")
    passwords.use_cost(password_hashing())
    upstream.allow_private_providers(private_providers())
    ctx.obj = Context(database_url)


for command in (
    server.serve,
    server.db,
    server.demo,
    directory.account,
    directory.user,
    directory.token,
    sso.client,
    sso.keys,
    sso.application,
    workers.mail,
    workers.logout,
    directory.csc,
    backup.export,
    backup.import_,
    federation.federation_group,
    mfa.mfa,
):
    main.add_command(command)
