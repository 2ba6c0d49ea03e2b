"""`rollcall export` / `rollcall import`: the directory as JSON Lines, to back up or to move
between databases (SQLite to PostgreSQL, say)."""

from __future__ import annotations

import click

from rollcall.cli.context import OPERATOR, Context, pass_context, safe
from store import backup


@click.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default="-")
@click.option(
    "--without-passwords",
    is_flag=True,
    help="Leave password hashes out: everyone then chooses a new password.",
)
@pass_context
def export(obj: Context, output: str, without_passwords: bool) -> None:
    """Write accounts, users, groups, grants and clients (without secrets) as JSON Lines."""
    try:
        opened = click.open_file(output, "w", encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"Cannot write {output}: {exc.strerror}.") from None
    with opened as out:
        counts = backup.export(obj.database, out, passwords=not without_passwords)
    click.echo(_summary("exported", counts, safe(obj.database_url)), err=output == "-")


@click.command("import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@pass_context
def import_(obj: Context, source: click.utils.LazyFile) -> None:
    """Read an export into this (migrated, empty) database; all of it or nothing."""
    counts = backup.import_(obj.database, OPERATOR, source)
    click.echo(_summary("imported", counts, safe(obj.database_url)))
    click.echo("Clients have no secrets now: give each one with `rollcall client secret ID`.")
    if counts.get("federation_connections"):
        click.echo(
            "Sign-in connections have no client secrets now: give each its secret again at "
            "/accounts/<id>/sign-in or with `rollcall federation create` after deleting it."
        )


def _summary(done: str, counts: dict[str, int], where: str) -> str:
    listed = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    return f"{done} {listed or 'nothing'} ({where})"
