"""`rollcall serve|db|demo`: running Rollcall and its schema."""

from __future__ import annotations

import os

import click

from rollcall import metrics_server
from rollcall.cli.context import Context, pass_context, safe
from store import migrate


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(0, 64),
    help="Serve with gunicorn and this many worker processes. 0: Flask's development server "
    "(refused in production). Default: the development server in development, gunicorn with "
    "2 x CPUs + 1 workers (at most 8) in production.",
)
@pass_context
def serve(obj: Context, host: str, port: int, workers: int | None) -> None:
    """Serve Rollcall over HTTP."""
    settings = obj.settings
    if workers is None:
        workers = 0 if settings.development else default_workers()
    if workers and settings.metrics_port:
        metrics_server.prepare_workers()  # before the app, and its metrics, are imported
    from rollcall.app import create_app  # the whole app: loaded only by the command serving it

    if workers == 0 and not settings.development:
        raise click.ClickException(
            "The development server is not for production: give --workers N (gunicorn), or "
            f"leave --workers out for {default_workers()}."
        )
    if not migrate.is_current(obj.database):
        raise click.ClickException(
            f"The database at {safe(obj.database_url)} is not up to date: "
            "run `rollcall db upgrade`."
        )
    if workers:
        from rollcall.gunicorn import serve_with_gunicorn

        serve_with_gunicorn(settings, host, port, workers)
        return
    app = create_app(settings, obj.database)
    if settings.metrics_port:
        metrics_server.start(settings)
        click.echo(f"Metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    click.echo(f"Rollcall on http://{host}:{port}/ (development server; --workers for production)")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


def default_workers() -> int:
    """gunicorn's advice for its sync workers, 2 x CPUs + 1, kept to 8: each worker holds its own
    database connections."""
    return min(2 * (os.cpu_count() or 1) + 1, 8)


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@pass_context
def db_upgrade(obj: Context) -> None:
    """Create or migrate the schema to the newest revision."""
    migrate.upgrade(obj.database)
    click.echo(f"database at {safe(obj.database_url)} is at revision {migrate.head()}")


@click.command()
@pass_context
def demo(obj: Context) -> None:
    """Load demo data (safe to run again: what exists is left as it is)."""
    from rollcall.demo import load

    with obj.transaction() as tx:
        for line in load(tx):
            click.echo(line)
    migrate.analyze(obj.database)
